import Foundation
import Testing
import TrueupCore
import TrueupEngine

/// A repository holding Corpus/minimal/: environment `dev` with Dataset/customers, Job/train,
/// Model/churn and Deployment/api.
private func minimalRepository() throws -> TestRepository {
    let repository = try TestRepository()
    try repository.copy(from: SourceTree.corpus.appendingPathComponent("minimal"))
    return repository
}

private let jobHeader = "apiVersion: trueup/v1\nkind: Job\nmetadata:\n  name: train\nspec:\n"

struct RepositoryExampleTests {
    @Test func theRepositorysOwnEnvironmentsValidateInAFreshRepository() throws {
        let repository = try TestRepository()
        for folder in ["environments", "examples", "schemas"] {
            try repository.copy(from: SourceTree.root.appendingPathComponent(folder), into: folder)
        }
        try repository.commit("example")
        let state = try repository.load()
        #expect(state.diagnostics.map(\.description) == [])
        #expect(state.environments.keys.sorted() == ["dev", "prod", "staging"])

        // Overlays and variables did their work: the values each environment ends up with.
        let prod = try #require(state.environments["prod"])
        let model = try #require(prod.resources[ResourceID(.model, "churn-classifier")])
        #expect(model.spec["version"] == .string("3"))
        #expect(model.spec["fromJob"] == nil)
        #expect(model.spec["gates"]?.arrayValue?.count == 1)
        #expect(prod.resources[ResourceID(.deployment, "churn-api")]?.spec["config"]?["threshold"] == .number(0.6))
        #expect(state.environments["staging"]?.resources[ResourceID(.deployment, "churn-api")]?.spec["health"]?["timeout"] == .string("60s"))
        #expect(state.environments["staging"]?.resources[ResourceID(.deployment, "churn-api")]?.spec["health"]?["path"] == .string("/healthz"), "deep merge keeps the base's path")
        let train = try #require(state.environments["dev"]?.resources[ResourceID(.job, "train-churn")])
        #expect(train.spec["command"] == .array(["python3", "train.py", "--epochs", "50", "--learning-rate", "0.1"].map(JSONValue.string)))
        #expect(prod.settings.windows.count == 1)
        #expect(prod.settings.promotionFrom == "staging")

        // Dependencies come first in every environment's order.
        let order = try #require(state.environments["dev"]?.order)
        for (index, id) in order.enumerated() {
            for dependency in state.environments["dev"]!.resources[id]!.dependencies {
                #expect(order.firstIndex(of: dependency)! < index, "\(dependency) must come before \(id)")
            }
        }
    }
}

struct RevisionTests {
    @Test func anOlderCommitIsReadNotTheWorkingTree() throws {
        let repository = try minimalRepository()
        let first = try repository.commit("valid")
        try repository.write("environments/dev/train.yaml", jobHeader + "  code: src\n  command: [python3, train.py]\n  retries: many\n")
        let second = try repository.commit("broken")
        // The working tree moves on again: neither commit may see this.
        try repository.write("environments/dev/train.yaml", jobHeader + "  code: nowhere\n")

        #expect(try repository.validationLines(revision: first) == [])
        #expect(try repository.validationLines(revision: "HEAD~1") == [])
        let broken = ["environments/dev/train.yaml:8:12: expected an integer, got 'many' (spec.retries, environment dev)"]
        #expect(try repository.validationLines(revision: second) == broken)
        #expect(try repository.validationLines(revision: "main") == broken)
        #expect(try repository.load(revision: first).revision.commit == first)
    }

