/// A path below the spec root taken apart in one pass over its bytes: `root/<folder>/.../<name>`.
/// Collecting runs it on every file and entry of the tree, where splitting each path into an
/// array of substrings showed in profiles.
public struct SpecTreePath {
    /// The folder directly below the root; nil for a file directly in the root.
    public var folder: Substring?
    /// How many components follow the root: 1 for a file directly in it.
    public var depth: Int
    /// The last component.
    public var name: Substring

    /// The names an environment's own file may have, in the order a listing sorts them.
    public static let environmentFileNames = ["environment.yaml", "environment.yml"]

    /// `root/<folder>/environment.yaml` (or `.yml`).
    public var isEnvironmentFile: Bool { depth == 2 && Self.environmentFileNames.contains { name == $0 } }

    public init(_ path: String, root: String) {
        let bytes = path.utf8
        let skip = min(root.utf8.count + 1, bytes.count)
        let start = bytes.index(bytes.startIndex, offsetBy: skip)
        var depth = 1
        var firstSlash: String.Index?
        var lastSlash: String.Index?
        var index = start
        while index < bytes.endIndex {
            if bytes[index] == UInt8(ascii: "/") {
                depth += 1
                if firstSlash == nil { firstSlash = index }
                lastSlash = index
            }
            index = bytes.index(after: index)
        }
        self.depth = depth
        folder = firstSlash.map { path[start..<$0] }
        name = lastSlash.map { path[bytes.index(after: $0)...] } ?? path[start...]
    }
}
