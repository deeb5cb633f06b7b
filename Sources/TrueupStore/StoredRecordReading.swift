import Foundation
import TrueupCore

/// Reading back the JSON columns that every plan reads in bulk (an environment's job runs, the
/// tags of its registry versions) through `JSONValue.parse` rather than JSONDecoder, which took
/// a tenth of a pull-request report of 3,000 resources. StoredRecordReadingTests round-trips
/// every field through the Codable encoding, so a field added to the record but not here fails.
extension JobRunRecord {
    public init(stored text: String) throws {
        try self.init(stored: try JSONValue.parse(Data(text.utf8)))
    }

    /// A record from its column already parsed (read in bulk straight from SQLite's bytes).
    public init(stored value: JSONValue) throws {
        func string(_ key: String) throws -> String {
            guard let text = value[key]?.stringValue else { throw StoredRecordError(record: "job run", field: key) }
            return text
        }
        func number(_ key: String) throws -> Double {
            guard let number = value[key]?.doubleValue else { throw StoredRecordError(record: "job run", field: key) }
            return number
        }
        func strings(_ key: String) throws -> [String: String] {
            var result: [String: String] = [:]
            for (name, item) in value[key]?.objectValue ?? [:] {
                guard let text = item.stringValue else { throw StoredRecordError(record: "job run", field: "\(key).\(name)") }
                result[name] = text
            }
            return result
        }
        guard let status = Status(rawValue: try string("status")) else { throw StoredRecordError(record: "job run", field: "status") }
        var metrics: [String: Double] = [:]
        for (name, item) in value["metrics"]?.objectValue ?? [:] {
            guard let number = item.doubleValue else { throw StoredRecordError(record: "job run", field: "metrics.\(name)") }
            metrics[name] = number
        }
        var outputs: [String: ArtifactReference] = [:]
        for (part, item) in value["outputs"]?.objectValue ?? [:] {
            guard let digest = item["digest"]?.stringValue, let uri = item["uri"]?.stringValue else {
                throw StoredRecordError(record: "job run", field: "outputs.\(part)")
            }
            outputs[part] = ArtifactReference(digest: digest, uri: uri)
        }
        self.init(
            identity: try string("identity"), environment: try string("environment"), job: try string("job"), status: status,
            exitCode: value["exitCode"]?.intValue, attempts: value["attempts"]?.intValue ?? 1,
            outputLocation: try string("outputLocation"), metrics: metrics, logPath: try string("logPath"),
            commit: try string("commit"), codeTree: try string("codeTree"), inputs: try strings("inputs"),
            candidate: value["candidate"]?.stringValue, startedAt: try number("startedAt"),
            finishedAt: value["finishedAt"]?.doubleValue, error: value["error"]?.stringValue, outputs: outputs)
    }
}

extension StoredJSON {
    /// A `{"name": "text"}` column (version tags).
    public static func stringMap(_ text: String) throws -> [String: String] {
        var result: [String: String] = [:]
        for (name, item) in try JSONValue.parse(Data(text.utf8)).objectValue ?? [:] {
            guard let value = item.stringValue else { throw StoredRecordError(record: "tags", field: name) }
            result[name] = value
        }
        return result
    }
}

struct StoredRecordError: Error, CustomStringConvertible {
    var record: String
    var field: String
    var description: String {
        "the state database holds a \(record) record whose field '\(field)' is missing or of the wrong type: was it written by another version of trueup?"
    }
}