    @Test func worktreeSeesUncommittedEdits() throws {
        let repository = try minimalRepository()
        try repository.commit()
        try repository.write("environments/dev/model.yaml", "apiVersion: trueup/v1\nkind: Model\nmetadata:\n  name: churn\nspec:\n  fromJob: train\n  version: \"2\"\n")
        try repository.write("environments/dev/extra.yaml", "apiVersion: trueup/v1\nkind: Job\nmetadata:\n  name: extra\nspec:\n  code: src\n  command: [x]\n")

        #expect(try repository.validationLines() == [])
        let worktree = try repository.load(worktree: true)
        #expect(worktree.revision.commit == "worktree")
        #expect(worktree.diagnostics.map(\.description) == [
            "environments/dev/model.yaml:6:12: Model/churn: needs exactly one source, but has spec.version and spec.fromJob: keep one (spec.fromJob, environment dev)",
        ])
        #expect(try repository.load().environments["dev"]?.resources[ResourceID(.job, "extra")] == nil)
    }

    @Test func pathsAreCheckedAgainstTheSameRevisionAsTheSpecs() throws {
        let repository = try minimalRepository()
        try repository.write("environments/dev/train.yaml", jobHeader + "  code: src/new\n  command: [python3, new.py]\n")
        let commit = try repository.commit()
        try repository.write("src/new/new.py", "print('new')\n")

        #expect(try repository.validationLines() == [
            "environments/dev/train.yaml:6:9: Job/train: 'src/new' does not exist at commit \(commit.prefix(12)): commit it or fix the path (spec.code, environment dev)",
        ])
        #expect(try repository.validationLines(worktree: true) == [])
    }

    @Test func datasetContentIsVerifiedAtTheRevision() throws {
        let repository = try minimalRepository()
        try repository.commit()
        try repository.write("data/customers.csv", "id,churned\n1,1\n")

        #expect(try repository.validationLines() == [])
        let lines = try repository.validationLines(worktree: true)
        #expect(lines.count == 1)
        #expect(lines.first?.hasPrefix("environments/dev/customers.yaml:7:11: Dataset/customers: 'data/customers.csv' has sha256 ") == true)
        #expect(lines.first?.contains(" in the working tree, not the pinned ") == true)
    }

    @Test func unknownRevisionIsAnErrorNotAnEmptyState() throws {
        let repository = try minimalRepository()
        try repository.commit()
        #expect(throws: (any Error).self) { try repository.load(revision: "no-such-branch") }
    }

    @Test func emptySpecFolderIsReported() throws {
        let repository = try TestRepository()
        try repository.write("README.md", "nothing here\n")
        try repository.commit()
        let state = try repository.load()
        #expect(!state.isValid)
        #expect(state.diagnostics.first?.message.hasPrefix("no spec files under 'environments/'") == true)
    }

    @Test func aReusedLoaderReadsEachRevisionCorrectly() throws {
        // The loader caches parsed files by blob id: the same blob at another path, or in another
        // revision, must still be reported under its own path.
        let repository = try minimalRepository()
        let first = try repository.commit()
        let job = try String(decoding: repository.read("environments/dev/train.yaml"), as: UTF8.self)
        try repository.write("environments/dev/copy.yaml", job)
        let second = try repository.commit()

        let loader = SpecLoader()
        let source = { (revision: String) in SpecSource(repositoryPath: repository.path, revision: revision) }
        #expect(try loader.load(source(first)).diagnostics.isEmpty)
        #expect(try loader.load(source(second)).diagnostics.map(\.description) == [
            "environments/dev/train.yaml:4:9: Job/train is declared twice in environments/dev/ (first at environments/dev/copy.yaml:1:1): remove one or rename it (metadata.name)",
        ])
        #expect(try loader.load(source(first)).diagnostics.isEmpty)
    }
}

struct SymlinkTests {
    @Test(arguments: [
        ("environments/dev/link.yaml", "train.yaml"),
        ("environments/dev/shared", "../../src"),
        ("environments/dev/outside.yaml", "/etc/hostname"),
    ])
    func symlinksInTheSpecTreeAreRefused(_ link: String, _ target: String) throws {
        let repository = try minimalRepository()
        try repository.symlink(link, to: target)
        try repository.commit()
        for worktree in [false, true] {
            let state = try repository.load(worktree: worktree)
            #expect(state.diagnostics.map(\.description) == [
                "\(link):1:1: symlink in the spec tree is refused: replace it with the real file or folder",
            ])
            #expect(state.environments.isEmpty)
        }
    }
}

