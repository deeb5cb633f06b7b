import Foundation

/// One JSON Schema (draft 2020-12), compiled for fast validation of document trees.
///
/// Only the keywords our schemas in `schemas/` use are supported, and a schema using any other is
/// refused when compiled: a keyword silently ignored would let invalid specs through.
public final class Schema: Sendable {
    public enum JSONType: String, Sendable, CaseIterable {
        case object, array, string, number, integer, boolean, null
    }

    public enum Additional: Sendable {
        case allowed
        case forbidden
        case schema(Schema)
    }

    public let types: [JSONType]?
    public let description: String?
    public let properties: [String: Schema]
    public let required: [String]
    public let additionalProperties: Additional
    public let propertyNames: Schema?
    public let minProperties: Int?
    public let items: Schema?
    public let minItems: Int?
    public let maxItems: Int?
    public let uniqueItems: Bool
    public let enumValues: [JSONValue]?
    public let constValue: JSONValue?
    let pattern: PatternMatcher?
    public let minLength: Int?
    public let maxLength: Int?
    public let minimum: Double?
    public let maximum: Double?
    public let exclusiveMinimum: Double?
    public let anyOf: [Schema]
    public let oneOf: [Schema]
    /// `properties` without a reference count each: what validation looks up (see
    /// `SchemaValidator.checkMapping`). `properties` keeps them alive, as long as this schema.
    let unretainedProperties: [String: Unmanaged<Schema>]

    public var patternSource: String? { pattern?.source }

    static let supportedKeywords: Set<String> = [
        "$schema", "$id", "$defs", "$ref", "$comment", "title", "description", "default", "examples", "type",
        "properties", "required", "additionalProperties", "items", "enum", "const", "pattern", "minLength",
        "maxLength", "minimum", "maximum", "exclusiveMinimum", "minItems", "maxItems", "uniqueItems", "anyOf",
        "oneOf", "minProperties", "propertyNames", "markdownDescription", "deprecated",
    ]

    public struct CompileError: Error, CustomStringConvertible {
        public var schema: String
        public var pointer: String
        public var reason: String
        public var description: String { "schema \(schema) at \(pointer.isEmpty ? "/" : pointer): \(reason)" }
    }

    /// Compiles the schema document `json` (named `name` in errors).
    public static func compile(_ json: JSONValue, name: String) throws -> Schema {
        let defs = json["$defs"]?.objectValue ?? [:]
        var compiler = Compiler(name: name, defs: defs)
        return try compiler.compile(json, pointer: "")
    }

    init(
        types: [JSONType]?, description: String?, properties: [String: Schema], required: [String],
        additionalProperties: Additional, propertyNames: Schema?, minProperties: Int?, items: Schema?,
        minItems: Int?, maxItems: Int?, uniqueItems: Bool, enumValues: [JSONValue]?, constValue: JSONValue?,
        pattern: PatternMatcher?, minLength: Int?, maxLength: Int?, minimum: Double?, maximum: Double?,
        exclusiveMinimum: Double?, anyOf: [Schema], oneOf: [Schema]
    ) {
        self.types = types
        self.description = description
        self.properties = properties
        self.required = required
        self.additionalProperties = additionalProperties
        self.propertyNames = propertyNames
        self.minProperties = minProperties
        self.items = items
        self.minItems = minItems
        self.maxItems = maxItems
        self.uniqueItems = uniqueItems
        self.enumValues = enumValues
        self.constValue = constValue
        self.pattern = pattern
        self.minLength = minLength
        self.maxLength = maxLength
        self.minimum = minimum
        self.maximum = maximum
        self.exclusiveMinimum = exclusiveMinimum
        self.anyOf = anyOf
        self.oneOf = oneOf
        self.unretainedProperties = properties.mapValues { Unmanaged.passUnretained($0) }
    }

    private struct Compiler {
        let name: String
        let defs: [String: JSONValue]
        var compiledDefs: [String: Schema] = [:]
        var inProgress: Set<String> = []

        func fail(_ pointer: String, _ reason: String) -> CompileError {
            CompileError(schema: name, pointer: pointer, reason: reason)
        }

