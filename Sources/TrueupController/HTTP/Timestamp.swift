import Foundation

/// A moment as the API writes it: an RFC 3339 string in UTC (`2026-12-05T10:41:39.988Z`), which
/// every client parses, rather than seconds since 1970, which each must be told about.
struct Timestamp: Encodable, Sendable, Hashable {
    var seconds: Double

    init(_ seconds: Double) { self.seconds = seconds }

    var rfc3339: String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rfc3339)
    }
}
