import ArgumentParser
import Foundation
import TrueupCore
import TrueupGit

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Scaffold environments/ (a base and a dev environment) and schemas/ in a repository."
    )

    @Option(name: .long, help: "The git repository (default: the one enclosing the current folder).")
    var repo: String = "."

    @Option(name: .long, help: "The folder to create for environments.")
    var path: String = "environments"

    func run() throws {
        let root: String
        do {
            root = try GitRepository(discoveringFrom: repo).root
        } catch {
            note("error: \(error)")
            throw ExitCode(1)
        }
        let fm = FileManager.default
        let environments = (root as NSString).appendingPathComponent(path)
        if fm.fileExists(atPath: environments) {
            note("error: \(environments) already exists: trueup init only scaffolds a new repository")
            throw ExitCode(1)
        }
        // The schemas the binary validates against, so editors check exactly the same rules.
        let schemas = (root as NSString).appendingPathComponent("schemas")
        try fm.createDirectory(atPath: schemas, withIntermediateDirectories: true)
        for (file, text) in EmbeddedSchemas.byFile.sorted(by: { $0.key < $1.key }) {
            try text.write(toFile: (schemas as NSString).appendingPathComponent(file), atomically: true, encoding: .utf8)
        }
        let depth = String(repeating: "../", count: path.split(separator: "/").count + 1)
        let files: [(String, String)] = [
            ("base/datasets.yaml", """
                # yaml-language-server: $schema=\(depth)schemas/dataset.schema.json
                # A base holds resources only; environments inherit them with spec.extends.
                apiVersion: trueup/v1
                kind: Dataset
                metadata:
                  name: example
                spec:
                  uri: file:///srv/data/example.csv
                  sha256: "0000000000000000000000000000000000000000000000000000000000000000"

                """),
            ("dev/environment.yaml", """
                # yaml-language-server: $schema=\(depth)schemas/environment.schema.json
                apiVersion: trueup/v1
                kind: Environment
                metadata:
                  name: dev
                spec:
                  extends: [base]
                  sync: auto
                  selfHeal: true
                  prune: false
                  interval: 10m
                  variables: {}

                """),
        ]
        for (relative, text) in files {
            let file = (environments as NSString).appendingPathComponent(relative)
            try fm.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: file, atomically: true, encoding: .utf8)
        }
        print("created \(path)/base, \(path)/dev and schemas/ in \(root)")
        print("next: edit them, then `trueup validate --worktree`, commit, and `trueup plan --env dev`")
    }
}
