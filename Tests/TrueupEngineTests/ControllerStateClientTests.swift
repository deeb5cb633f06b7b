import Foundation
import Testing
import TrueupCore
@testable import TrueupEngine
#if canImport(Glibc)
import Glibc
#endif

/// A loopback port nothing listens on: bound once to learn a free one, then closed.
private func closedPort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw TestRepositoryError("socket failed") }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
    }
    guard bound else { throw TestRepositoryError("bind failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}

struct ControllerStateClientTests {
    /// `diff --server` fetches an earlier job run only when planning looks it up; a controller that
    /// went away by then blocks that job with words that say what to do, and never the token.
    @Test func anEarlierRunThatCannotBeFetchedSaysTheControllerIsUnreachable() throws {
        let port = try closedPort()
        let client = ControllerStateClient(baseURL: URL(string: "http://127.0.0.1:\(port)")!, token: "s3cret-token-value")
        // As a controller sends it: no latest run, one earlier run by identity.
        let sent = try JSONEncoder().encode(JobRunHistory.Sent(latest: [:], earlier: ["a1b2c3"]))
        let received = try JSONDecoder().decode(JobRunHistory.self, from: sent).fetchingEarlierRuns { identity in
            try client.jobRun(environment: "dev", identity: identity)
        }
        #expect(try received.run("not-a-run") == nil, "an identity the state does not name costs no request")
        do {
            _ = try received.run("a1b2c3")
            Issue.record("a run the state names by identity cannot come back without its record")
        } catch let error as JobRunHistory.RunNotFetched {
            #expect(error.description.hasPrefix("cannot fetch it from the controller at http://127.0.0.1:\(port)"), "\(error)")
            #expect(error.description.hasSuffix("check that the controller is running, then run the diff again"), "\(error)")
            #expect(!error.description.contains("s3cret"), "\(error)")
            #expect(error.description.contains("(connection refused: nothing listens there)"), "\(error)")
        }
    }
}
