/// Deep merge of an overlay document onto what it overrides (DESIGN §1, base and overlays):
/// maps merge key by key, lists replace, and an explicit `null` removes a key.
public enum Overlay {
    public static func merge(_ base: Node, _ overlay: Node) -> Node {
        guard case .mapping(let baseEntries) = base.value, case .mapping(let overlayEntries) = overlay.value else {
            return overlay
        }
        var merged = baseEntries
        for entry in overlayEntries {
            if let index = merged.firstIndex(where: { $0.key == entry.key }) {
                merged[index].value = merge(merged[index].value, entry.value)
                merged[index].keyLocation = entry.keyLocation
            } else {
                merged.append(entry)
            }
        }
        return Node(.mapping(merged), at: overlay.location)
    }

    /// Removes every key whose value is an explicit null: after merging, a null has done its work.
    public static func removingNulls(_ node: Node) -> Node {
        withoutNulls(node) ?? node
    }

    /// The node without its nulls, or nil when it has none: most documents have none, and
    /// rebuilding every mapping of every resource for nothing was a measurable part of loading.
    private static func withoutNulls(_ node: Node) -> Node? {
        guard node.marks.contains(.null) else { return nil }
        switch node.value {
        case .mapping(let entries):
            var kept: [Node.Entry]?
            for (index, entry) in entries.enumerated() {
                let replacement: Node?
                if entry.value.isNull {
                    replacement = nil
                } else if let cleaned = withoutNulls(entry.value) {
                    replacement = cleaned
                } else {
                    kept?.append(entry)
                    continue
                }
                if kept == nil { kept = Array(entries[..<index]) }
                if let replacement { kept!.append(Node.Entry(key: entry.key, keyLocation: entry.keyLocation, value: replacement)) }
            }
            return kept.map { Node(.mapping($0), at: node.location) }
        case .sequence(let items):
            var changed: [Node]?
            for (index, item) in items.enumerated() {
                if let cleaned = withoutNulls(item) {
                    if changed == nil { changed = items }
                    changed![index] = cleaned
                }
            }
            return changed.map { Node(.sequence($0), at: node.location) }
        case .scalar:
            return nil
        }
    }
}
