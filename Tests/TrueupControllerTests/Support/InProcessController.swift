import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import TrueupStore
@testable import TrueupController

/// A controller's HTTP side driven in process (`app.test(.router)`), over a real state directory
/// in a temporary folder. No loop runs: tests set its role and read its inbox themselves.
final class InProcessController {
    let folder: String
    let controller: Controller

    init(webhookSecret: String? = nil, apiToken: String? = nil) throws {
        folder = try TemporaryFolder.make("trueup-http")
        controller = try Controller(
            ControllerConfiguration(repository: folder + "/nowhere.git", stateDirectory: folder + "/state", webhookSecret: webhookSecret, apiToken: apiToken, holder: "test-holder"),
            logger: Logger(label: "test"))
    }

    deinit { try? FileManager.default.removeItem(atPath: folder) }

    var context: ControllerContext { controller.context }
    var store: StateStore { context.workspace.store }

    /// As the loop does once it holds the lease.
    func lead() throws {
        let election = LeaderElection(store: store, holder: context.configuration.holder, duration: 60)
        guard let fence = try election.tryAcquire() else { throw TestFailure("the lease is taken") }
        store.setFence(fence)
        context.status.setRole(.leading(token: fence.token))
    }

    /// As the loop does before it holds the lease.
    func standBy() {
        store.setFence(LeaderElection(store: store, holder: context.configuration.holder, duration: 60).nobodysFence())
        context.status.setRole(.standby(leader: "someone-else"))
    }

    func test(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let app = Application(router: controller.router)
        try await app.test(.router) { client in try await body(client) }
    }

    /// The next message the HTTP side sent the loop, or nil when none came within `seconds`.
    func nextMessage(within seconds: Double = 5) async -> LoopInbox.Message? {
        let inbox = context.inbox
        return await withTaskGroup(of: LoopInbox.Message?.self) { group in
            group.addTask {
                var iterator = inbox.messages.makeAsyncIterator()
                return await iterator.next()
            }
            group.addTask {
                try? await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

enum TemporaryFolder {
    /// A new folder under the system's temporary folder, symlinks resolved.
    static func make(_ prefix: String) throws -> String {
        var template = Array((FileManager.default.temporaryDirectory.path + "/\(prefix)-XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else { throw TestFailure("mkdtemp failed: \(String(cString: strerror(errno)))") }
        return URL(fileURLWithPath: String(cString: created)).resolvingSymlinksInPath().path
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }

    /// The JSON body as a dictionary (API responses are objects).
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }
}
