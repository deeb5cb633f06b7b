/// Validates a document tree against a compiled schema and, in the same pass, types its scalars.
///
/// Typing is schema-directed: a plain (unquoted) scalar becomes a number or boolean only where the
/// schema asks for one, and stays a string everywhere else; a quoted scalar is always a string.
/// Booleans are YAML 1.2's `true` and `false` only, so `prune: no` is an error that says so.
public struct SchemaValidator {
    private(set) var diagnostics: [Diagnostic] = []
    private var path: [FieldPath.Component] = []
    private let environment: String?

    public init(environment: String? = nil) {
        self.environment = environment
    }

    /// The typed value and every problem found; the value is nil when the node is invalid.
    public static func validate(_ node: Node, against schema: Schema, at path: FieldPath = FieldPath(), environment: String? = nil)
        -> (value: JSONValue?, diagnostics: [Diagnostic])
    {
        var validator = SchemaValidator(environment: environment)
        validator.path = path.components
        let value = validator.check(node, schema)
        return (validator.diagnostics.isEmpty ? value : nil, validator.diagnostics)
    }

    private mutating func report(_ location: SourceLocation, _ message: String) {
        diagnostics.append(Diagnostic(at: location, message, field: FieldPath(path).description, environment: environment))
    }

    private mutating func check(_ node: Node, _ schema: Schema) -> JSONValue? {
        if !schema.anyOf.isEmpty || !schema.oneOf.isEmpty {
            return checkAlternatives(node, schema)
        }
        let value: JSONValue?
        switch node.value {
        case .scalar(let text, let style):
            value = typeScalar(text, style, node, schema)
        case .mapping(let entries):
            value = checkMapping(entries, node, schema)
        case .sequence(let items):
            value = checkSequence(items, node, schema)
        }
        guard let value else { return nil }
        if let allowed = schema.enumValues, !allowed.contains(value) {
            let list = allowed.map { $0.stringValue ?? $0.canonicalJSON }.joined(separator: ", ")
            report(node.location, "\(Self.show(value)) is not allowed here: use one of \(list)")
            return nil
        }
        if let constant = schema.constValue, constant != value {
            report(node.location, "\(Self.show(value)) is not allowed here: it must be \(Self.show(constant))")
            return nil
        }
        return value
    }

    static func show(_ value: JSONValue) -> String {
        switch value {
        case .string(let s): return "'\(s)'"
        default: return value.canonicalJSON
        }
    }

    // MARK: - Scalars

    private mutating func typeScalar(_ text: String, _ style: Node.Style, _ node: Node, _ schema: Schema) -> JSONValue? {
        guard let types = schema.types else {
            // Free-form (e.g. `config`): type plain scalars the YAML 1.2 core way.
            return style == .plain ? Self.coreSchemaValue(text) : .string(text)
        }
        switch Self.typed(text, style, node.isNull, types) {
        case .string(let s)?: return finishString(s, node, schema)
        case .integer(let i)?: return finishNumber(.integer(i), Double(i), node, schema)
        case .number(let d)?: return finishNumber(.number(d), d, node, schema)
        case let other?: return other
        case nil:
            report(node.location, mismatch(text, style, node, types))
            return nil
        }
    }

    /// The one typing rule, shared by validation and `instance(of:)`: the value a scalar has where
    /// the schema allows `types`, or nil when it can have none of them.
    static func typed(_ text: String, _ style: Node.Style, _ isNull: Bool, _ types: [Schema.JSONType]) -> JSONValue? {
        if style == .plain {
            if types.contains(.null), isNull { return .null }
            if types.contains(.boolean), text == "true" || text == "false" { return .bool(text == "true") }
            if types.contains(.integer) || types.contains(.number), let i = integer(text) { return .integer(i) }
            // JSON Schema: a number with a zero fractional part (2.0, 1e3) is an integer.
            if types.contains(.integer), let d = number(text), d.rounded() == d, abs(d) < 9e18 { return .integer(Int64(d)) }
            if types.contains(.number), let d = number(text) { return .number(d) }
            if types.contains(.string) { return .string(text) }
        } else if types.contains(.string) {
            return .string(text)
        }
        return nil
    }

