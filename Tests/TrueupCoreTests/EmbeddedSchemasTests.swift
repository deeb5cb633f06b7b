import Foundation
import Testing
@testable import TrueupCore

/// `schemas/*.schema.json` is the single source of truth (DESIGN §2); the binary carries copies.
struct EmbeddedSchemasTests {
    static let folder = SourceTree.root.appendingPathComponent("schemas")

    static var filesOnDisk: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".schema.json") && $0 != "diff-report.schema.json" }.sorted()
    }

    @Test func everyKindHasASchemaOnDiskAndBuiltIn() {
        let expected = ResourceKind.allCases.map(\.schemaFile).sorted()
        #expect(Self.filesOnDisk == expected)
        #expect(EmbeddedSchemas.byFile.keys.sorted() == expected)
        for kind in ResourceKind.allCases { #expect(SchemaCatalog.shared[kind] != nil) }
    }

    @Test(arguments: filesOnDisk)
    func builtInCopyIsTheFileOnDisk(_ file: String) throws {
        let onDisk = try String(contentsOf: Self.folder.appendingPathComponent(file), encoding: .utf8)
        #expect(EmbeddedSchemas.byFile[file] == onDisk, "\(file) changed: run scripts/embed-schemas")
    }

    @Test func schemasOnDiskCompile() throws {
        var sources: [String: String] = [:]
        for file in Self.filesOnDisk {
            sources[file] = try String(contentsOf: Self.folder.appendingPathComponent(file), encoding: .utf8)
        }
        let catalog = try SchemaCatalog(sources: sources)
        #expect(catalog.schemas.count == ResourceKind.allCases.count)
    }
}
