import Foundation
import Testing
import TrueupCore
@testable import TrueupGit

@Suite("WorktreeSnapshot: reading the files on disk")
struct WorktreeSnapshotTests {
    @Test func seesUncommittedEditsAdditionsAndDeletions() throws {
        let fixture = try GitFixture()
        try fixture.write("envs/prod.yaml", "replicas: 1\n")
        try fixture.write("envs/dev.yaml", "replicas: 1\n")
        try fixture.write("envs/old.yaml", "replicas: 1\n")
        try fixture.commitAll("first")
        try fixture.write("envs/prod.yaml", "replicas: 3\n")
        try fixture.write("envs/new.yaml", "replicas: 0\n")
        try fixture.remove("envs/old.yaml")
        let repository = try GitRepository(path: fixture.path)
        let head = try repository.snapshot(at: "HEAD")

        let worktree = try repository.worktreeSnapshot()
        let entries = try worktree.entries(under: "envs")

        #expect(entries.map(\.path) == ["envs/dev.yaml", "envs/new.yaml", "envs/prod.yaml"])
        #expect(try worktree.contents(of: "envs/prod.yaml") == Array("replicas: 3\n".utf8))
        #expect(entries[0].objectID == (try head.entry(at: "envs/dev.yaml"))?.objectID)
        #expect(entries[2].objectID != (try head.entry(at: "envs/prod.yaml"))?.objectID)
        #expect(entries[2].objectID == (try fixture.git("hash-object", "envs/prod.yaml")))
        #expect(try worktree.entry(at: "envs/old.yaml") == nil)
    }

    @Test func carriesHeadsAuthorAndMessage() throws {
        let fixture = try GitFixture()
        try fixture.write("a.txt", "a\n")
        try fixture.commitAll("the message")
        let repository = try GitRepository(path: fixture.path)

        let revision = try repository.worktreeSnapshot().revision

        #expect(revision.commit == "worktree")
        #expect(revision.author == "Ada Lovelace <ada@example.com>")
        #expect(revision.message == "the message")
        #expect(revision.time == (try repository.resolve("HEAD")).time)
    }

    @Test func worksBeforeTheFirstCommit() throws {
        let fixture = try GitFixture()
        try fixture.write("a.txt", "a\n")
        let repository = try GitRepository(path: fixture.path)

        let worktree = try repository.worktreeSnapshot()

        #expect(worktree.revision == RevisionInfo(commit: "worktree"))
        #expect(try worktree.entries(under: "").map(\.path) == ["a.txt"])
    }

    @Test func reportsSymlinksAndNeverFollowsThem() throws {
        let fixture = try GitFixture()
        let outside = fixture.base + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try Data("secret\n".utf8).write(to: URL(fileURLWithPath: outside + "/secret.yaml"))
        try fixture.write("envs/prod.yaml", "x\n")
        try fixture.symlink("envs/escape", to: outside)
        try fixture.symlink("envs/alias.yaml", to: "prod.yaml")
        try fixture.commitAll("symlinks")
        let repository = try GitRepository(path: fixture.path)
        let worktree = try repository.worktreeSnapshot()
        let head = try repository.snapshot(at: "HEAD")

        let entries = try worktree.entries(under: "envs")

        #expect(entries.map(\.path) == ["envs/alias.yaml", "envs/escape", "envs/prod.yaml"])
        #expect(entries.map(\.kind) == [.symlink, .symlink, .file])
        #expect(entries == (try head.entries(under: "envs")), "ids hash the link target, as git does")
        #expect(try worktree.entry(at: "envs/escape/secret.yaml") == nil)
        #expect(try worktree.entries(under: "envs/escape").map(\.kind) == [.symlink])
        let error = try #require(throws: GitError.self) { try worktree.contents(of: "envs/alias.yaml") }
        #expect(error.kind == .wrongKind)
        let through = try #require(throws: GitError.self) { try worktree.contents(of: "envs/escape/secret.yaml") }
        #expect(through.kind == .notFound)
    }