    /// The value of `node` as trueup types it under `schema`, whether or not it is valid: what an
    /// independent JSON Schema validator must be shown to check that it agrees with trueup.
    public static func instance(of node: Node, under schema: Schema?) -> JSONValue {
        let schema = schema ?? Schema.anything
        switch node.value {
        case .scalar(let text, let style):
            let branch = (schema.anyOf + schema.oneOf).first { $0.types.map { !$0.contains(.object) && !$0.contains(.array) } ?? true }
            let types = (branch ?? schema).types
            if let types, let value = typed(text, style, node.isNull, types) { return value }
            return style == .plain ? coreSchemaValue(text) : .string(text)
        case .mapping(let entries):
            let branch = (schema.anyOf + schema.oneOf).first { $0.types?.contains(.object) ?? false } ?? schema
            var members: [String: JSONValue] = [:]
            for entry in entries {
                var child = branch.properties[entry.key]
                if child == nil, case .schema(let s) = branch.additionalProperties { child = s }
                members[entry.key] = instance(of: entry.value, under: child)
            }
            return .object(members)
        case .sequence(let items):
            let branch = (schema.anyOf + schema.oneOf).first { $0.types?.contains(.array) ?? false } ?? schema
            return .array(items.map { instance(of: $0, under: branch.items) })
        }
    }

    private func mismatch(_ text: String, _ style: Node.Style, _ node: Node, _ types: [Schema.JSONType]) -> String {
        let wanted = Self.describe(types)
        if types.contains(.boolean), style == .plain,
           ["yes", "no", "on", "off", "y", "n", "True", "False", "TRUE", "FALSE", "Yes", "No", "YES", "NO", "On", "Off"].contains(text)
        {
            return "'\(text)' is not a boolean: only true and false are booleans (YAML 1.2); write true or false"
        }
        if style == .string, types.contains(.number) || types.contains(.integer) || types.contains(.boolean),
           Self.number(text) != nil || text == "true" || text == "false"
        {
            return "expected \(wanted), got the quoted string \"\(text)\": remove the quotes"
        }
        if node.isNull { return "expected \(wanted), got an empty value: give a value or remove the field" }
        if types.contains(.integer), Self.number(text) != nil { return "expected \(wanted), got '\(text)': use a whole number" }
        return "expected \(wanted), got '\(text)'"
    }

    static func describe(_ types: [Schema.JSONType]) -> String {
        let words = types.map { type -> String in
            switch type {
            case .object: return "a mapping"
            case .array: return "a list"
            case .string: return "a string"
            case .number: return "a number"
            case .integer: return "an integer"
            case .boolean: return "a boolean (true or false)"
            case .null: return "null"
            }
        }
        return words.joined(separator: " or ")
    }

    private mutating func finishString(_ text: String, _ node: Node, _ schema: Schema) -> JSONValue? {
        var ok = true
        let length = Self.codePointCount(text, within: schema)
        if let min = schema.minLength, length < min {
            report(node.location, text.isEmpty ? "must not be empty" : "'\(text)' is shorter than \(min) characters")
            ok = false
        }
        if let max = schema.maxLength, length > max {
            report(node.location, "'\(text.prefix(80))' is longer than \(max) characters: shorten it")
            ok = false
        }
        if let pattern = schema.pattern, !pattern.matches(text) {
            report(node.location, "'\(text.prefix(200))' is not valid here: \(Self.mustMatch(pattern.source))")
            ok = false
        } else if schema.pattern?.source == Self.sha256Pattern, text.allSatisfy({ $0 == "0" }) {
            // All zeros is the shape of a hash, never one: a placeholder someone forgot to fill in.
            report(node.location, "an all-zero sha256 is a placeholder, not the content's hash: put the real one (`sha256sum FILE`), or leave sha256 out")
            ok = false
        }
        return ok ? .string(text) : nil
    }

    static let sha256Pattern = "^[0-9a-f]{64}$"

    /// What a value must look like: in words for the patterns users meet, the regex otherwise.
    static func mustMatch(_ source: String) -> String {
        humanReading(source).map { "must be \($0)" } ?? "it must match \(source)"
    }

    /// A plain-words reading of the patterns users meet most, so they need not decode a regex.
    static func humanReading(_ source: String) -> String? {
        if source.hasPrefix("^[a-z]([a-z0-9-]") || source.hasPrefix("^[a-z][a-z0-9-]") {
            return "lowercase letters, digits and '-', starting with a letter, at most 63 characters"
        }
        if source.contains("ms|s|m|h|d") { return "a duration such as 30s, 10m, 1h30m" }
        if source.hasPrefix("^(>=|<=") { return "a comparison such as \">= 0.8\" or \"<= 120\"" }
        if source.hasPrefix("^(Dataset|Job") { return "Kind/name, such as Job/train (Dataset, Job, Model, Prompt or Deployment)" }
        if source.hasPrefix("^/") { return "a URL path starting with '/', without spaces" }
        if source == "^[A-Za-z_][A-Za-z0-9_]*$" { return "letters, digits and '_', not starting with a digit" }
        if source == sha256Pattern { return "a sha256: 64 lowercase hexadecimal digits" }
        return nil
    }

