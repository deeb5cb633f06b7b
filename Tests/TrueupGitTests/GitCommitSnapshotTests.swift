import Foundation
import Testing
import TrueupCore
@testable import TrueupGit

@Suite("GitCommitSnapshot: reading a commit from the object database")
struct GitCommitSnapshotTests {
    @Test func readsTheOldCommitNotTheWorkingTree() throws {
        let fixture = try GitFixture()
        try fixture.write("envs/prod.yaml", "replicas: 1\n")
        let first = try fixture.commitAll("first")
        try fixture.write("envs/prod.yaml", "replicas: 2\n")
        try fixture.write("envs/dev.yaml", "replicas: 0\n")
        try fixture.commitAll("second")
        try fixture.write("envs/prod.yaml", "replicas: 99 (uncommitted)\n")
        let repository = try GitRepository(path: fixture.path)

        let old = try repository.snapshot(at: first)

        #expect(old.revision.commit == first)
        #expect(try old.entries(under: "").map(\.path) == ["envs/prod.yaml"])
        #expect(try old.contents(of: "envs/prod.yaml") == Array("replicas: 1\n".utf8))
        #expect(try old.entry(at: "envs/dev.yaml") == nil)

        let head = try repository.snapshot(at: "HEAD")
        #expect(try head.entries(under: "envs").map(\.path) == ["envs/dev.yaml", "envs/prod.yaml"])
        #expect(try head.contents(of: "envs/prod.yaml") == Array("replicas: 2\n".utf8))
    }

    @Test func listsFilesSymlinksAndSubmodulesWithTheirGitIDs() throws {
        let fixture = try GitFixture()
        try fixture.write("a/b/deep.txt", "deep\n")
        try fixture.write("a/top.txt", "top\n")
        try fixture.write("run.sh", "#!/bin/sh\n", executable: true)
        try fixture.symlink("link-to-a", to: "a")
        try fixture.symlink("dangling", to: "../outside/secret")
        try fixture.git("add", "-A")
        // A gitlink, as `git submodule add` records it, without needing a second repository.
        let someCommit = String(repeating: "1", count: 40)
        try fixture.git("update-index", "--add", "--cacheinfo", "160000,\(someCommit),vendor/lib")
        try fixture.git("commit", "-q", "-m", "tree with every kind")  // not commitAll: `add -A` would drop the gitlink
        let snapshot = try GitRepository(path: fixture.path).snapshot(at: "main")

        let entries = try snapshot.entries(under: "")

        #expect(entries.map(\.path) == ["a/b/deep.txt", "a/top.txt", "dangling", "link-to-a", "run.sh", "vendor/lib"])
        #expect(entries.map(\.kind) == [.file, .file, .symlink, .symlink, .file, .submodule])
        for entry in entries {
            #expect(entry.objectID == (try fixture.git("rev-parse", "HEAD:\(entry.path)")), "\(entry.path)")
        }
        #expect(entries.last?.objectID == someCommit)
        #expect(try snapshot.entry(at: "vendor/lib")?.kind == .submodule)
        #expect(try snapshot.entry(at: "vendor/lib/README") == nil, "submodule content is not in this repository")
        #expect(throws: GitError.self) { try snapshot.contents(of: "vendor/lib") }
        #expect(try snapshot.contents(of: "run.sh") == Array("#!/bin/sh\n".utf8))
    }

    @Test func listsInGitOrder() throws {
        let fixture = try GitFixture()
        for name in ["a.txt", "a/b", "a-b", "ab", "A", "a/c/d", "b"] {
            try fixture.write(name, name)
        }
        try fixture.commitAll("names that sort differently as files and folders")
        let snapshot = try GitRepository(path: fixture.path).snapshot(at: "HEAD")

        let listed = try snapshot.entries(under: "").map(\.path)

        #expect(listed == (try fixture.git("ls-tree", "-r", "--name-only", "HEAD")).split(separator: "\n").map(String.init))
        #expect(listed == listed.sorted())
    }

    @Test func folderNamesAreTheFoldersDirectlyBelowAPathAsTheWorkingTreeHasThem() throws {
        let fixture = try GitFixture()
        for name in ["envs/prod/a.yaml", "envs/dev/x/b.yaml", "envs/base/c.yaml", "envs/top.yaml", "other/d.yaml"] {
            try fixture.write(name, "x\n")
        }
        try fixture.symlink("envs/linked", to: "prod")
        try fixture.commitAll("folders")
        let repository = try GitRepository(path: fixture.path)
        let snapshot = try repository.snapshot(at: "HEAD")

        #expect(try snapshot.folderNames(under: "envs") == ["base", "dev", "prod"], "a symlink is not a folder")
        #expect(try snapshot.folderNames(under: "") == ["envs", "other"])
        #expect(try snapshot.folderNames(under: "envs/dev") == ["x"])
        #expect(try snapshot.folderNames(under: "envs/top.yaml") == [])
        #expect(try snapshot.folderNames(under: "missing") == [])
        let worktree = try repository.worktreeSnapshot()
        for path in ["envs", "", "envs/dev", "envs/top.yaml", "missing"] {
            #expect(try worktree.folderNames(under: path) == (try snapshot.folderNames(under: path)), "\(path)")
        }
    }

    @Test func entriesUnderAPathThatIsMissingOrAFile() throws {
        let fixture = try GitFixture()
        try fixture.write("envs/prod.yaml", "x\n")
        try fixture.write("envs-other/x.yaml", "x\n")
        try fixture.symlink("envs/link", to: "prod.yaml")
        try fixture.commitAll("first")
        let snapshot = try GitRepository(path: fixture.path).snapshot(at: "HEAD")

        #expect(try snapshot.entries(under: "missing") == [])
        #expect(try snapshot.entries(under: "envs/prod.yaml/deeper") == [])
        #expect(try snapshot.entries(under: "envs/prod.yaml").map(\.path) == ["envs/prod.yaml"])
        #expect(try snapshot.entries(under: "envs").map(\.path) == ["envs/link", "envs/prod.yaml"])
        #expect(try snapshot.entries(under: "./envs/").map(\.path) == ["envs/link", "envs/prod.yaml"])
    }

