import Dispatch
import Foundation

/// The schemas of every kind, compiled once from the copies built into the binary.
///
/// `schemas/*.schema.json` is the single source of truth; `EmbeddedSchemas.swift` is generated from it
/// by `scripts/embed-schemas` and a test fails when the two differ.
public struct SchemaCatalog: Sendable {
    public let schemas: [ResourceKind: Schema]

    public static let shared: SchemaCatalog = {
        do {
            return try SchemaCatalog(sources: EmbeddedSchemas.byFile)
        } catch {
            // The embedded schemas are part of the program: a broken one is a build defect, caught by tests.
            fatalError("built-in schema is invalid: \(error)")
        }
    }()

    /// Starts compiling `shared` on another core, for a caller about to do slow work that does
    /// not need it yet (opening a repository starts libgit2, which reads the system's
    /// certificates; then the files are read and parsed): whoever reads `shared` first waits
    /// only for what is left of compiling. Compiling takes a few milliseconds, once a process.
    public static func compileAhead() {
        DispatchQueue.global().async { _ = shared }
    }

    public init(sources: [String: String]) throws {
        var schemas: [ResourceKind: Schema] = [:]
        for kind in ResourceKind.allCases {
            guard let text = sources[kind.schemaFile] else { continue }
            let json = try JSONValue.parse(Data(text.utf8))
            schemas[kind] = try Schema.compile(json, name: kind.schemaFile)
        }
        self.schemas = schemas
    }

    public subscript(kind: ResourceKind) -> Schema? { schemas[kind] }
}