struct RepositoryPathTests {
    /// A resource of each kind with a repository-path field, as a function of that field's value.
    static let fields: [(file: String, document: @Sendable (String) -> String, field: String, line: Int, column: Int)] = [
        ("environments/dev/train.yaml", { jobHeader + "  code: \($0)\n  command: [python3, train.py]\n" }, "spec.code", 6, 9),
        ("environments/dev/customers.yaml", {
            "apiVersion: trueup/v1\nkind: Dataset\nmetadata:\n  name: customers\nspec:\n  path: \($0)\n"
        }, "spec.path", 6, 9),
        ("environments/dev/prompt.yaml", {
            "apiVersion: trueup/v1\nkind: Prompt\nmetadata:\n  name: answer\nspec:\n  templateFile: \($0)\n"
        }, "spec.templateFile", 6, 17),
    ]

    /// A bad value, what to create in the repository before and after committing, and the
    /// message (`<commit>` stands for the short commit id).
    struct Problem: Sendable {
        var value: String
        var committed: @Sendable (TestRepository) throws -> Void = { _ in }
        var uncommitted: @Sendable (TestRepository) throws -> Void = { _ in }
        var message: String
    }

    static let problems: [Problem] = [
        Problem(value: "/etc/passwd", message: "'/etc/passwd' is absolute: give a path relative to the repository root"),
        Problem(value: "~/data.csv", message: "'~/data.csv' is absolute: give a path relative to the repository root"),
        Problem(value: "src/../../outside",
                message: "'src/../../outside' contains '..': paths must stay inside the repository; give it relative to the repository root"),
        Problem(value: "src/..", message: "'src/..' contains '..': paths must stay inside the repository; give it relative to the repository root"),
        Problem(value: "linked/file.txt", committed: { try $0.symlink("linked", to: "src") },
                message: "'linked/file.txt' goes through the symlink 'linked': symlinks are refused, use the real path"),
        Problem(value: "src/link", committed: { try $0.symlink("src/link", to: "/etc") },
                message: "'src/link' is a symlink: symlinks are refused, use the real path"),
        // Only in the working tree: a commit must not see it.
        Problem(value: "later/file.txt", uncommitted: { try $0.write("later/file.txt", "not committed\n") },
                message: "'later/file.txt' does not exist at commit <commit>: commit it or fix the path"),
        Problem(value: ".", message: "'.' names the repository root: name a folder or file in it"),
    ]

    static var cases: [(Int, Int)] {
        fields.indices.flatMap { f in problems.indices.map { (f, $0) } }
    }

    @Test(arguments: cases)
    func badRepositoryPathsAreRefused(_ fieldIndex: Int, _ problemIndex: Int) throws {
        let field = Self.fields[fieldIndex]
        let problem = Self.problems[problemIndex]
        let repository = try minimalRepository()
        try repository.write(field.file, field.document(problem.value))
        try problem.committed(repository)
        let commit = try repository.commit()
        try problem.uncommitted(repository)

        let kind = field.file.contains("train") ? "Job/train" : field.file.contains("customers") ? "Dataset/customers" : "Prompt/answer"
        let message = problem.message.replacingOccurrences(of: "<commit>", with: String(commit.prefix(12)))
        let state = try repository.load()
        #expect(state.diagnostics.map(\.description) == [
            "\(field.file):\(field.line):\(field.column): \(kind): \(message) (\(field.field), environment dev)",
        ])
    }

    @Test func symlinksCommittedInTheCodeTreeAreRefusedToo() throws {
        let repository = try minimalRepository()
        try repository.symlink("code", to: "src")
        try repository.write("environments/dev/train.yaml", jobHeader + "  code: code\n  command: [python3, train.py]\n")
        try repository.commit()
        for worktree in [false, true] {
            #expect(try repository.validationLines(worktree: worktree) == [
                "environments/dev/train.yaml:6:9: Job/train: 'code' is a symlink: symlinks are refused, use the real path (spec.code, environment dev)",
            ])
        }
    }
}

