/// Where a value sits inside a document, rendered as `spec.gates[0].metrics.auc`.
public struct FieldPath: Hashable, Sendable, CustomStringConvertible {
    public enum Component: Hashable, Sendable {
        case key(String)
        case index(Int)
    }

    public var components: [Component]

    public init(_ components: [Component] = []) { self.components = components }

    public init(_ dotted: String) {
        components = dotted.split(separator: ".").map { .key(String($0)) }
    }

    public func appending(_ key: String) -> FieldPath { FieldPath(components + [.key(key)]) }
    public func appending(_ index: Int) -> FieldPath { FieldPath(components + [.index(index)]) }

    public var description: String {
        var out = ""
        for component in components {
            switch component {
            case .key(let k):
                if !out.isEmpty { out += "." }
                out += k
            case .index(let i): out += "[\(i)]"
            }
        }
        return out
    }
}

extension FieldPath {
    /// Parses `spec.gates[0].metrics.auc`.
    public static func parse(_ text: String) -> FieldPath {
        var components: [Component] = []
        for part in text.split(separator: ".") {
            var rest = Substring(part)
            if let open = rest.firstIndex(of: "[") {
                let key = rest[..<open]
                if !key.isEmpty { components.append(.key(String(key))) }
                rest = rest[open...]
                while rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
                    if let i = Int(rest[rest.index(after: rest.startIndex)..<close]) { components.append(.index(i)) }
                    rest = rest[rest.index(after: close)...]
                }
            } else {
                components.append(.key(String(rest)))
            }
        }
        return FieldPath(components)
    }
}
