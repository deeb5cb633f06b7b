import Foundation
import TrueupCore
import TrueupGit

/// The controller's own bare clone of the watched repository, in `STATE/mirror.git`, fetched
/// through libgit2. Local paths work as URLs. Nothing is ever checked out: specs and code are
/// read from the object database at a commit.
///
/// Not thread-safe (it owns a libgit2 repository): the controller loop alone uses it.
final class RepositoryMirror {
    let url: String
    let branch: String
    let path: String
    private var repository: GitRepository?

    /// `url` with any user or password removed: what logs, status and errors show.
    let displayURL: String

    init(url: String, branch: String, stateDirectory: String) {
        self.url = url
        self.branch = branch
        self.path = (stateDirectory as NSString).appendingPathComponent("mirror.git")
        self.displayURL = Self.redacted(url)
    }

    /// The remote-tracking ref of the watched branch.
    var trackingRef: String { "refs/remotes/origin/\(branch)" }

    /// Opens the mirror (cloning it on first use), fetches, and returns the newest commit of the branch.
    func fetch() throws(SourceError) -> RevisionInfo {
        do {
            let repository = try openOrClone()
            try repository.fetch(remote: "origin")
            return try repository.resolve(trackingRef)
        } catch let error as SourceError {
            throw error
        } catch let error as GitError where error.kind == .notFound && error.operation.contains(trackingRef) {
            throw SourceError("branch '\(branch)' does not exist at \(displayURL): check --branch")
        } catch {
            throw SourceError("cannot fetch \(displayURL): \(sanitized(error)); the controller keeps the last good desired state and retries at the next poll")
        }
    }

    /// The files at `commit`, read from the mirror's object database.
    func snapshot(at commit: String) throws -> GitCommitSnapshot {
        guard let repository else { throw SourceError("the mirror of \(displayURL) is not open yet") }
        return try repository.snapshot(at: commit)
    }

    private func openOrClone() throws -> GitRepository {
        if let repository { return repository }
        let fm = FileManager.default
        let marker = path + ".url"
        if fm.fileExists(atPath: path) {
            // A state directory mirrors one repository: refuse to mix two.
            let recorded = (try? String(contentsOfFile: marker, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            if let recorded, recorded != url {
                throw SourceError("\(path) mirrors \(Self.redacted(recorded)), not \(displayURL): use another --state-dir, or remove \(path)")
            }
            let opened = try GitRepository(path: path)
            repository = opened
            return opened
        }
        if !url.contains("://") && !url.contains("@") && !fm.fileExists(atPath: url) {
            throw SourceError("there is no repository at \(url): check --repo")
        }
        do {
            let cloned = try GitRepository.cloneBare(url: url, to: path)
            try url.write(toFile: marker, atomically: true, encoding: .utf8)
            repository = cloned
            return cloned
        } catch {
            // A half-made clone would be taken for a mirror next time.
            try? fm.removeItem(atPath: path)
            throw error
        }
    }

    /// Error text with the URL's credentials removed.
    private func sanitized(_ error: any Error) -> String {
        "\(error)".replacingOccurrences(of: url, with: displayURL)
    }

    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.scheme != nil, components.user != nil || components.password != nil else {
            return url
        }
        components.user = nil
        components.password = nil
        return components.string ?? url
    }
}

/// Why the controller could not read the repository or a revision of it.
struct SourceError: Error, CustomStringConvertible, Sendable {
    var description: String
    init(_ description: String) { self.description = description }
}
