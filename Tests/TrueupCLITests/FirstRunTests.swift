import Foundation
import Testing

/// A new user's first minutes: `trueup init` in a fresh repository, then validate, plan and apply.
@Suite("a first run, end to end", .serialized, .timeLimit(.minutes(10)))
struct FirstRunTests {
    @Test("init scaffolds an example that validates, plans and applies as soon as it is committed")
    func initAppliesOnceCommitted() async throws {
        let repository = try EmptyRepository()
        try await repository.git("init", "-q", "-b", "main", ".")

        let initialised = try await repository.trueup("init")
        #expect(initialised.status == 0, "\(initialised)")
        #expect(initialised.stdout.contains("trueup validate --worktree") && initialised.stdout.contains("trueup apply --env dev"), "\(initialised)")

        // The dataset is a file of the repository, pinned by its real hash (no placeholder).
        let datasets = try repository.read("environments/base/datasets.yaml")
        let sum = try await ChildProcess(["sha256sum", "data/example.csv"], in: repository.repo, environment: ProcessInfo.processInfo.environment, logs: repository.logs).wait()
        let hash = String(sum.stdout.prefix(64))
        #expect(hash.count == 64, "\(sum)")
        #expect(datasets.contains("sha256: \"\(hash)\""), "\(datasets)")
        #expect(!datasets.contains(String(repeating: "0", count: 64)))
        #expect(try repository.read(".gitignore").contains(".trueup/"), "the state folder is kept out of commits")

        let valid = try await repository.trueup("validate", "--worktree")
        #expect(valid.status == 0, "\(valid)")

        // Nothing committed yet: plan says so and what to do, not libgit2's return code.
        let early = try await repository.trueup("plan", "--env", "dev")
        #expect(early.status == 1, "\(early)")
        #expect(early.stderr.contains("no commits yet") && early.stderr.contains("--worktree"), "\(early)")
        #expect(!early.stderr.contains("returned -3"), "\(early)")

        // The working tree can be planned, never applied.
        let worktree = try await repository.trueup("plan", "--env", "dev", "--worktree", "-o", repository.base + "/worktree-plan.json")
        #expect(worktree.status == 2, "\(worktree)")
        #expect(worktree.stdout.contains("Dataset/example") && worktree.stdout.contains("Job/count-rows"), "\(worktree)")
        #expect(worktree.stderr.contains("apply refuses it"), "\(worktree)")
        let refused = try await repository.trueup("apply", repository.base + "/worktree-plan.json")
        #expect(refused.status == 1 && refused.stderr.contains("working tree") && refused.stderr.contains("commit"), "\(refused)")

        try await repository.git("add", "-A")
        try await repository.git("commit", "-q", "-m", "trueup init")
        let plan = try await repository.trueup("plan", "--env", "dev")
        #expect(plan.status == 2, "\(plan)")
        let apply = try await repository.trueup("apply", "--env", "dev", "--yes")
        #expect(apply.status == 0, "\(apply)")
        #expect(apply.stderr.contains("Applied dev"), "\(apply)")
        let again = try await repository.trueup("plan", "--env", "dev")
        #expect(again.status == 0 && again.stdout.contains("no changes"), "\(again)")

        // Uncommitted edits: diff --worktree reports them against the commit; plain diff needs a head.
        try (try repository.read("data/example.csv") + "4,1.1\n").write(toFile: repository.repo + "/data/example.csv", atomically: true, encoding: .utf8)
        try repository.read("environments/base/datasets.yaml").replacing(/\n  sha256: "[0-9a-f]+"\n/, with: "\n").write(toFile: repository.repo + "/environments/base/datasets.yaml", atomically: true, encoding: .utf8)
        let diff = try await repository.trueup("diff", "--base", "HEAD", "--worktree")
        #expect(diff.status == 2 && diff.stdout.contains("Dataset/example") && diff.stdout.contains("Job/count-rows run"), "\(diff)")
        let planned = try await repository.trueup("plan", "--env", "dev", "--worktree")
        #expect(planned.status == 2 && planned.stdout.contains("Job/count-rows"), "\(planned)")
    }

    @Test("plan of an environment that does not exist says so and lists the environments")
    func unknownEnvironment() async throws {
        let repository = try EmptyRepository()
        try await repository.git("init", "-q", "-b", "main", ".")
        #expect(try await repository.trueup("init").status == 0)
        try await repository.git("add", "-A")
        try await repository.git("commit", "-q", "-m", "trueup init")
        for arguments in [["plan", "--env", "qa"], ["plan", "--env", "qa", "--worktree"]] {
            let plan = try await repository.run(arguments)
            #expect(plan.status == 1, "\(plan)")
            #expect(plan.stderr.contains("no environment named 'qa'") && plan.stderr.contains("dev"), "\(plan)")
            #expect(!plan.stderr.contains("invalid"), "a wrong --env is not invalid specs: \(plan)")
        }
    }

    @Test("hints name --repo when trueup runs outside the repository")
    func hintsCarryRepo() async throws {
        let repository = try EmptyRepository()
        try await repository.git("init", "-q", "-b", "main", ".")
        let initialised = try await repository.trueup("init", "--repo", repository.repo, in: repository.base)
        #expect(initialised.status == 0, "\(initialised)")
        #expect(initialised.stdout.contains("trueup validate --worktree --repo \(repository.repo)"), "\(initialised)")
        #expect(initialised.stdout.contains("trueup plan --env dev --repo \(repository.repo)"), "\(initialised)")
        let state = repository.base + "/state"
        let status = try await repository.trueup("status", "--repo", repository.repo, "--state-dir", state, in: repository.base)
        #expect(status.stdout.contains("`trueup apply --env ENV --repo \(repository.repo) --state-dir \(state)`"), "\(status)")

        // --repo's help states its default once, in words.
        let help = try await repository.trueup("plan", "--help")
        let repoHelp = help.stdout.components(separatedBy: "--repo <repo>").last?.components(separatedBy: "--path <path>").first ?? ""
        #expect(repoHelp.components(separatedBy: "default").count == 2 && repoHelp.contains("enclosing the current folder"), "\(help)")
    }
}