    private mutating func finishNumber(_ value: JSONValue, _ d: Double, _ node: Node, _ schema: Schema) -> JSONValue? {
        if let min = schema.minimum, d < min { report(node.location, "\(Self.show(value)) is below the minimum \(Self.trim(min))"); return nil }
        if let max = schema.maximum, d > max { report(node.location, "\(Self.show(value)) is above the maximum \(Self.trim(max))"); return nil }
        if let min = schema.exclusiveMinimum, d <= min { report(node.location, "\(Self.show(value)) must be greater than \(Self.trim(min))"); return nil }
        return value
    }

    static func trim(_ d: Double) -> String { d.rounded() == d ? String(Int64(d)) : String(d) }

    /// YAML 1.2 core-schema integers: decimal with optional sign (also 0x/0o forms).
    static func integer(_ text: String) -> Int64? {
        guard let first = text.utf8.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || (48...57).contains(first) else { return nil }
        if let i = Int64(text) { return i }
        if text.hasPrefix("0x"), let i = Int64(text.dropFirst(2), radix: 16) { return i }
        if text.hasPrefix("0o"), let i = Int64(text.dropFirst(2), radix: 8) { return i }
        return nil
    }

    /// YAML 1.2 core-schema floats (also `.inf` and `.nan` are refused: no spec needs them).
    static func number(_ text: String) -> Double? {
        guard let first = text.utf8.first,
              first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || first == UInt8(ascii: ".") || (48...57).contains(first)
        else { return nil }
        guard let d = Double(text), d.isFinite else { return nil }
        return d
    }

