import Foundation
import Testing
import TrueupCore
import TrueupEngine

/// Each kind's spec, decoded once when the specs load: the values and defaults the planner and
/// the executor act on, as a user writes the YAML.
struct TypedSpecDefaultsTests {
    /// Corpus/minimal/ plus `files`, committed and loaded; the environment `dev`.
    static func dev(_ files: [String: String] = [:]) throws -> DesiredEnvironment {
        let repository = try TestRepository()
        try repository.copy(from: SourceTree.corpus.appendingPathComponent("minimal"))
        for (path, text) in files { try repository.write(path, text) }
        try repository.commit()
        let state = try repository.load()
        #expect(state.diagnostics.map(\.description) == [])
        return try #require(state.environments["dev"])
    }

    static func document(_ kind: String, _ name: String, _ spec: String) -> String {
        "apiVersion: trueup/v1\nkind: \(kind)\nmetadata:\n  name: \(name)\nspec:\n" + spec
    }

    @Test func aDatasetHasOneSourceAndNoValidationUnlessGiven() throws {
        let dev = try Self.dev(["environments/dev/derived.yaml": Self.document("Dataset", "derived", "  fromJob: train\n")])
        let derived = try #require(dev.resources[ResourceID(.dataset, "derived")]?.dataset)
        #expect(derived.source == .fromJob("train"))
        #expect(derived.sha256 == nil && derived.validate == nil)
        #expect(dev.resources[ResourceID(.dataset, "derived")]?.dependencies == [ResourceID(.job, "train")])
        let customers = try #require(dev.resources[ResourceID(.dataset, "customers")]?.dataset)
        #expect(customers.source == .path("data/customers.csv"))
    }

    @Test func aJobRunsOnChangeForAnHourWithoutRetriesUnlessGiven() throws {
        let dev = try Self.dev(["environments/dev/plain.yaml": Self.document("Job", "plain", "  code: src\n  command: [python3, train.py]\n")])
        let plain = try #require(dev.resources[ResourceID(.job, "plain")]?.job)
        #expect(plain.trigger == .onChange)
        #expect(plain.timeoutSeconds == 3600)
        #expect(plain.retries == 0)
        #expect(plain.env == [:] && plain.inputs == [] && plain.resources == nil)
        // The minimal job sets its own timeout and inputs; variables are substituted before decoding.
        let train = try #require(dev.resources[ResourceID(.job, "train")]?.job)
        #expect(train.timeoutSeconds == 600)
        #expect(train.inputs == [ResourceID(.dataset, "customers")])
        #expect(train.command == ["python3", "train.py", "--epochs", "10"])
    }

    @Test func aModelIsNamedAfterItselfAndMovesTheEnvironmentsAliasUnlessGiven() throws {
        let dev = try Self.dev(["environments/dev/named.yaml": Self.document("Model", "named", "  version: \"4\"\n  registryName: shared-churn\n  alias: champion\n")])
        let churn = try #require(dev.resources[ResourceID(.model, "churn")])
        #expect(churn.model?.source == .fromJob("train"))
        #expect(churn.registryName == "churn")
        #expect(churn.alias == "dev")
        #expect(churn.model?.gates == [])
        let named = try #require(dev.resources[ResourceID(.model, "named")])
        #expect(named.registryName == "shared-churn")
        #expect(named.alias == "champion")
        #expect(named.model?.source == .version("4"))
    }

    @Test func aPromptIsTextNamedAfterItselfAndMovesTheEnvironmentsAliasUnlessGiven() throws {
        let dev = try Self.dev([
            "environments/dev/greet.yaml": Self.document("Prompt", "greet", "  template: \"Hello {name}\"\n"),
            "environments/dev/chat.yaml": Self.document("Prompt", "chat", "  template: hi\n  type: chat\n  modelConfig: {temperature: 0.2}\n  alias: live\n"),
        ])
        let greet = try #require(dev.resources[ResourceID(.prompt, "greet")])
        #expect(greet.prompt?.type == .text)
        #expect(greet.prompt?.registeredConfig == .object(["type": .string("text")]))
        #expect(greet.registryName == "greet" && greet.alias == "dev")
        let chat = try #require(dev.resources[ResourceID(.prompt, "chat")])
        #expect(chat.prompt?.registeredConfig == .object(["type": .string("chat"), "temperature": .number(0.2)]))
        #expect(chat.alias == "live")
    }

    @Test func aDeploymentRunsOneReplicaCheckedOnHealthzFor30SecondsUnlessGiven() throws {
        let dev = try Self.dev(["environments/dev/tuned.yaml": Self.document("Deployment", "tuned",
            "  model: churn\n  code: src/serve\n  command: [python3, serve.py]\n  replicas: 1\n  health: {path: /ready, timeout: 2m}\n  config: {threshold: 0.5}\n")])
        let api = try #require(dev.resources[ResourceID(.deployment, "api")]?.deployment)
        #expect(api.replicas == 1)
        #expect(api.health.path == "/healthz")
        #expect(api.health.timeoutSeconds == 30)
        #expect(api.config == .object([:]))
        #expect(api.serves == ResourceID(.model, "churn"))
        let tuned = try #require(dev.resources[ResourceID(.deployment, "tuned")]?.deployment)
        #expect(tuned.replicas == 1, "local serving runs one process per deployment (more is refused at validate)")
        #expect(tuned.health.path == "/ready")
        #expect(tuned.health.timeoutSeconds == 120)
        #expect(tuned.config == .object(["threshold": .number(0.5)]))
    }

