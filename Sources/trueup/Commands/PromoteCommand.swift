import ArgumentParser
import Foundation
import TrueupCore
import TrueupEngine

struct PromoteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "promote",
        abstract: "Write the Model versions live in one environment into another's YAML, as a commit.",
        discussion: """
            For each Model the target pins (spec.version), reads the version the source environment's \
            alias points at in the registry and rewrites the pinned value (or the spec.variables entry \
            it reads) in the target's folder, changing nothing else in the file. The commit goes on the \
            checked-out branch (whose working tree and index follow), or on --branch, created from \
            HEAD when it does not exist, for a pull request. Exit 0 when promoted or already up to date, 1 on error.
            """
    )

    @OptionGroup var repository: RepositoryOptions

    @Option(name: .long, help: "The environment whose live versions are promoted (e.g. staging).")
    var from: String

    @Option(name: .long, help: "The environment whose YAML is rewritten (e.g. prod).")
    var to: String

    @Option(name: .long, help: "Promote only this Model, as Model/NAME.")
    var resource: String?

    @Option(name: .long, help: "Commit on this branch instead of the checked-out one (created from HEAD if missing).")
    var branch: String?

    @Flag(name: .customLong("dry-run"), help: "Show what would change; write nothing.")
    var dryRun = false

    func validate() throws {
        if from == to { throw ValidationError("--from and --to are both '\(from)': name two environments") }
        if let resource, ResourceID(parsing: resource) == nil {
            throw ValidationError("--resource '\(resource)' is not Kind/name: write e.g. Model/churn-classifier")
        }
    }

    func run() async throws {
        let request = PromotionRequest(from: from, to: to, resource: resource.flatMap(ResourceID.init(parsing:)), branch: branch, dryRun: dryRun)
        let promotion = try await reportingErrors {
            try await Promoter(workspace: try repository.workspace()).promote(request)
        }
        for change in promotion.changes {
            print("\(change.resource): version \(change.oldVersion) -> \(change.newVersion), live in \(from) (\(change.location), \(change.field))")
        }
        for (resource, version) in promotion.upToDate {
            print("\(resource): already at version \(version), live in \(from)")
        }
        for (resource, reason) in promotion.skipped {
            note("skipped \(resource): \(reason)")
        }
        if promotion.changes.isEmpty {
            print("\(to) is up to date with \(from): nothing to commit")
        } else if dryRun {
            print("dry run: nothing was written; without --dry-run this commits:\n\n" + promotion.message.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : "    \($0)" }.joined(separator: "\n"), terminator: "")
        } else if let commit = promotion.commit, let branch = promotion.branch {
            print("committed \(commit.prefix(12)) on \(branch): \(promotion.message.prefix { $0 != "\n" })")
            print("next: `trueup plan --env \(to)\(self.branch == nil ? "" : " --rev \(branch)")` shows what applying it would do")
        }
    }
}
