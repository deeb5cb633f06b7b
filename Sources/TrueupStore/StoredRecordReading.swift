import Foundation
import TrueupCore

/// Reading back the JSON columns of job runs and version tags: through JSONDecoder and the
/// records' Codable conformance, the same path that wrote them (StoredJSON.encode).
extension JobRunRecord {
    public init(stored text: String) throws {
        try self.init(stored: Data(text.utf8))
    }

    /// A record from its column's bytes, as `Row.withUnsafeData` hands them over (no String
    /// made and copied first).
    public init(stored bytes: Data) throws {
        self = try StoredJSON.decode(JobRunRecord.self, from: bytes, record: "job run")
    }

    /// A record from its column already parsed into a `JSONValue`. Prefer
    /// `StoredJSON.decode(JobRunRecord.self, from:)` on the column's bytes: this writes the value
    /// out again to decode it.
    public init(stored value: JSONValue) throws {
        self = try StoredJSON.decode(JobRunRecord.self, from: Data(value.canonicalJSON.utf8), record: "job run")
    }
}

extension StoredJSON {
    /// A `{"name": "text"}` column (version tags).
    public static func stringMap(_ text: String) throws -> [String: String] {
        try decode([String: String].self, from: Data(text.utf8), record: "tags")
    }
}

struct StoredRecordError: Error, CustomStringConvertible {
    var record: String
    var field: String

    init(record: String, field: String) {
        self.record = record
        self.field = field
    }

    /// The field a decoding error is about, as a dotted path (`metrics.auc`, `inputs.features`).
    init(record: String, _ error: DecodingError) {
        let path: [any CodingKey]
        switch error {
        case .keyNotFound(let key, let context): path = context.codingPath + [key]
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context): path = context.codingPath
        @unknown default: path = []
        }
        let field = path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        self.init(record: record, field: field.isEmpty ? "(the whole record)" : field)
    }

    var description: String {
        "the state database holds a \(record) record whose field '\(field)' is missing or of the wrong type: was it written by another version of trueup?"
    }
}
