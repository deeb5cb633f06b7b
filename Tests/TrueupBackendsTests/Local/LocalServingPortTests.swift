import Foundation
import Glibc
import Testing
import TrueupBackends
import TrueupCore

/// Ports on the local backend: a deployment keeps the port it had, and `spec.port` pins one.
@Suite("Local serving ports")
struct LocalServingPortTests {
    @Test func aRestartedDeploymentKeepsItsPort() async throws {
        try await LocalState.with { state in
            let serving: @Sendable () throws -> LocalServing = { try LocalServing(store: state.openStore(), paths: state.paths) }
            let subject = ServingSubject { try serving() }
            try await ServingConformance.withStage(subject) { stage in
                let first = try await serving().deploy(stage.app(version: "v1"))
                try await subject.kill(first)
                let healed = try await serving().deploy(stage.app(version: "v1"))
                #expect(healed.pid != first.pid)
                #expect(healed.endpoint == first.endpoint, "the free port it had is taken again")
            }
        }
    }

    @Test func aPinnedPortIsUsedAndKeptAcrossAnUpdate() async throws {
        try await LocalState.with { state in
            let serving: @Sendable () throws -> LocalServing = { try LocalServing(store: state.openStore(), paths: state.paths) }
            try await ServingConformance.withStage(ServingSubject { try serving() }) { stage in
                let port = try ServiceSupervisor.freePort()
                var v1 = stage.app(version: "v1")
                v1.port = port
                let first = try await serving().deploy(v1)
                #expect(first.endpoint == "http://127.0.0.1:\(port)")
                var v2 = stage.app(version: "v2")
                v2.port = port
                let second = try await serving().deploy(v2)
                #expect(second.endpoint == "http://127.0.0.1:\(port)")
                #expect(second.pid != first.pid)
                #expect(await HTTPClient.get(HTTPClient.url(second.endpoint, "/"))?.body == "v2")
                if let pid = first.pid { #expect(!LiveProcess.isRunning(pid), "the old version gave the pinned port up") }
            }
        }
    }

    @Test func aPinnedPortSomethingElseHoldsIsRefusedClearly() async throws {
        try await LocalState.with { state in
            let serving: @Sendable () throws -> LocalServing = { try LocalServing(store: state.openStore(), paths: state.paths) }
            try await ServingConformance.withStage(ServingSubject { try serving() }) { stage in
                // Something else listens on the port.
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                defer { close(fd) }
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
                _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
                listen(fd, 1)
                var length = socklen_t(MemoryLayout<sockaddr_in>.size)
                _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
                let port = Int(UInt16(bigEndian: address.sin_port))
                #expect(!ServiceSupervisor.isFree(port: port))

                var request = stage.app(version: "v1")
                request.port = port
                await #expect {
                    _ = try await serving().deploy(request)
                } throws: { error in
                    "\(error)".contains("pins port \(port)") && "\(error)".contains("pin another port")
                }
            }
        }
    }
}
