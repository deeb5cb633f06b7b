import ArgumentParser
import Foundation
import TrueupCore
import TrueupGit

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Scaffold environments/ (a base and a dev environment) and schemas/ in a repository."
    )

    // Optional, so the help states the default once, in words, rather than as ".".
    @Option(name: .customLong("repo"), help: "The git repository, or any folder inside it (default: the repository enclosing the current folder).")
    var repoOption: String?

    var repo: String { repoOption ?? "." }

    @Option(name: .long, help: "The folder to create for environments.")
    var path: String = "environments"

    static let dataPath = "data/example.csv"
    static let jobFolder = "jobs/count-rows"

    static let exampleData = """
        id,value
        1,0.5
        2,0.7
        3,0.9

        """

    static let jobScript = """
        # Counts the rows of the example dataset and reports them as a metric.
        rows=$(($(wc -l < "$TRUEUP_INPUT_EXAMPLE") - 1))
        echo "{\\"rows\\": $rows}" > "$TRUEUP_OUTPUT_DIR/metrics.json"
        echo "counted $rows rows"

        """

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
        // The example's data lives in the repository, pinned by its real hash, so the first
        // commit validates, plans and applies on the local backend with nothing else to set up.
        let data = (root as NSString).appendingPathComponent(Self.dataPath)
        if !fm.fileExists(atPath: data) {
            try fm.createDirectory(atPath: (data as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Self.exampleData.write(toFile: data, atomically: true, encoding: .utf8)
        }
        guard let bytes = fm.contents(atPath: data) else {
            note("error: cannot read \(data): check its permissions")
            throw ExitCode(1)
        }
        let script = (root as NSString).appendingPathComponent(Self.jobFolder + "/count.sh")
        if !fm.fileExists(atPath: script) {
            try fm.createDirectory(atPath: (script as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Self.jobScript.write(toFile: script, atomically: true, encoding: .utf8)
        }
        let files: [(String, String)] = [
            ("base/datasets.yaml", """
                # yaml-language-server: $schema=\(depth)schemas/dataset.schema.json
                # A base holds resources only; environments inherit them with spec.extends.
                apiVersion: trueup/v1
                kind: Dataset
                metadata:
                  name: example
                spec:
                  # A file of this repository, pinned by its content hash: edit the file, then
                  # update the hash (sha256sum \(Self.dataPath)), or drop sha256 to follow the file.
                  path: \(Self.dataPath)
                  sha256: "\(ContentDigest.sha256(bytes))"

                """),
            ("base/jobs.yaml", """
                # yaml-language-server: $schema=\(depth)schemas/job.schema.json
                # A job runs when its code or its inputs change; its metrics.json is kept with the run.
                apiVersion: trueup/v1
                kind: Job
                metadata:
                  name: count-rows
                spec:
                  code: \(Self.jobFolder)
                  command: [sh, count.sh]
                  inputs:
                    datasets: [example]

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
        // The state folder (.trueup/ by default) is not part of what is committed.
        let ignore = (root as NSString).appendingPathComponent(".gitignore")
        let ignored = (try? String(contentsOfFile: ignore, encoding: .utf8)) ?? ""
        if !ignored.split(separator: "\n").contains(where: { $0 == ".trueup/" || $0 == ".trueup" || $0 == "/.trueup/" }) {
            try (ignored + (ignored.isEmpty || ignored.hasSuffix("\n") ? "" : "\n") + ".trueup/\n").write(toFile: ignore, atomically: true, encoding: .utf8)
        }
        let flags = CommandHints.flags(repo: repo, path: path, stateDir: nil)
        print("created \(path)/base, \(path)/dev, \(Self.dataPath), \(Self.jobFolder)/ and schemas/ in \(root)")
        print("next: `trueup validate --worktree\(flags)`, commit (git add -A && git commit -m 'trueup init'), then `trueup plan --env dev\(flags)` and `trueup apply --env dev\(flags)`")
    }
}
