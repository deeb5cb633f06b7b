import Foundation
import Testing
import TrueupCore
import TrueupGit

/// Writing commits (`trueup promote`), checked with the git command line.
@Suite("GitRepository: writing commits")
struct GitCommitWritingTests {
    private func repository() throws -> GitFixture {
        let fixture = try GitFixture()
        try fixture.write("env/prod.yaml", "version: \"3\"\n")
        try fixture.write("env/run.sh", "#!/bin/sh\n", executable: true)
        try fixture.write("other.txt", "untouched\n")
        try fixture.git("add", "-A")
        try fixture.git("commit", "-q", "-m", "first")
        return fixture
    }

    @Test func aCommitChangesOnlyTheGivenFilesAndKeepsTheirModes() throws {
        let fixture = try repository()
        let repo = try GitRepository(path: fixture.path)
        let head = try fixture.git("rev-parse", "HEAD")
        let commit = try repo.writeCommit(parent: "HEAD", changes: [
            FileChange(path: "env/prod.yaml", contents: Array("version: \"4\"\n".utf8)),
            FileChange(path: "env/run.sh", contents: Array("#!/bin/sh\necho hi\n".utf8)),
        ], message: "Promote it\n\nbody\n")

        // Written, but no branch moved yet.
        #expect(try fixture.git("rev-parse", "HEAD") == head)
        #expect(try fixture.git("rev-parse", "\(commit)^") == head)
        #expect(try fixture.git("diff", "--name-only", head, commit) == "env/prod.yaml\nenv/run.sh")
        #expect(try fixture.git("show", "\(commit):env/prod.yaml") == "version: \"4\"")
        #expect(try fixture.git("ls-tree", commit, "env/run.sh").hasPrefix("100755 "))
        #expect(try fixture.git("log", "-1", "--format=%s", commit) == "Promote it")
        #expect(try fixture.git("fsck", "--no-dangling").isEmpty)
    }

    @Test func theCommitterComesFromGitConfigurationWhenSet() throws {
        let fixture = try repository()
        try fixture.git("config", "user.name", "Grace Hopper")
        try fixture.git("config", "user.email", "grace@example.com")
        let commit = try GitRepository(path: fixture.path).writeCommit(
            parent: "HEAD", changes: [FileChange(path: "other.txt", contents: Array("changed\n".utf8))], message: "m\n")
        #expect(try fixture.git("log", "-1", "--format=%an <%ae>|%cn", commit) == "Grace Hopper <grace@example.com>|Grace Hopper")
    }

    @Test func aFileThatIsNotInTheParentIsRefused() throws {
        let fixture = try repository()
        let error = #expect(throws: GitError.self) {
            try GitRepository(path: fixture.path).writeCommit(parent: "HEAD", changes: [FileChange(path: "env/new.yaml", contents: [])], message: "m\n")
        }
        #expect(error?.description.contains("env/new.yaml is not in commit") == true, "\(String(describing: error))")
    }

    @Test func aBranchMovesOnlyFromTheTipItWasExpectedAt() throws {
        let fixture = try repository()
        let repo = try GitRepository(path: fixture.path)
        let head = try fixture.git("rev-parse", "HEAD")
        let commit = try repo.writeCommit(parent: "HEAD", changes: [FileChange(path: "other.txt", contents: Array("x\n".utf8))], message: "m\n")

        #expect(try repo.branchTip("promote/a") == nil)
        try repo.moveBranch("promote/a", to: commit, from: nil, reflog: "test")
        #expect(try repo.branchTip("promote/a") == commit)
        // Created twice: the second finds it exists.
        #expect(throws: GitError.self) { try repo.moveBranch("promote/a", to: head, from: nil, reflog: "test") }
        // Someone moved main meanwhile: the expected tip no longer matches and nothing moves.
        let moved = #expect(throws: GitError.self) { try repo.moveBranch("main", to: commit, from: commit, reflog: "test") }
        #expect(moved?.kind == .modified && moved?.hint.contains("moved meanwhile") == true, "\(String(describing: moved))")
        #expect(try fixture.git("rev-parse", "main") == head)
        try repo.moveBranch("main", to: commit, from: head, reflog: "test")
        #expect(try fixture.git("rev-parse", "main") == commit)
    }

    @Test func checkingOutFromHeadUpdatesOnlyTheGivenPaths() throws {
        let fixture = try repository()
        let repo = try GitRepository(path: fixture.path)
        let head = try fixture.git("rev-parse", "HEAD")
        #expect(try repo.currentBranch() == "main")
        try fixture.write("other.txt", "a local edit\n")
        #expect(try repo.isUnmodified("env/prod.yaml"))
        #expect(try !repo.isUnmodified("other.txt"))

        let commit = try repo.writeCommit(parent: "HEAD", changes: [FileChange(path: "env/prod.yaml", contents: Array("version: \"4\"\n".utf8))], message: "m\n")
        try repo.moveBranch("main", to: commit, from: head, reflog: "test")
        try repo.checkOutFromHead(["env/prod.yaml"])

        #expect(try String(contentsOfFile: fixture.path + "/env/prod.yaml", encoding: .utf8) == "version: \"4\"\n")
        #expect(try String(contentsOfFile: fixture.path + "/other.txt", encoding: .utf8) == "a local edit\n")
        #expect(try fixture.git("status", "--porcelain") == "M other.txt")
    }

    @Test(arguments: [("promote/prod", true), ("main", true), ("a..b", false), ("has space", false), ("x.lock", false), ("", false)])
    func branchNames(name: String, valid: Bool) {
        #expect(GitRepository.isValidBranchName(name) == valid)
    }
}
