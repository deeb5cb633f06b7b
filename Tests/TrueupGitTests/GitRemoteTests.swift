import Foundation
import Testing
import TrueupCore
@testable import TrueupGit

@Suite("GitRepository: clone, fetch and changed paths")
struct GitRemoteTests {
    /// A bare "origin", and a working clone of it to push from with the git command line.
    private func origin() throws -> (origin: GitFixture, author: GitFixture) {
        let origin = try GitFixture(bare: true)
        let author = try GitFixture(initialize: false)
        try author.git(["clone", "-q", origin.path, author.path], in: author.base)
        try author.git("checkout", "-q", "-b", "main")
        return (origin, author)
    }

    @Test func cloneBareThenFetchSeesNewCommitsOnOriginBranches() throws {
        let (origin, author) = try origin()
        try author.write("envs/prod.yaml", "replicas: 1\n")
        try author.write("envs/dev.yaml", "replicas: 1\n")
        try author.write("README", "hello\n")
        let first = try author.commitAll("first")
        try author.git("push", "-q", "origin", "main")

        let clonePath = author.base + "/mirror.git"
        let mirror = try GitRepository.cloneBare(url: origin.path, to: clonePath)

        #expect(mirror.isBare)
        #expect(mirror.root == clonePath)
        #expect(try mirror.resolve("origin/main").commit == first)

        try author.write("envs/prod.yaml", "replicas: 2\n")
        try author.write("envs/staging.yaml", "replicas: 1\n")
        try author.remove("README")
        let second = try author.commitAll("second")
        try author.git("push", "-q", "origin", "main")
        #expect(try mirror.resolve("origin/main").commit == first, "nothing changes before a fetch")

        try mirror.fetch()

        #expect(try mirror.resolve("origin/main").commit == second)
        #expect(try mirror.snapshot(at: "origin/main").contents(of: "envs/prod.yaml") == Array("replicas: 2\n".utf8))
        #expect(try mirror.changedPaths(from: first, to: "origin/main") == ["README", "envs/prod.yaml", "envs/staging.yaml"])
        #expect(try mirror.changedPaths(from: "origin/main", to: "origin/main") == [])

        let reopened = try GitRepository(path: clonePath)
        #expect(try reopened.resolve("origin/main").commit == second)
    }

    @Test func fetchPrunesDeletedBranches() throws {
        let (origin, author) = try origin()
        try author.write("a.txt", "a\n")
        try author.commitAll("first")
        try author.git("push", "-q", "origin", "main", "main:feature")
        let mirror = try GitRepository.cloneBare(url: "file://" + origin.path, to: author.base + "/m.git")
        #expect(try mirror.resolve("origin/feature").commit == (try author.git("rev-parse", "HEAD")))

        try author.git("push", "-q", "origin", "--delete", "feature")
        try mirror.fetch(remote: "origin")

        let error = try #require(throws: GitError.self) { try mirror.resolve("origin/feature") }
        #expect(error.kind == .notFound)
    }

    @Test func cloneIntoANonEmptyFolderFails() throws {
        let (origin, author) = try origin()
        try author.write("a.txt", "a\n")
        try author.commitAll("first")
        try author.git("push", "-q", "origin", "main")

        let error = try #require(throws: GitError.self) {
            try GitRepository.cloneBare(url: origin.path, to: author.path)
        }
        #expect(error.kind == .exists)
        #expect(error.function == "git_clone")
    }

    @Test func fetchingAnUnknownRemoteSaysSo() throws {
        let fixture = try GitFixture()
        try fixture.write("a.txt", "a\n")
        try fixture.commitAll("first")
        let repository = try GitRepository(path: fixture.path)

        let error = try #require(throws: GitError.self) { try repository.fetch(remote: "upstream") }

        #expect(error.kind == .notFound)
        #expect(error.function == "git_remote_lookup")
        #expect(error.description.contains("upstream"))
    }

    @Test func changedPathsInAWorkingRepositoryListsEveryKindOfChange() throws {
        let fixture = try GitFixture()
        try fixture.write("keep.txt", "same\n")
        try fixture.write("edit.txt", "1\n")
        try fixture.write("gone.txt", "1\n")
        let first = try fixture.commitAll("first")
        try fixture.write("edit.txt", "2\n")
        try fixture.remove("gone.txt")
        try fixture.write("dir/new.txt", "new\n")
        try fixture.symlink("link", to: "keep.txt")
        try fixture.commitAll("second")
        let repository = try GitRepository(path: fixture.path)

        #expect(try repository.changedPaths(from: first, to: "HEAD") == ["dir/new.txt", "edit.txt", "gone.txt", "link"])
        #expect(try repository.changedPaths(from: "HEAD", to: first) == ["dir/new.txt", "edit.txt", "gone.txt", "link"])
        #expect(throws: GitError.self) { try repository.changedPaths(from: "nope", to: "HEAD") }
    }

    /// libgit2's own TLS trust (the system's CA bundle): a server whose certificate no trusted CA
    /// signed is refused, and said to be a certificate problem, not a credentials one.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")))
    func anHTTPSRemoteWithAnUntrustedCertificateIsRefused() throws {
        let folder = try GitFixture(initialize: false)
        let key = folder.base + "/key.pem", certificate = folder.base + "/certificate.pem"
        try run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate,
                                     "-days", "1", "-subj", "/CN=127.0.0.1"])
        let port = try freeLoopbackPort()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        server.arguments = ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", certificate, "-key", key, "-www"]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        // SIGKILL: started from a test thread, the server inherits a mask that blocks SIGTERM.
        defer { kill(server.processIdentifier, SIGKILL); server.waitUntilExit() }
        try #require(waitUntilListening(port: port, seconds: 10), "openssl s_server did not listen on 127.0.0.1:\(port)")

        let error = try #require(throws: GitError.self) {
            try GitRepository.cloneBare(url: "https://127.0.0.1:\(port)/repo.git", to: folder.base + "/mirror.git")
        }
        #expect(error.kind == .certificate)
        #expect(error.description.contains("certificate"))
    }

    /// A port of 127.0.0.1 nothing listens on: the kernel picks it, and it is released for the server.
    private func freeLoopbackPort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        try #require(bound, "no free port on 127.0.0.1")
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port` within `seconds`.
    private func waitUntilListening(port: Int, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = loopback(port: port)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            close(socket)
            if connected == 0 { return true }
            usleep(50_000)
        }
        return false
    }

    private func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "\(tool) \(arguments.joined(separator: " ")) failed")
    }
}