        mutating func compile(_ json: JSONValue, pointer: String) throws -> Schema {
            if case .bool(true) = json { return Schema.anything }
            guard let object = json.objectValue else { throw fail(pointer, "a schema must be an object") }
            for key in object.keys where !Schema.supportedKeywords.contains(key) {
                throw fail(pointer, "keyword '\(key)' is not supported by trueup's validator")
            }
            if let ref = object["$ref"]?.stringValue {
                guard object.keys.allSatisfy({ ["$ref", "description", "title", "$comment", "default", "examples"].contains($0) }) else {
                    throw fail(pointer, "'$ref' beside validation keywords is not supported")
                }
                let resolved = try resolve(ref, pointer: pointer)
                // The description beside a reference says what this use is for: messages quote it.
                if let description = object["description"]?.stringValue { return resolved.describing(description) }
                return resolved
            }
            func int(_ key: String) throws -> Int? {
                guard let v = object[key] else { return nil }
                guard let i = v.intValue else { throw fail(pointer + "/" + key, "must be an integer") }
                return i
            }
            var types: [JSONType]?
            switch object["type"] {
            case .string(let t)?:
                guard let type = JSONType(rawValue: t) else { throw fail(pointer + "/type", "unknown type '\(t)'") }
                types = [type]
            case .array(let list)?:
                types = try list.map {
                    guard let t = $0.stringValue, let type = JSONType(rawValue: t) else { throw fail(pointer + "/type", "unknown type") }
                    return type
                }
            case nil: types = nil
            default: throw fail(pointer + "/type", "must be a string or a list")
            }
            var properties: [String: Schema] = [:]
            for (key, value) in object["properties"]?.objectValue ?? [:] {
                properties[key] = try compile(value, pointer: pointer + "/properties/" + key)
            }
            let additional: Additional
            switch object["additionalProperties"] {
            case nil, .bool(true)?: additional = .allowed
            case .bool(false)?: additional = .forbidden
            case let schema?: additional = .schema(try compile(schema, pointer: pointer + "/additionalProperties"))
            }
            var pattern: PatternMatcher?
            if let source = object["pattern"]?.stringValue {
                do { pattern = try PatternMatcher.compiled(source) } catch { throw fail(pointer + "/pattern", "\(error)") }
            }
            return Schema(
                types: types,
                description: object["description"]?.stringValue,
                properties: properties,
                required: (object["required"]?.arrayValue ?? []).compactMap(\.stringValue),
                additionalProperties: additional,
                propertyNames: try object["propertyNames"].map { try compile($0, pointer: pointer + "/propertyNames") },
                minProperties: try int("minProperties"),
                items: try object["items"].map { try compile($0, pointer: pointer + "/items") },
                minItems: try int("minItems"),
                maxItems: try int("maxItems"),
                uniqueItems: object["uniqueItems"]?.boolValue ?? false,
                enumValues: object["enum"]?.arrayValue,
                constValue: object["const"],
                pattern: pattern,
                minLength: try int("minLength"),
                maxLength: try int("maxLength"),
                minimum: object["minimum"]?.doubleValue,
                maximum: object["maximum"]?.doubleValue,
                exclusiveMinimum: object["exclusiveMinimum"]?.doubleValue,
                anyOf: try (object["anyOf"]?.arrayValue ?? []).enumerated().map { try compile($1, pointer: pointer + "/anyOf/\($0)") },
                oneOf: try (object["oneOf"]?.arrayValue ?? []).enumerated().map { try compile($1, pointer: pointer + "/oneOf/\($0)") }
            )
        }

        mutating func resolve(_ ref: String, pointer: String) throws -> Schema {
            let prefix = "#/$defs/"
            guard ref.hasPrefix(prefix) else { throw fail(pointer, "only local '#/$defs/...' references are supported, not '\(ref)'") }
            let defName = String(ref.dropFirst(prefix.count))
            if let done = compiledDefs[defName] { return done }
            guard let def = defs[defName] else { throw fail(pointer, "'\(ref)' names no definition") }
            guard inProgress.insert(defName).inserted else { throw fail(pointer, "recursive '\(ref)' is not supported") }
            let schema = try compile(def, pointer: "/$defs/" + defName)
            inProgress.remove(defName)
            compiledDefs[defName] = schema
            return schema
        }
    }

    /// The same schema with another description.
    func describing(_ description: String) -> Schema {
        Schema(
            types: types, description: description, properties: properties, required: required,
            additionalProperties: additionalProperties, propertyNames: propertyNames, minProperties: minProperties,
            items: items, minItems: minItems, maxItems: maxItems, uniqueItems: uniqueItems, enumValues: enumValues,
            constValue: constValue, pattern: pattern, minLength: minLength, maxLength: maxLength, minimum: minimum,
            maximum: maximum, exclusiveMinimum: exclusiveMinimum, anyOf: anyOf, oneOf: oneOf)
    }

    static let anything = Schema(
        types: nil, description: nil, properties: [:], required: [], additionalProperties: .allowed, propertyNames: nil,
        minProperties: nil, items: nil, minItems: nil, maxItems: nil, uniqueItems: false, enumValues: nil,
        constValue: nil, pattern: nil, minLength: nil, maxLength: nil, minimum: nil, maximum: nil,
        exclusiveMinimum: nil, anyOf: [], oneOf: [])
}