struct ConsistencyTests {
    @Test func extendsCycleIsReported() throws {
        let repository = try minimalRepository()
        try repository.write("environments/a/environment.yaml", "apiVersion: trueup/v1\nkind: Environment\nmetadata: {name: a}\nspec:\n  extends: [b]\n")
        try repository.write("environments/b/environment.yaml", "apiVersion: trueup/v1\nkind: Environment\nmetadata: {name: b}\nspec:\n  extends: [dev, a]\n")
        try repository.commit()
        let state = try repository.load()
        #expect(state.diagnostics.map(\.description) == [
            "environments/b/environment.yaml:5:18: extends cycle: a -> b -> a: remove one of these extends (spec.extends[1])",
        ])
        #expect(state.environments.keys.sorted() == ["dev"])
    }

    @Test func unknownExtendsIsReportedWithASuggestion() throws {
        let repository = try minimalRepository()
        try repository.write("environments/prod/environment.yaml", "apiVersion: trueup/v1\nkind: Environment\nmetadata: {name: prod}\nspec:\n  extends: [deev]\n")
        try repository.commit()
        #expect(try repository.validationLines() == [
            "environments/prod/environment.yaml:5:13: extends unknown folder 'deev': did you mean 'dev'? (spec.extends[0])",
        ])
    }

    @Test func duplicateIdentityInOneFileIsReported() throws {
        let repository = try minimalRepository()
        let job = try String(decoding: repository.read("environments/dev/train.yaml"), as: UTF8.self)
        try repository.write("environments/dev/train.yaml", job + "---\n" + job)
        try repository.commit()
        #expect(try repository.validationLines() == [
            "environments/dev/train.yaml:15:9: Job/train is declared twice in environments/dev/ (first at environments/dev/train.yaml:1:1): remove one or rename it (metadata.name)",
        ])
    }

    @Test func sameNameInDifferentKindsIsNotADuplicate() throws {
        let repository = try minimalRepository()
        try repository.write("environments/dev/more.yaml", "apiVersion: trueup/v1\nkind: Prompt\nmetadata: {name: train}\nspec: {template: hi}\n")
        try repository.commit()
        #expect(try repository.validationLines() == [])
    }

    @Test func danglingReferenceIsReported() throws {
        let repository = try minimalRepository()
        try repository.write("environments/dev/model.yaml", "apiVersion: trueup/v1\nkind: Model\nmetadata: {name: churn}\nspec:\n  fromJob: trian\n")
        try repository.commit()
        #expect(try repository.validationLines() == [
            "environments/dev/model.yaml:5:12: Model/churn: refers to Job/trian, which is not defined in this environment: did you mean 'train'? (spec.fromJob, environment dev)",
        ])
    }

    @Test func dependencyCycleIsReported() throws {
        let repository = try minimalRepository()
        try repository.write("environments/dev/customers.yaml", "apiVersion: trueup/v1\nkind: Dataset\nmetadata: {name: customers}\nspec:\n  fromJob: train\n")
        try repository.commit()
        let state = try repository.load()
        #expect(state.diagnostics.map(\.description) == [
            "environments/dev/customers.yaml:5:12: dependency cycle: Dataset/customers -> Job/train -> Dataset/customers: break it by removing one of these references (spec.fromJob, environment dev)",
        ])
        #expect(state.environments.isEmpty)
    }
}

struct SeveralEnvironmentsTests {
    /// dev (valid) and prod (broken), both extending the base `shared`.
    private func twoEnvironments() throws -> TestRepository {
        let repository = try minimalRepository()
        try repository.write("environments/shared/report.yaml", jobHeader.replacingOccurrences(of: "train", with: "report")
            + "  code: src\n  command: [python3, report.py, \"${vars.format}\"]\n")
        try repository.write("environments/dev/environment.yaml",
            "apiVersion: trueup/v1\nkind: Environment\nmetadata: {name: dev}\nspec:\n  extends: [shared]\n  variables: {epochs: 1, format: csv}\n")
        try repository.write("environments/prod/environment.yaml",
            "apiVersion: trueup/v1\nkind: Environment\nmetadata: {name: prod}\nspec:\n  extends: [shared, dev]\n  variables: {epochs: 2}\n")
        try repository.commit()
        return repository
    }

