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
        switch node.value {
        case .mapping(let entries):
            var kept: [Node.Entry] = []
            kept.reserveCapacity(entries.count)
            for var entry in entries where !entry.value.isNull {
                entry.value = removingNulls(entry.value)
                kept.append(entry)
            }
            return Node(.mapping(kept), at: node.location)
        case .sequence(let items):
            return Node(.sequence(items.map(removingNulls)), at: node.location)
        case .scalar:
            return node
        }
    }
}