    static func coreSchemaValue(_ text: String) -> JSONValue {
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        // Only true and false are booleans (DESIGN §2), in free-form values too.
        case "true": return .bool(true)
        case "false": return .bool(false)
        default:
            if let i = integer(text) { return .integer(i) }
            if let d = number(text) { return .number(d) }
            return .string(text)
        }
    }

    // MARK: - Collections

    private mutating func checkMapping(_ entries: [Node.Entry], _ node: Node, _ schema: Schema) -> JSONValue? {
        if let types = schema.types, !types.contains(.object) {
            report(node.location, "expected \(Self.describe(types)), got a mapping")
            return nil
        }
        // Sized as it is made: `reserveCapacity` on a dictionary is not specialised, and looked
        // the storage's generic type up at run time for every mapping of every resource.
        var members = [String: JSONValue](minimumCapacity: entries.count)
        var ok = true
        // Entries are read where they are and property schemas borrowed: copying an entry out
        // retained its node, and looking a schema up retained it, where both cores validate
        // against the same schema objects, so each count moved between the cores' caches.
        entries.withUnsafeBufferPointer { entries in
            for index in entries.indices {
                let key = entries[index].key
                path.append(.key(key))
                defer { path.removeLast() }
                if let nameSchema = schema.propertyNames, let problem = Self.nameProblem(key, nameSchema) {
                    report(entries[index].keyLocation, problem)
                    ok = false
                    continue
                }
                let valueSchema: Unmanaged<Schema>
                if let property = schema.unretainedProperties[key] {
                    valueSchema = property
                } else {
                    switch schema.additionalProperties {
                    case .allowed: valueSchema = Unmanaged.passUnretained(Schema.anything)
                    case .schema(let s): valueSchema = Unmanaged.passUnretained(s)
                    case .forbidden:
                        report(entries[index].keyLocation, unknownField(key, schema))
                        ok = false
                        continue
                    }
                }
                if let value = valueSchema._withUnsafeGuaranteedRef({ check(entries[index].value, $0) }) { members[key] = value } else { ok = false }
            }
        }
        for name in schema.required where members[name] == nil && !entries.contains(where: { $0.key == name }) {
            path.append(.key(name))
            report(node.location, "missing required field '\(name)'\(schema.properties[name]?.description.map { ": \(Self.firstSentence($0))" } ?? "")")
            path.removeLast()
            ok = false
        }
        if let min = schema.minProperties, entries.count < min {
            report(node.location, "must have at least \(min) entr\(min == 1 ? "y" : "ies")")
            ok = false
        }
        return ok ? .object(members) : nil
    }

    /// The length JSON Schema gives `text` (in code points), exact whenever it could break
    /// `schema`'s length limits. A string has at most as many code points as UTF-8 bytes and at
    /// least a quarter as many, so when its bytes are within both limits that way the byte count
    /// stands in, and the code points are counted one by one only when the bytes cannot settle it.
    static func codePointCount(_ text: String, within schema: Schema) -> Int {
        let bytes = text.utf8.count
        let settled = (schema.minLength.map { bytes >= 4 * $0 } ?? true) && (schema.maxLength.map { bytes <= $0 } ?? true)
        return settled ? bytes : text.unicodeScalars.count
    }

    /// What is wrong with a mapping key under `propertyNames`, or nil.
    static func nameProblem(_ key: String, _ schema: Schema) -> String? {
        let length = codePointCount(key, within: schema)
        if let min = schema.minLength, length < min {
            return key.isEmpty ? "an empty name is not allowed here: give it a name" : "'\(key)' is shorter than \(min) characters"
        }
        if let max = schema.maxLength, length > max { return "'\(key.prefix(80))' is longer than \(max) characters: shorten it" }
        if let pattern = schema.pattern, !pattern.matches(key) { return "'\(key)' is not a valid name here: \(mustMatch(pattern.source))" }
        return nil
    }

    static func firstSentence(_ text: String) -> String {
        let sentence = text.split(separator: ".", maxSplits: 1).first.map(String.init) ?? text
        return sentence.prefix(1).lowercased() + sentence.dropFirst()
    }

    private func unknownField(_ key: String, _ schema: Schema) -> String {
        let known = schema.properties.keys.sorted()
        var message = "unknown field '\(key)'"
        if let suggestion = Self.closest(to: key, in: known) {
            message += ": did you mean '\(suggestion)'?"
        } else if known.isEmpty {
            message += ": this mapping takes no fields"
        } else {
            message += ": remove it; the fields allowed here are \(known.joined(separator: ", "))"
        }
        return message
    }

    /// The known name within edit distance 2 (or a case-insensitive match), for "did you mean".
    public static func closest(to word: String, in candidates: [String]) -> String? {
        var best: (String, Int)?
        for candidate in candidates {
            if candidate.lowercased() == word.lowercased() { return candidate }
            let d = editDistance(word, candidate)
            if d <= 2, d < (best?.1 ?? Int.max) { best = (candidate, d) }
        }
        return best?.0
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    private mutating func checkSequence(_ items: [Node], _ node: Node, _ schema: Schema) -> JSONValue? {
        if let types = schema.types, !types.contains(.array) {
            report(node.location, "expected \(Self.describe(types)), got a list")
            return nil
        }
        var values: [JSONValue] = []
        values.reserveCapacity(items.count)
        var ok = true
        for (index, item) in items.enumerated() {
            path.append(.index(index))
            if let value = check(item, schema.items ?? Schema.anything) { values.append(value) } else { ok = false }
            path.removeLast()
        }
        if let min = schema.minItems, items.count < min {
            report(node.location, items.isEmpty ? "must not be an empty list" : "needs at least \(min) items")
            ok = false
        }
        if let max = schema.maxItems, items.count > max {
            report(node.location, "has \(items.count) items, more than the \(max) allowed")
            ok = false
        }
        if ok, schema.uniqueItems {
            // Lists in specs are short: comparing each item with the ones before it is cheaper
            // than hashing every item into a set, which is kept for long lists.
            let hashed = values.count > 16
            var seen = Set<JSONValue>(minimumCapacity: hashed ? values.count : 0)
            for (index, value) in values.enumerated() where hashed ? !seen.insert(value).inserted : values[..<index].contains(value) {
                path.append(.index(index))
                report(items[index].location, "\(Self.show(value)) is listed twice: remove the repeat")
                path.removeLast()
                ok = false
            }
        }
        return ok ? .array(values) : nil
    }

    // MARK: - anyOf / oneOf

    private mutating func checkAlternatives(_ node: Node, _ schema: Schema) -> JSONValue? {
        let branches = schema.anyOf.isEmpty ? schema.oneOf : schema.anyOf
        let exactlyOne = schema.anyOf.isEmpty
        // Branches whose type fits the node's shape: usually exactly one, whose errors then speak plainly.
        let fitting = branches.filter { branch in
            guard let types = branch.types else { return true }
            switch node.value {
            case .mapping: return types.contains(.object)
            case .sequence: return types.contains(.array)
            case .scalar: return !types.contains(.object) && !types.contains(.array) || types.count > 1
            }
        }
        if fitting.isEmpty {
            let wanted = Self.describe(branches.flatMap { $0.types ?? [] })
            report(node.location, "expected \(wanted), got a \(node.kindName)")
            return nil
        }
        if fitting.count == 1 { return check(node, fitting[0]) }
        var results: [(JSONValue?, [Diagnostic])] = []
        for branch in fitting {
            var sub = SchemaValidator(environment: environment)
            sub.path = path
            let value = sub.check(node, branch)
            results.append((sub.diagnostics.isEmpty ? value : nil, sub.diagnostics))
        }
        let passing = results.filter { $0.1.isEmpty }
        if exactlyOne, passing.count > 1 {
            report(node.location, "matches more than one of the allowed forms: make it unambiguous")
            return nil
        }
        if let first = passing.first { return first.0 }
        diagnostics += results.min(by: { $0.1.count < $1.1.count })!.1
        return nil
    }
}
