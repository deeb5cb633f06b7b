import Foundation

/// A typed value, as JSON sees it: what a document becomes once its schema has typed every scalar.
/// Objects are kept sorted by key so that hashing and rendering are deterministic.
public enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var doubleValue: Double? {
        switch self {
        case .integer(let i): return Double(i)
        case .number(let d): return d
        default: return nil
        }
    }

    public var intValue: Int? {
        switch self {
        case .integer(let i): return Int(i)
        case .number(let d) where d.rounded() == d: return Int(d)
        default: return nil
        }
    }

    /// Whether any string in this value (keys excluded) contains `needle`.
    public func containsString(_ needle: String) -> Bool {
        switch self {
        case .string(let s): return s.contains(needle)
        case .array(let items): return items.contains { $0.containsString(needle) }
        case .object(let members): return members.values.contains { $0.containsString(needle) }
        default: return false
        }
    }

    /// Compact JSON with sorted keys: stable bytes for hashing and golden files.
    public var canonicalJSON: String {
        var out = ""
        write(to: &out, indent: nil, level: 0)
        return out
    }

    /// `canonicalJSON` appended to `out`, without a string of its own in between.
    public func writeCanonicalJSON(to out: inout String) {
        write(to: &out, indent: nil, level: 0)
    }

    /// Indented JSON with sorted keys, for people.
    public var prettyJSON: String {
        var out = ""
        write(to: &out, indent: "  ", level: 0)
        return out
    }

    private func write(to out: inout String, indent: String?, level: Int) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .integer(let i): out += String(i)
        case .number(let d):
            if d.isFinite, d.rounded() == d, abs(d) < 1e15 { out += String(Int64(d)) } else if d.isFinite { out += "\(d)" } else { out += "null" }
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                if let indent { out += "\n" + String(repeating: indent, count: level + 1) }
                item.write(to: &out, indent: indent, level: level + 1)
            }
            if let indent { out += "\n" + String(repeating: indent, count: level) }
            out += "]"
        case .object(let members):
            if members.isEmpty { out += "{}"; return }
            out += "{"
            // Sorted as pairs: sorting the keys alone meant looking each value up again.
            for (i, member) in members.sorted(by: { $0.key < $1.key }).enumerated() {
                if i > 0 { out += "," }
                if let indent { out += "\n" + String(repeating: indent, count: level + 1) }
                JSONValue.writeString(member.key, to: &out)
                out += indent == nil ? ":" : ": "
                member.value.write(to: &out, indent: indent, level: level + 1)
            }
            if let indent { out += "\n" + String(repeating: indent, count: level) }
            out += "}"
        }
    }

    static func writeString(_ s: String, to out: inout String) {
        out += "\""
        // Almost every string needs no escape: then it is appended whole (fingerprints write the
        // JSON of every resource, and appending scalar by scalar was most of that).
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out += s
            out += "\""
            return
        }
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    /// Parses JSON text through Foundation's JSONDecoder and this type's `Decodable` conformance
    /// (trueup's one way of reading JSON): integers that fit in Int64 stay `.integer`.
    public static func parse(_ data: Data) throws -> JSONValue {
        try decoder.decode(JSONValue.self, from: data)
    }

    private static let decoder = JSONDecoder()
}

extension JSONValue: Codable {
    public init(from decoder: Decoder) throws {
        // Every failed attempt builds and throws a DecodingError, so the common shapes (strings,
        // then objects) are tried first; among numbers Bool, Int64, Double keep their order.
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let o = try? c.decode([String: JSONValue].self) { self = .object(o) }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int64.self) { self = .integer(i) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else { self = .array(try c.decode([JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .integer(let i): try c.encode(i)
        case .number(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}