    @Test func entryAtNeverFollowsSymlinks() throws {
        let fixture = try GitFixture()
        try fixture.write("real/config.yaml", "x\n")
        try fixture.symlink("alias", to: "real")
        try fixture.commitAll("first")
        let snapshot = try GitRepository(path: fixture.path).snapshot(at: "HEAD")

        let alias = try #require(try snapshot.entry(at: "alias"))
        #expect(alias.kind == .symlink)
        #expect(alias.objectID == (try fixture.git("rev-parse", "HEAD:alias")))
        #expect(try snapshot.entry(at: "alias/config.yaml") == nil)
        #expect(try snapshot.entries(under: "alias").map(\.kind) == [.symlink])

        let error = try #require(throws: GitError.self) { try snapshot.contents(of: "alias") }
        #expect(error.kind == .wrongKind)
        #expect(error.description.contains("symlink"))
        let through = try #require(throws: GitError.self) { try snapshot.contents(of: "alias/config.yaml") }
        #expect(through.kind == .notFound)
    }

    @Test func contentsRefusesDirectoriesAndMissingFiles() throws {
        let fixture = try GitFixture()
        try fixture.write("envs/prod.yaml", "x\n")
        try fixture.commitAll("first")
        let snapshot = try GitRepository(path: fixture.path).snapshot(at: "HEAD")

        let directory = try #require(throws: GitError.self) { try snapshot.contents(of: "envs") }
        #expect(directory.kind == .wrongKind)
        let missing = try #require(throws: GitError.self) { try snapshot.contents(of: "envs/dev.yaml") }
        #expect(missing.kind == .notFound)
        #expect(missing.description.contains("envs/dev.yaml"))
    }

    @Test func readsEmptyAndBinaryFilesExactly() throws {
        let fixture = try GitFixture()
        try fixture.write("empty", "")
        let binary: [UInt8] = [0, 1, 2, 255, 13, 10, 0]
        try Data(binary).write(to: URL(fileURLWithPath: fixture.path + "/blob.bin"))
        try fixture.commitAll("first")
        let snapshot = try GitRepository(path: fixture.path).snapshot(at: "HEAD")

        #expect(try snapshot.contents(of: "empty") == [])
        #expect(try snapshot.contents(of: "blob.bin") == binary)
    }

    @Test func aDirectoryIDChangesOnlyWhenSomethingUnderItChanges() throws {
        let fixture = try GitFixture()
        try fixture.write("envs/prod/app.yaml", "replicas: 1\n")
        try fixture.write("envs/dev/app.yaml", "replicas: 1\n")
        try fixture.commitAll("first")
        try fixture.write("envs/dev/app.yaml", "replicas: 2\n")
        try fixture.commitAll("change dev only")
        let repository = try GitRepository(path: fixture.path)
        let before = try repository.snapshot(at: "HEAD~1")
        let after = try repository.snapshot(at: "HEAD")

        let prodBefore = try #require(try before.entry(at: "envs/prod"))
        let prodAfter = try #require(try after.entry(at: "envs/prod"))
        let devBefore = try #require(try before.entry(at: "envs/dev"))
        let devAfter = try #require(try after.entry(at: "envs/dev"))

        #expect(prodBefore.kind == .directory)
        #expect(prodBefore.objectID == (try fixture.git("rev-parse", "HEAD~1:envs/prod")))
        #expect(prodBefore.objectID == prodAfter.objectID)
        #expect(devBefore.objectID != devAfter.objectID)
        #expect(devAfter.objectID == (try fixture.git("rev-parse", "HEAD:envs/dev")))
        #expect(try after.entry(at: "") == SourceEntry(path: "", kind: .directory, objectID: after.treeID))
        #expect(after.treeID == (try fixture.git("rev-parse", "HEAD^{tree}")))
    }

    @Test(arguments: ["../secret", "envs/../../secret", "envs/..", "/etc/passwd", ".git/config", "a/.git/x"])
    func pathsThatEscapeTheRepositoryAreRejected(path: String) throws {
        let fixture = try GitFixture()
        try fixture.write("envs/prod.yaml", "x\n")
        try fixture.commitAll("first")
        let snapshot = try GitRepository(path: fixture.path).snapshot(at: "HEAD")

        for call in [
            { _ = try snapshot.entries(under: path) },
            { _ = try snapshot.entry(at: path) },
            { _ = try snapshot.contents(of: path) },
        ] as [() throws -> Void] {
            let error = try #require(throws: GitError.self, performing: call)
            #expect(error.kind == .invalidPath)
            #expect(error.description.contains(path))
        }
    }

    /// 3,000 files in 30 folders: every one listed and read (speed is measured in Benchmarks/, not here).
    @Test func listingAndReadingThousandsOfFiles() throws {
        let fixture = try GitFixture()
        for folder in 0..<30 {
            for file in 0..<100 {
                try fixture.write("envs/e\(folder)/r\(file).yaml", "name: r\(file)\nfolder: \(folder)\n")
            }
        }
        try fixture.commitAll("many files")
        let snapshot = try GitRepository(path: fixture.path).snapshot(at: "HEAD")

        var bytes = 0
        let entries = try snapshot.entries(under: "envs")
        #expect(entries.count == 3000)
        for entry in entries {
            bytes += try snapshot.contents(of: entry.path).count
        }
        #expect(bytes > 3000 * 20)
    }
}
