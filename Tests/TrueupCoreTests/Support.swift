import Foundation
import TrueupCore
import TrueupYAML

/// The first document of `text`, loaded as the file `file`.
func yaml(_ text: String, file: String = "f.yaml") throws -> Node {
    guard let document = try YAMLLoader().load(Array(text.utf8), file: file).first else {
        throw SupportError("no document in \(text)")
    }
    return document.root
}

func at(_ line: Int, _ column: Int) -> TrueupCore.SourceLocation {
    TrueupCore.SourceLocation(file: "f.yaml", line: line, column: column)
}

struct SupportError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The repository this test file belongs to, for the files that are test inputs (`schemas/`).
enum SourceTree {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}
