import ArgumentParser
import Foundation
import TrueupCore
import TrueupYAML

/// Prints each document of a file as trueup types it, with trueup's stand-alone schema verdict.
/// Hidden: it exists so that an independent JSON Schema validator can be checked against trueup.
struct SchemaInstanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema-instance",
        abstract: "Print each document of FILE as typed JSON with trueup's schema verdict (one JSON object per line).",
        shouldDisplay: false
    )

    @Argument(help: "A YAML file holding resource documents.")
    var file: String

    func run() throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ValidationError("cannot read \(file): check the path")
        }
        let documents: [Document]
        do {
            documents = try YAMLLoader().load([UInt8](data), file: file)
        } catch {
            print(JSONValue.object(["parseError": .string(error.description)]).canonicalJSON)
            throw ExitCode(1)
        }
        for document in documents {
            let kind = document.root["kind"]?.scalarText.flatMap(ResourceKind.init(rawValue:))
            let schema = kind.flatMap { SchemaCatalog.shared[$0] }
            let instance = SchemaValidator.instance(of: document.root, under: schema)
            var verdict = false
            var messages: [JSONValue] = []
            if let schema {
                let (_, problems) = SchemaValidator.validate(document.root, against: schema)
                verdict = problems.isEmpty
                messages = problems.map { .string($0.description) }
            }
            let line: JSONValue = .object([
                "kind": kind.map { .string($0.rawValue) } ?? .null,
                "valid": .bool(verdict),
                "instance": instance,
                "errors": .array(messages),
            ])
            print(line.canonicalJSON)
        }
    }
}