    @Test func aBrokenEnvironmentDoesNotHideAValidOne() throws {
        let state = try twoEnvironments().load()
        #expect(state.diagnostics.map(\.description) == [
            "environments/shared/report.yaml:7:33: undefined variable 'format' in environment 'prod': define it under spec.variables in environments/prod/environment.yaml (spec.command[2], environment prod)",
        ])
        #expect(state.environments.keys.sorted() == ["dev"])
        #expect(state.environments["dev"]?.resources[ResourceID(.job, "report")]?.spec["command"]?.arrayValue?.last == .string("csv"))
        #expect(state.environments["dev"]?.resources.count == 5)
    }

    @Test func onlyTheNamedEnvironmentIsBuilt() throws {
        let repository = try twoEnvironments()
        let dev = try repository.load(only: "dev")
        #expect(dev.diagnostics.isEmpty)
        #expect(dev.environments.keys.sorted() == ["dev"])
        #expect(try repository.load(only: "prod").environments.isEmpty)
    }

    @Test func anEnvironmentIsLoadedWithoutTheFoldersItDoesNotExtend() throws {
        let repository = try twoEnvironments()
        try repository.write("environments/prod/broken.yaml", "kind: [\n")
        try repository.commit()
        #expect(try repository.load(only: "dev").diagnostics.isEmpty, "prod's folder is not read for dev")
        #expect(try repository.load(only: "dev").environments["dev"]?.resources.count == 5)
        let whole = try repository.load()
        #expect(whole.diagnostics.contains { $0.location?.file == "environments/prod/broken.yaml" }, "\(whole.diagnostics)")
    }

    @Test func aProblemInASharedBaseIsReportedOnceForEveryEnvironment() throws {
        let repository = try twoEnvironments()
        try repository.write("environments/shared/report.yaml", jobHeader.replacingOccurrences(of: "train", with: "report")
            + "  code: src\n  command: [python3, report.py]\n  retries: -1\n")
        try repository.commit()
        #expect(try repository.validationLines() == [
            "environments/shared/report.yaml:8:12: -1 is below the minimum 0 (spec.retries, environments dev, prod)",
        ])
    }

    @Test func eachEnvironmentResolvesItsOwnVariables() throws {
        let repository = try twoEnvironments()
        try repository.write("environments/prod/environment.yaml",
            "apiVersion: trueup/v1\nkind: Environment\nmetadata: {name: prod}\nspec:\n  extends: [shared, dev]\n  variables: {epochs: 2, format: parquet}\n")
        try repository.commit()
        let state = try repository.load()
        #expect(state.diagnostics.isEmpty)
        let train = ResourceID(.job, "train")
        #expect(state.environments["dev"]?.resources[train]?.spec["command"]?.arrayValue?[3] == .string("1"))
        #expect(state.environments["prod"]?.resources[train]?.spec["command"]?.arrayValue?[3] == .string("2"))
        let report = ResourceID(.job, "report")
        #expect(state.environments["prod"]?.resources[report]?.spec["command"]?.arrayValue?.last == .string("parquet"))
    }
}

/// A base shared by three environments is validated once for all of them where nothing of an
/// environment goes into it; what does (variables, the serving backend) is validated in each.
struct SharedBaseTests {
    private func environment(_ name: String, retries: String, serving: String) -> String {
        """
        apiVersion: trueup/v1
        kind: Environment
        metadata:
          name: \(name)
        spec:
          extends: [base]
          backends:
            serving: \(serving)
        \(serving.contains("ray") ? "  artifacts: {type: path, path: /mnt/shared/trueup}\n" : "")  variables:
            retries: \(retries)
        """
    }

    /// Broken: an unknown field in the base (every environment's error), retries that are not a
    /// number in staging only, and no importPath for prod's ray serving.
    private func repository(broken: Bool) throws -> TestRepository {
        let repository = try TestRepository()
        try repository.write("src/serve.py", "app = None\n")
        try repository.write("environments/dev/environment.yaml", environment("dev", retries: "1", serving: "{type: local}"))
        try repository.write("environments/staging/environment.yaml", environment("staging", retries: broken ? "many" : "3", serving: "{type: local}"))
        try repository.write("environments/prod/environment.yaml",
                             environment("prod", retries: "2", serving: "{type: ray, url: \"http://127.0.0.1:8265\"}"))
        try repository.write("environments/base/resources.yaml", """
            apiVersion: trueup/v1
            kind: Dataset
            metadata:
              name: events
            spec:
              uri: s3://bucket/events.parquet
              sha256: \(String(repeating: "a", count: 64))
              \(broken ? "colour: red" : "description: Raw events.")
            ---
            apiVersion: trueup/v1
            kind: Job
            metadata:
              name: train
            spec:
              code: src
              command: [python3, train.py]
              retries: ${vars.retries}
            ---
            apiVersion: trueup/v1
            kind: Model
            metadata:
              name: churn
            spec:
              version: "1"
            ---
            apiVersion: trueup/v1
            kind: Deployment
            metadata:
              name: api
            spec:
              model: churn
              code: src
              command: [python3, serve.py]
              \(broken ? "replicas: 1" : "importPath: serve:app")
            """)
        try repository.commit()
        return repository
    }

