import TrueupCore
import TrueupStore

/// `status`'s view of an environment's notifications: only receivers with something undelivered
/// or failed appear, so a healthy setup adds no lines.
enum NotificationBacklogLines {
    static func text(_ backlog: [NotificationBacklog]) -> String {
        backlog.map { b in
            var parts: [String] = []
            if b.pending > 0 { parts.append("\(b.pending) undelivered") }
            if b.failed > 0 { parts.append("\(b.failed) failed") }
            return "  notifications to \(b.receiver): \(parts.joined(separator: ", "))\(b.lastError.map { "; last error: \($0.prefix(300))" } ?? "")\n"
        }.joined()
    }

    static func json(_ backlog: [NotificationBacklog]) -> JSONValue {
        .array(backlog.map { b in
            .object(["receiver": .string(b.receiver), "undelivered": .integer(Int64(b.pending)), "failed": .integer(Int64(b.failed)),
                     "lastError": b.lastError.map(JSONValue.string) ?? .null])
        })
    }
}