    @Test func skipsGitIgnoredAndEmptyFoldersButKeepsTrackedFiles() throws {
        let fixture = try GitFixture()
        try fixture.write(".gitignore", "build/\n*.log\n")
        try fixture.write("envs/prod.yaml", "x\n")
        try fixture.write("envs/debug.log", "noise\n")
        try fixture.write("build/out.txt", "artifact\n")
        try fixture.write("kept.log", "tracked despite the ignore rule\n")
        try fixture.git("add", "-f", "kept.log")
        try fixture.commitAll("first")
        try FileManager.default.createDirectory(atPath: fixture.path + "/empty/nested", withIntermediateDirectories: true)
        let worktree = try GitRepository(path: fixture.path).worktreeSnapshot()

        #expect(try worktree.entries(under: "").map(\.path) == [".gitignore", "envs/prod.yaml", "kept.log"])
        #expect(try worktree.entry(at: "build/out.txt") == nil)
        #expect(try worktree.entry(at: "build") == nil)
        #expect(try worktree.entry(at: "empty") == nil)
        #expect(try worktree.entries(under: "build") == [])
        #expect(try worktree.entry(at: "kept.log")?.kind == .file)
    }

    @Test func directoryIDsMatchTheCommittedTreeUntilSomethingChanges() throws {
        let fixture = try GitFixture()
        try fixture.write("envs/prod/app.yaml", "replicas: 1\n")
        try fixture.write("envs/prod/run.sh", "#!/bin/sh\n", executable: true)
        try fixture.write("envs/dev/app.yaml", "replicas: 1\n")
        try fixture.write("envs/a.txt", "sorts before a/ in git\n")
        try fixture.write("envs/a/b.txt", "b\n")
        try fixture.symlink("envs/current", to: "prod")
        try fixture.commitAll("first")
        let repository = try GitRepository(path: fixture.path)
        let head = try repository.snapshot(at: "HEAD")

        let clean = try repository.worktreeSnapshot()
        for path in ["", "envs", "envs/prod", "envs/dev", "envs/a"] {
            #expect(try clean.entry(at: path) == (try head.entry(at: path)), "\(path)")
        }
        #expect(try clean.entries(under: "") == (try head.entries(under: "")))

        try fixture.write("envs/dev/app.yaml", "replicas: 2\n")
        let edited = try repository.worktreeSnapshot()
        #expect(try edited.entry(at: "envs/prod") == (try head.entry(at: "envs/prod")))
        #expect(try edited.entry(at: "envs/dev")?.objectID != (try head.entry(at: "envs/dev"))?.objectID)
        #expect(try edited.entry(at: "envs")?.objectID != (try head.entry(at: "envs"))?.objectID)
        try fixture.commitAll("second")
        #expect(try edited.entry(at: "envs/dev")?.objectID == (try fixture.git("rev-parse", "HEAD:envs/dev")))
    }

    @Test func aNestedRepositoryIsASubmodule() throws {
        let fixture = try GitFixture()
        try fixture.write("a.txt", "a\n")
        try fixture.commitAll("first")
        let nested = fixture.path + "/vendor/lib"
        try FileManager.default.createDirectory(atPath: nested, withIntermediateDirectories: true)
        try fixture.git(["init", "-q", "-b", "main", "."], in: nested)
        try Data("lib\n".utf8).write(to: URL(fileURLWithPath: nested + "/lib.txt"))
        try fixture.git(["add", "-A"], in: nested)
        try fixture.git(["commit", "-q", "-m", "lib"], in: nested)
        let nestedHead = try fixture.git(["rev-parse", "HEAD"], in: nested)
        let worktree = try GitRepository(path: fixture.path).worktreeSnapshot()

        let entry = try #require(try worktree.entry(at: "vendor/lib"))

        #expect(entry == SourceEntry(path: "vendor/lib", kind: .submodule, objectID: nestedHead))
        #expect(try worktree.entries(under: "").map(\.path) == ["a.txt", "vendor/lib"])
        #expect(try worktree.entry(at: "vendor/lib/lib.txt") == nil)
    }

    @Test(arguments: ["../secret", "envs/../../secret", "/etc/passwd", ".git/config"])
    func pathsThatEscapeTheRepositoryAreRejected(path: String) throws {
        let fixture = try GitFixture()
        try fixture.write("envs/prod.yaml", "x\n")
        let worktree = try GitRepository(path: fixture.path).worktreeSnapshot()

        for call in [
            { _ = try worktree.entries(under: path) },
            { _ = try worktree.entry(at: path) },
            { _ = try worktree.contents(of: path) },
        ] as [() throws -> Void] {
            let error = try #require(throws: GitError.self, performing: call)
            #expect(error.kind == .invalidPath)
        }
    }
}