    @Test func anEnvironmentIsManualLocalAndChecksEveryTenMinutesUnlessGiven() throws {
        let dev = try Self.dev(["environments/dev/environment.yaml": Self.document("Environment", "dev", "  variables:\n    epochs: 10\n")])
        let settings = dev.settings
        #expect(settings.sync == .manual)
        #expect(settings.interval == 600)
        #expect(!settings.prune && !settings.selfHeal)
        #expect(settings.registry == .local && settings.jobs == .local && settings.serving == .local && settings.data == .local)
        #expect(settings.artifacts == nil)
        #expect(settings.promotionFrom == nil && settings.windows.isEmpty)
    }
}

/// `spec.artifacts` of an Environment: where job outputs and model files are kept.
struct ArtifactSettingsTests {
    static func lines(_ artifacts: String) throws -> (lines: [String], settings: EnvironmentSettings?) {
        let repository = try TestRepository()
        try repository.copy(from: SourceTree.corpus.appendingPathComponent("minimal"))
        try repository.write("environments/dev/environment.yaml", TypedSpecDefaultsTests.document("Environment", "dev", "  variables:\n    epochs: 10\n  artifacts:\n" + artifacts))
        try repository.commit()
        let state = try repository.load()
        return (state.diagnostics.map(\.description), state.environments["dev"]?.settings)
    }

    @Test func aPathStoreKeepsItsDirectory() throws {
        let (lines, settings) = try Self.lines("    type: path\n    path: /srv/trueup/artifacts\n")
        #expect(lines == [])
        #expect(settings?.artifacts == EnvironmentSettings.Artifacts(type: .path, path: "/srv/trueup/artifacts"))
        let (localLines, local) = try Self.lines("    type: local\n")
        #expect(localLines == [])
        #expect(local?.artifacts == EnvironmentSettings.Artifacts(type: .local))
    }

    @Test func anUnknownTypeNamesTheFieldAndTheKnownTypes() throws {
        let (lines, settings) = try Self.lines("    type: s3\n")
        #expect(settings == nil)
        #expect(lines == ["environments/dev/environment.yaml:9:11: 's3' is not allowed here: use one of local, path, mlflow (spec.artifacts.type)"])
    }

    @Test func aPathStoreNeedsAnAbsoluteDirectory() throws {
        let (missing, _) = try Self.lines("    type: path\n")
        #expect(missing == ["environments/dev/environment.yaml:9:5: an artifact store of type path needs spec.artifacts.path, an absolute directory: add it, e.g. path: /srv/trueup/artifacts (spec.artifacts)"])
        let (relative, settings) = try Self.lines("    type: path\n    path: artifacts\n")
        #expect(settings == nil)
        #expect(relative.count == 1)
        #expect(relative.first?.contains("(spec.artifacts.path)") == true)
        let (local, _) = try Self.lines("    type: local\n    path: /srv/x\n")
        #expect(local == ["environments/dev/environment.yaml:10:11: the local artifact store lives in the state directory and takes no path: remove spec.artifacts.path, or set type: path to keep artifacts there (spec.artifacts.path)"])
    }
}

/// An error an overlay causes by merging onto a base points at the overlay, where the user made
/// the change, and names the base's half.
struct OverlayErrorLocationTests {
    static func lines(base: String, overlay: String) throws -> [String] {
        let repository = try TestRepository()
        try repository.copy(from: SourceTree.corpus.appendingPathComponent("minimal"))
        try repository.write("environments/dev/environment.yaml", TypedSpecDefaultsTests.document("Environment", "dev", "  extends: [base]\n  variables:\n    epochs: 10\n"))
        try repository.write("environments/base/model.yaml", TypedSpecDefaultsTests.document("Model", "churn", base))
        try repository.write("environments/dev/model.yaml", TypedSpecDefaultsTests.document("Model", "churn", overlay))
        try repository.commit()
        return try repository.validationLines()
    }

    @Test func aSecondSourceAddedByTheOverlayIsReportedAtTheOverlay() throws {
        // The base's source is listed first among the fields, the overlay's second.
        #expect(try Self.lines(base: "  version: \"3\"\n", overlay: "  fromJob: train\n") == [
            "environments/dev/model.yaml:6:12: Model/churn: needs exactly one source, but this overlay sets spec.fromJob onto a base that has spec.version from environments/base/model.yaml:6: keep one (write spec.version: null here to drop the base's) (spec.fromJob, environment dev)",
        ])
        // And the other way round: the overlay's field comes first in the list, the base's second.
        #expect(try Self.lines(base: "  fromJob: train\n", overlay: "  version: \"3\"\n") == [
            "environments/dev/model.yaml:6:12: Model/churn: needs exactly one source, but this overlay sets spec.version onto a base that has spec.fromJob from environments/base/model.yaml:6: keep one (write spec.fromJob: null here to drop the base's) (spec.version, environment dev)",
        ])
    }

    @Test func theOverlaysNullRemovesTheBasesSource() throws {
        #expect(try Self.lines(base: "  fromJob: train\n", overlay: "  fromJob: null\n  version: \"3\"\n") == [])
    }
}
