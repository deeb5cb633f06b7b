import Foundation
import Testing
import TrueupCore
@testable import TrueupGit

@Suite("GitRepository: opening and resolving")
struct GitRepositoryTests {
    @Test func discoversTheEnclosingRepositoryFromASubfolder() throws {
        let fixture = try GitFixture()
        try fixture.write("environments/prod/env.yaml", "name: prod\n")
        try fixture.commitAll("first")

        let repository = try GitRepository(discoveringFrom: fixture.path + "/environments/prod")

        #expect(repository.workdir == fixture.path)
        #expect(repository.root == fixture.path)
        #expect(repository.gitDirectory == fixture.path + "/.git")
        #expect(!repository.isBare)
    }

    @Test func opensABareRepositoryWithoutAWorkingTree() throws {
        let fixture = try GitFixture(bare: true)

        let repository = try GitRepository(path: fixture.path)

        #expect(repository.workdir == nil)
        #expect(repository.isBare)
        #expect(repository.root == fixture.path)
        let error = try #require(throws: GitError.self) { try repository.worktreeSnapshot() }
        #expect(error.kind == .bareRepository)
        #expect(error.description.contains("--worktree"))
    }

    @Test func openingAFolderThatIsNotARepositoryExplainsWhatToDo() throws {
        let fixture = try GitFixture(initialize: false)

        let error = try #require(throws: GitError.self) { try GitRepository(path: fixture.path) }
        #expect(error.kind == .notFound)
        #expect(error.function == "git_repository_open")
        #expect(error.description.contains(fixture.path))
        #expect(error.description.contains("--repo"))

        let discovery = try #require(throws: GitError.self) { try GitRepository(discoveringFrom: "/") }
        #expect(discovery.kind == .notFound)
        #expect(discovery.function == "git_repository_discover")
    }

    /// A history of three commits on main, a lightweight and an annotated tag, and a side branch.
    private func history() throws -> (fixture: GitFixture, shas: [String]) {
        let fixture = try GitFixture()
        var shas: [String] = []
        for number in 1...3 {
            try fixture.write("file.txt", "version \(number)\n")
            shas.append(try fixture.commitAll("commit \(number)"))
        }
        try fixture.git("tag", "light", shas[0])
        try fixture.git("tag", "-a", "annotated", "-m", "release", shas[1])
        try fixture.git("branch", "side", shas[0])
        return (fixture, shas)
    }

    @Test(arguments: [
        ("main", 2), ("HEAD", 2), ("HEAD~1", 1), ("HEAD~2", 0), ("main^", 1),
        ("side", 0), ("refs/heads/side", 0), ("light", 0), ("annotated", 1), ("annotated^{commit}", 1),
    ])
    func resolvesNamesAndAncestors(revision: String, expected: Int) throws {
        let (fixture, shas) = try history()
        let repository = try GitRepository(path: fixture.path)

        #expect(try repository.resolve(revision).commit == shas[expected])
    }

    @Test func resolvesFullAndShortShas() throws {
        let (fixture, shas) = try history()
        let repository = try GitRepository(path: fixture.path)

        #expect(try repository.resolve(shas[1]).commit == shas[1])
        #expect(try repository.resolve(String(shas[1].prefix(7))).commit == shas[1])
        #expect(try repository.resolve(shas[0]).shortCommit == String(shas[0].prefix(12)))
    }

    @Test func copiesAuthorMessageAndTimeOfTheCommit() throws {
        let fixture = try GitFixture()
        try fixture.write("a.txt", "a\n")
        let sha = try fixture.commitAll("Add a\n\nWith a body.")
        let repository = try GitRepository(path: fixture.path)

        let info = try repository.resolve("main")

        #expect(info.commit == sha)
        #expect(info.author == "Ada Lovelace <ada@example.com>")
        #expect(info.message == "Add a\n\nWith a body.")
        #expect(info.time == Int64(try fixture.git("log", "-1", "--format=%ct")))
    }

    @Test func anUnknownRevisionSaysWhatToCheck() throws {
        let (fixture, _) = try history()
        let repository = try GitRepository(path: fixture.path)

        let error = try #require(throws: GitError.self) { try repository.resolve("no-such-branch") }

        #expect(error.kind == .notFound)
        #expect(error.function == "git_revparse_single")
        #expect(error.code == -3)
        #expect(error.description.contains("revision 'no-such-branch' not found"))
        #expect(error.description.contains("check the branch, tag or sha"))
        #expect(error.description.contains("git_revparse_single returned -3"))
    }

    @Test func aRevisionThatIsNotACommitIsRefused() throws {
        let (fixture, _) = try history()
        let repository = try GitRepository(path: fixture.path)

        let error = try #require(throws: GitError.self) { try repository.resolve("HEAD:file.txt") }

        #expect(error.function == "git_object_peel")
        #expect(error.description.contains("not a commit"))
    }

    @Test func aMalformedRevisionIsReported() throws {
        let (fixture, _) = try history()
        let repository = try GitRepository(path: fixture.path)

        let error = try #require(throws: GitError.self) { try repository.resolve("main~~^{bogus}") }
        #expect(error.function == "git_revparse_single")
        #expect(error.description.contains("main~~^{bogus}"))
    }
}
