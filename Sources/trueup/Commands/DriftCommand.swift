import ArgumentParser
import Foundation
import TrueupCore
import TrueupEngine

struct DriftCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drift",
        abstract: "Compare the actual state with what trueup last applied.",
        discussion: "Exit 0 when nothing drifted, 3 when something did, 1 on error."
    )

    @OptionGroup var repository: RepositoryOptions

    @Option(name: .long, help: "Only this environment (default: every environment trueup has applied).")
    var env: String?

    @Option(name: .long, help: "text or json.")
    var format: OutputFormat = .text

    func run() async throws {
        let reports = try await reportingErrors { () -> [DriftReport] in
            let workspace = try repository.workspace()
            let names = try env.map { [$0] } ?? workspace.store.allEnvironmentStatuses().filter { $0.lastAppliedCommit != nil || $0.lastAttemptedCommit != nil }.map(\.name)
            var reports: [DriftReport] = []
            for name in names {
                reports.append(try await DriftDetector(workspace: workspace).detect(environment: name))
            }
            return reports
        }
        if format == .json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(reports), as: UTF8.self))
        } else {
            for report in reports {
                if report.drifted.isEmpty {
                    print("\(report.environment): no drift")
                    continue
                }
                print("\(report.environment): \(report.drifted.count) resource\(report.drifted.count == 1 ? "" : "s") drifted")
                for item in report.drifted {
                    print("  ! \(item.resource): \(item.description)")
                }
            }
            if reports.isEmpty { print("no environment has been applied yet: run `trueup apply --env ENV\(repository.hintFlags)`") }
        }
        if reports.contains(where: { !$0.drifted.isEmpty }) { throw ExitCode(3) }
    }
}
