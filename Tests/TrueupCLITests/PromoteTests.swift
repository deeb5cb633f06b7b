import Foundation
import Testing

/// `trueup promote` end to end: the example's prod pins `${vars.churnModelVersion}` and takes its
/// versions from staging; staging is really applied (jobs, gates, registry), then promoted.
@Suite("promote, end to end", .serialized, .timeLimit(.minutes(10)))
struct PromoteTests {
    static let pinnedLine = "    churnModelVersion: \"3\"\n"

    @Test("promote writes staging's live version into prod's variable as a commit, and prod's plan is no longer blocked")
    func promotesOntoTheCheckedOutBranch() async throws {
        let fixture = try await Fixture()
        defer { fixture.stopEverything() }

        // Nothing is live in staging yet: refused, nothing written.
        let early = try await fixture.trueup("promote", "--from", "staging", "--to", "prod")
        #expect(early.status == 1, "\(early)")
        #expect(early.stderr.contains("Model/churn-classifier: nothing is live in staging (alias 'staging' of model 'churn-classifier' points at no version): apply staging first"), "\(early)")

        try await fixture.apply("staging")
        let staging = try #require(try fixture.alias("churn-classifier", alias: "staging"))
        #expect(staging != "3")
        let blocked = try await fixture.trueup("plan", "--env", "prod")
        #expect(blocked.stdout.contains("! Model/churn-classifier  blocked"), "\(blocked)")

        let head = try await fixture.git("rev-parse", "HEAD")
        let dryRun = try await fixture.trueup("promote", "--from", "staging", "--to", "prod", "--dry-run")
        #expect(dryRun.status == 0, "\(dryRun)")
        #expect(dryRun.stdout.contains("Model/churn-classifier: version 3 -> \(staging), live in staging (environments/prod/environment.yaml:29:24, spec.variables.churnModelVersion)"), "\(dryRun)")
        #expect(try await fixture.git("rev-parse", "HEAD") == head)
        #expect(try fixture.read("environments/prod/environment.yaml").contains(Self.pinnedLine))

        let promote = try await fixture.trueup("promote", "--from", "staging", "--to", "prod")
        #expect(promote.status == 0, "\(promote)")
        #expect(promote.stdout.contains("committed "), "\(promote)")
        #expect(try await fixture.git("rev-parse", "HEAD~1") == head)
        #expect(try await fixture.git("log", "-1", "--format=%s") == "Promote Model/churn-classifier \(staging) from staging to prod")
        // Exactly one line of one file changed; the working tree and index follow the commit.
        #expect(try await fixture.git("diff", "--numstat", "HEAD~1", "HEAD") == "1\t1\tenvironments/prod/environment.yaml")
        #expect(try fixture.read("environments/prod/environment.yaml").contains("    churnModelVersion: \"\(staging)\"\n"))
        #expect(try await fixture.git("status", "--porcelain") == "")

        let validate = try await fixture.trueup("validate")
        #expect(validate.status == 0, "\(validate)")
        let plan = try await fixture.trueup("plan", "--env", "prod")
        #expect(!plan.output.contains("blocked"), "\(plan)")
        #expect(plan.stdout.contains("version: (none) -> \(staging)"), "\(plan)")

        // Again: up to date, no commit.
        let again = try await fixture.trueup("promote", "--from", "staging", "--to", "prod")
        #expect(again.status == 0 && again.stdout.contains("prod is up to date with staging: nothing to commit"), "\(again)")
        #expect(try await fixture.git("rev-list", "--count", "HEAD") == "2")
    }

    @Test("with --branch the commit goes on that branch for a pull request; HEAD, main and the working tree do not move")
    func promotesOntoAnotherBranch() async throws {
        let fixture = try await Fixture()
        defer { fixture.stopEverything() }
        try await fixture.apply("staging")
        let staging = try #require(try fixture.alias("churn-classifier", alias: "staging"))

        // An uncommitted change to the file refuses a promotion onto the checked-out branch...
        try fixture.edit("environments/prod/environment.yaml") { $0 + "# a local note\n" }
        let dirty = try await fixture.trueup("promote", "--from", "staging", "--to", "prod")
        #expect(dirty.status == 1, "\(dirty)")
        #expect(dirty.stderr.contains("environments/prod/environment.yaml has changes that are not committed: commit or stash them, or pass --branch"), "\(dirty)")

        // ...but not one onto another branch, which the working tree does not hold.
        let head = try await fixture.git("rev-parse", "HEAD")
        let promote = try await fixture.trueup("promote", "--from", "staging", "--to", "prod", "--branch", "promote/prod")
        #expect(promote.status == 0, "\(promote)")
        #expect(promote.stdout.contains("on promote/prod"), "\(promote)")
        #expect(try await fixture.git("rev-parse", "HEAD") == head)
        #expect(try await fixture.git("rev-parse", "promote/prod~1") == head)
        #expect(try await fixture.git("show", "promote/prod:environments/prod/environment.yaml").hasSuffix("    churnModelVersion: \"\(staging)\""))
        #expect(try fixture.read("environments/prod/environment.yaml").hasSuffix(Self.pinnedLine + "# a local note\n"))
        let plan = try await fixture.trueup("plan", "--env", "prod", "--rev", "promote/prod")
        #expect(!plan.output.contains("blocked"), "\(plan)")
    }

    @Test("promote refuses what it cannot do, saying which option or file to fix, and writes nothing")
    func refusals() async throws {
        let fixture = try await Fixture()
        defer { fixture.stopEverything() }
        let head = try await fixture.git("rev-parse", "HEAD")
        let cases: [([String], String)] = [
            (["--from", "dev", "--to", "prod"], "prod takes its versions from staging (spec.promotion.from at environments/prod/environment.yaml:5:1), not from dev"),
            (["--from", "stagin", "--to", "prod"], "did you mean 'staging'? fix --from"),
            (["--from", "staging", "--to", "prd"], "did you mean 'prod'? fix --to"),
            (["--from", "staging", "--to", "prod", "--resource", "Prompt/support-answer"], "only Models are promoted"),
            (["--from", "staging", "--to", "prod", "--resource", "Model/nope"], "prod has no Model/nope (its models: Model/churn-classifier): fix --resource"),
            (["--from", "staging", "--to", "prod", "--branch", "a..b"], "'a..b' is not a valid branch name"),
            (["--from", "prod", "--to", "staging"], "staging pins no Model version that prod also declares"),
        ]
        for (arguments, message) in cases {
            let result = try await fixture.start(["promote"] + arguments).wait(timeout: Fixture.commandTimeout)
            #expect(result.status == 1, "\(arguments): \(result)")
            #expect(result.stderr.contains(message), "\(arguments): \(result)")
        }
        #expect(try await fixture.git("rev-parse", "HEAD") == head)
        #expect(try await fixture.git("branch", "--list") == "* main")
    }
}