    @Test func eachEnvironmentGetsTheErrorsThatAreItsOwn() throws {
        let lines = try repository(broken: true).validationLines()
        #expect(lines == [
            "environments/base/resources.yaml:8:3: unknown field 'colour': remove it; the fields allowed here are dependsOn, description, fromJob, path, sha256, uri, validate (spec.colour, environments dev, prod, staging)",
            "environments/base/resources.yaml:17:12: expected an integer, got 'many' (spec.retries, environment staging)",
            "environments/base/resources.yaml:31:3: Deployment/api: serving runs on ray in this environment, which needs spec.importPath (module:app): add it (spec, environment prod)",
        ])
    }

    @Test func aResourceValidatedOnceBelongsToEachEnvironment() throws {
        let state = try repository(broken: false).load()
        #expect(state.diagnostics.map(\.description) == [])
        for (name, retries) in [("dev", 1), ("staging", 3), ("prod", 2)] {
            let resources = try #require(state.environments[name]).resources
            for id in [ResourceID(.dataset, "events"), ResourceID(.model, "churn"), ResourceID(.deployment, "api"), ResourceID(.job, "train")] {
                #expect(resources[id]?.environment == name, "\(id) in \(name)")
            }
            #expect(resources[ResourceID(.job, "train")]?.spec["retries"] == .integer(Int64(retries)))
        }
    }
}

struct LargeRepositoryTests {
    /// Enough declarations that folders are collected and environments merged on every core:
    /// an environment that extends another must still see that one's overrides, and each
    /// environment only its own.
    @Test func environmentsMergedInParallelKeepEachOnesOverrides() throws {
        let repository = try TestRepository()
        let models = (0..<300).map { "apiVersion: trueup/v1\nkind: Model\nmetadata: {name: m-\($0)}\nspec:\n  version: \"1\"\n" }
        try repository.write("environments/base/models.yaml", models.joined(separator: "---\n"))
        func environment(_ name: String, extends parent: String) -> String {
            "apiVersion: trueup/v1\nkind: Environment\nmetadata: {name: \(name)}\nspec:\n  extends: [\(parent)]\n"
        }
        func override(_ model: String, version: String) -> String {
            "apiVersion: trueup/v1\nkind: Model\nmetadata: {name: \(model)}\nspec:\n  version: \"\(version)\"\n"
        }
        try repository.write("environments/dev/environment.yaml", environment("dev", extends: "base"))
        try repository.write("environments/staging/environment.yaml", environment("staging", extends: "base"))
        try repository.write("environments/staging/overrides.yaml", override("m-0", version: "2"))
        try repository.write("environments/prod/environment.yaml", environment("prod", extends: "staging"))
        try repository.write("environments/prod/overrides.yaml", override("m-1", version: "3"))
        try repository.commit()
        let state = try repository.load()
        #expect(state.diagnostics.map(\.description) == [])
        func version(_ environment: String, _ model: String) -> JSONValue? {
            state.environments[environment]?.resources[ResourceID(.model, model)]?.spec["version"]
        }
        for name in ["dev", "staging", "prod"] { #expect(state.environments[name]?.resources.count == 300, "\(name)") }
        #expect(version("dev", "m-0") == .string("1"))
        #expect(version("dev", "m-1") == .string("1"))
        #expect(version("staging", "m-0") == .string("2"))
        #expect(version("staging", "m-1") == .string("1"))
        #expect(version("prod", "m-0") == .string("2"))
        #expect(version("prod", "m-1") == .string("3"))
        #expect(version("prod", "m-299") == .string("1"))
    }
}
