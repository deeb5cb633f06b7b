import Synchronization

/// A position in a file of the repository: what every error points at.
/// Lines and columns are 1-based, as editors show them.
///
/// Every node of every parsed document carries one, and documents are copied through overlays,
/// variables and validation, so a location is kept to 12 trivially copyable bytes: the file is an
/// interned number (`SourceFileNames`) rather than a String, whose every copy would be a
/// retain/release pair (a third of spec-loading time when it was one).
public struct SourceLocation: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The interned file; equal ids are equal paths.
    public private(set) var fileID: SourceFileID
    private var storedLine: Int32
    private var storedColumn: Int32

    public init(file: String, line: Int, column: Int) {
        self.init(file: SourceFileNames.id(of: file), line: line, column: column)
    }

    public init(file: SourceFileID, line: Int, column: Int) {
        fileID = file
        storedLine = Int32(clamping: line)
        storedColumn = Int32(clamping: column)
    }

    public var file: String {
        get { SourceFileNames.path(of: fileID) }
        set { fileID = SourceFileNames.id(of: newValue) }
    }

    public var line: Int {
        get { Int(storedLine) }
        set { storedLine = Int32(clamping: newValue) }
    }

    public var column: Int {
        get { Int(storedColumn) }
        set { storedColumn = Int32(clamping: newValue) }
    }

    public static func < (a: SourceLocation, b: SourceLocation) -> Bool {
        if a.fileID != b.fileID { return a.file < b.file }
        return (a.storedLine, a.storedColumn) < (b.storedLine, b.storedColumn)
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// A repository path interned by `SourceFileNames`.
public struct SourceFileID: Hashable, Sendable {
    let raw: UInt32
}

/// The process-wide table of file paths that locations point into. Paths are added once per file
/// (by the loader) and never removed: a long-running controller sees each path of its repository
/// once, so the table is as large as the set of spec paths ever read.
public enum SourceFileNames {
    private struct Table {
        /// Room for a large repository's spec files from the start: the table is filled by every
        /// parsing thread at once, and growing it under the lock kept the others waiting.
        var ids = [String: SourceFileID](minimumCapacity: 4096)
        var paths: [String] = []
    }

    private static let table = Mutex(Table())

    public static func id(of path: String) -> SourceFileID {
        table.withLock { table in
            if let known = table.ids[path] { return known }
            let id = SourceFileID(raw: UInt32(table.paths.count))
            table.paths.append(path)
            table.ids[path] = id
            return id
        }
    }

    public static func path(of id: SourceFileID) -> String {
        table.withLock { $0.paths[Int(id.raw)] }
    }
}
