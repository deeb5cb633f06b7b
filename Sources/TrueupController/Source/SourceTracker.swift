import Foundation
import TrueupCore
import TrueupEngine

/// The desired state the controller works from, environment by environment.
///
/// Each environment is reconciled at its *last good* revision: the newest fetched commit at which
/// its specs were valid. A commit that breaks an environment leaves it at its last good revision,
/// with the reason kept beside it, so a broken commit never deletes anything; the next valid
/// commit moves it on. An environment whose folder is gone from git is no longer reconciled (and
/// nothing of it is deleted).
struct TrackedEnvironment: Sendable {
    var desired: DesiredEnvironment
    /// Everything loaded at `revision`: a reconcile plans from it rather than loading the commit
    /// again (planning also reads the environment its versions are promoted from).
    var state: DesiredState
    /// The revision its desired state comes from (its last good revision).
    var revision: RevisionInfo
    var fingerprint: String
    /// Why the newest fetched revision was not taken for it; nil when it is at the newest.
    var problem: String?

    var name: String { desired.name }
    var settings: EnvironmentSettings { desired.settings }
    var target: Scheduler.Target {
        Scheduler.Target(fingerprint: fingerprint, interval: settings.interval, promotionFrom: settings.promotionFrom)
    }
}

/// What one fetched revision said about every environment.
struct SourceUpdate: Sendable {
    var head: RevisionInfo
    var environments: [String: TrackedEnvironment]
    /// Environments whose specs were never valid since this controller started: nothing to reconcile.
    var neverValid: [String: String]
    /// Environments whose folder was removed at this revision.
    var removed: [String]
}

struct SourceTracker {
    let specRoot: String
    private(set) var head: RevisionInfo?
    private(set) var environments: [String: TrackedEnvironment] = [:]
    private(set) var neverValid: [String: String] = [:]

    init(specRoot: String) {
        self.specRoot = specRoot
    }

    /// Takes the desired state loaded at a newly fetched revision.
    mutating func update(desired: DesiredState, snapshot: SourceSnapshot) throws -> SourceUpdate {
        let folders = try snapshot.environmentFolders(under: specRoot)
        var next: [String: TrackedEnvironment] = [:]
        var invalid: [String: String] = [:]
        for (name, environment) in desired.environments {
            next[name] = TrackedEnvironment(
                desired: environment, state: desired, revision: snapshot.revision,
                fingerprint: try DesiredStateFingerprint.of(environment, in: desired, snapshot: snapshot, specRoot: specRoot), problem: nil)
        }
        for name in folders where desired.environments[name] == nil {
            invalid[name] = Self.problem(of: name, in: desired, specRoot: specRoot)
        }
        var removed: [String] = []
        for (name, previous) in environments where next[name] == nil {
            if let problem = invalid[name] {
                next[name] = kept(previous, problem: problem)
            } else if folders.isEmpty {
                // No environment at all: a broken spec root rather than a decision to stop managing everything.
                next[name] = kept(previous, problem: desired.errors.isEmpty
                    ? "no environment under \(specRoot)/ at \(snapshot.revision.shortCommit): kept at its last good revision"
                    : Self.problem(of: name, in: desired, specRoot: specRoot))
            } else {
                removed.append(name)
            }
        }
        for name in next.keys { invalid[name] = nil }
        head = snapshot.revision
        environments = next
        neverValid = invalid
        return SourceUpdate(head: snapshot.revision, environments: next, neverValid: invalid, removed: removed.sorted())
    }

    private func kept(_ previous: TrackedEnvironment, problem: String) -> TrackedEnvironment {
        var kept = previous
        kept.problem = problem
        return kept
    }

    /// The errors that keep `name` from being built at this revision, shortened for status.
    static func problem(of name: String, in desired: DesiredState, specRoot: String) -> String {
        let mine = desired.errors.filter { d in
            (d.environment?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.contains(name) ?? false)
                || (d.location?.file.hasPrefix("\(specRoot)/\(name)/") ?? false)
        }
        let relevant = mine.isEmpty ? desired.errors : mine
        let shown = relevant.prefix(3).map(\.description).joined(separator: "; ")
        let more = relevant.count > 3 ? " (and \(relevant.count - 3) more)" : ""
        return "commit \(desired.revision.shortCommit) is invalid for \(name): \(shown)\(more); fix it in git (`trueup validate --rev \(desired.revision.shortCommit)\(specRoot == "environments" ? "" : " --path \(specRoot)")`)"
    }
}
