import Foundation
import Testing
@testable import TrueupGit

@Suite("libgit2 set-up")
struct LibGit2SetUpTests {
    /// DESIGN §1: nothing on disk is trusted. libgit2 re-hashes every object it reads, so a blob
    /// whose stored bytes were replaced (a bad disk, a hand-edited object) is refused instead of
    /// being read as the spec the commit names.
    @Test func anObjectWhoseBytesDoNotMatchItsIDIsRefused() throws {
        let fixture = try GitFixture()
        try fixture.write("envs/prod.yaml", "replicas: 1\n")
        try fixture.commitAll("first")
        let blob = try fixture.git("rev-parse", "HEAD:envs/prod.yaml")
        try fixture.write("other.txt", "replicas: 9\n")
        let other = try fixture.git("hash-object", "-w", "other.txt")
        let objects = fixture.path + "/.git/objects/"
        let stored = objects + blob.prefix(2) + "/" + blob.dropFirst(2)
        // A valid loose object, of other bytes, under the blob's id.
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: stored)
        try FileManager.default.removeItem(atPath: stored)
        try FileManager.default.copyItem(atPath: objects + other.prefix(2) + "/" + other.dropFirst(2), toPath: stored)

        let snapshot = try GitRepository(path: fixture.path).snapshot(at: "HEAD")
        #expect(throws: GitError.self) { try snapshot.contents(of: "envs/prod.yaml") }
    }
}
