import Foundation
import Testing
import TrueupCore

/// A registry backend under test.
struct RegistrySubject: Sendable {
    /// Returns a new client of one and the same registry each time it is called, as a restarted
    /// trueup would open it: checks use several, so what a backend remembers is told apart from
    /// what one client caches.
    var make: @Sendable () async throws -> any RegistryBackend
}

/// What every `RegistryBackend` must do. Written once against the protocol; each backend's test
/// file runs every check (`Check.allCases`) against its own implementation.
enum RegistryConformance {
    enum Check: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case sameIdempotencyKeyGivesSameVersion
        case distinctKeysGiveIncreasingVersions
        case modelAliasesSetMoveAndDelete
        case deletingAMissingAliasIsNotAnError
        case modelTagsMerge
        case taggingAMissingVersionFails
        case observeReturnsOnlyTheAskedNames
        case promptVersionsAreContentAddressed
        case promptAliasesSetMoveAndDelete
        case promptTagsMerge

        var testDescription: String { rawValue }
    }

    static func run(_ check: Check, on subject: RegistrySubject) async throws {
        switch check {
        case .sameIdempotencyKeyGivesSameVersion: try await sameIdempotencyKeyGivesSameVersion(subject)
        case .distinctKeysGiveIncreasingVersions: try await distinctKeysGiveIncreasingVersions(subject)
        case .modelAliasesSetMoveAndDelete: try await modelAliasesSetMoveAndDelete(subject)
        case .deletingAMissingAliasIsNotAnError: try await deletingAMissingAliasIsNotAnError(subject)
        case .modelTagsMerge: try await modelTagsMerge(subject)
        case .taggingAMissingVersionFails: try await taggingAMissingVersionFails(subject)
        case .observeReturnsOnlyTheAskedNames: try await observeReturnsOnlyTheAskedNames(subject)
        case .promptVersionsAreContentAddressed: try await promptVersionsAreContentAddressed(subject)
        case .promptAliasesSetMoveAndDelete: try await promptAliasesSetMoveAndDelete(subject)
        case .promptTagsMerge: try await promptTagsMerge(subject)
        }
    }

    static func runAll(on subject: RegistrySubject) async throws {
        for check in Check.allCases { try await run(check, on: subject) }
    }

    // MARK: - Models

    /// The apply's retry after a crash registers again with the same key: it must get the same
    /// version back, and no second version may appear.
    static func sameIdempotencyKeyGivesSameVersion(_ subject: RegistrySubject) async throws {
        try await ScratchFolder.with { scratch in
            let model = UniqueName.make("model")
            let key = "run-\(UUID().uuidString)"
            let first = try await subject.make().registerModelVersion(
                ModelRegistration(model: model, sourceLocation: try modelFolder(in: scratch, "first"), idempotencyKey: key, tags: ["origin": "first"]))
            // Another client, and even another source: the key alone decides.
            let second = try await subject.make().registerModelVersion(
                ModelRegistration(model: model, sourceLocation: try modelFolder(in: scratch, "second"), idempotencyKey: key, tags: ["origin": "second"]))
            #expect(second.version == first.version)
            #expect(second.model == model)
            #expect(first.tags["origin"] == "first")
            #expect(second.tags["origin"] == "first", "the second registration must return the first version unchanged")

            let observed = try await subject.make().observe(models: [model], prompts: [])
            let versions = try #require(observed.models[model]).versions
            #expect(Array(versions.keys) == [first.version], "exactly one version, not a duplicate")
        }
    }

    static func distinctKeysGiveIncreasingVersions(_ subject: RegistrySubject) async throws {
        try await ScratchFolder.with { scratch in
            let model = UniqueName.make("model")
            var versions: [String] = []
            for index in 1...3 {
                let info = try await subject.make().registerModelVersion(ModelRegistration(
                    model: model, sourceLocation: try modelFolder(in: scratch, "v\(index)"), idempotencyKey: "key-\(index)-\(UUID().uuidString)",
                    tags: ["index": String(index)]))
                #expect(info.model == model)
                #expect(!info.location.isEmpty)
                versions.append(info.version)
            }
            let numbers = try versions.map { try #require(Int($0), "version \($0) is not a number") }
            #expect(numbers == numbers.sorted() && Set(numbers).count == 3, "versions \(versions) must be distinct and increasing")

            let observed = try #require(try await subject.make().observe(models: [model], prompts: []).models[model])
            #expect(Set(observed.versions.keys) == Set(versions))
            for (index, version) in versions.enumerated() {
                #expect(observed.versions[version]?.version == version)
                #expect(observed.versions[version]?.tags["index"] == String(index + 1))
            }
        }
    }

    static func modelAliasesSetMoveAndDelete(_ subject: RegistrySubject) async throws {
        try await ScratchFolder.with { scratch in
            let model = UniqueName.make("model")
            let registry = try await subject.make()
            let v1 = try await registry.registerModelVersion(ModelRegistration(model: model, sourceLocation: try modelFolder(in: scratch, "a"), idempotencyKey: "a-\(UUID())", tags: [:])).version
            let v2 = try await registry.registerModelVersion(ModelRegistration(model: model, sourceLocation: try modelFolder(in: scratch, "b"), idempotencyKey: "b-\(UUID())", tags: [:])).version

            try await registry.setModelAlias(model: model, alias: "champion", version: v1)
            try await registry.setModelAlias(model: model, alias: "challenger", version: v2)
            #expect(try await aliases(of: model, subject) == ["champion": v1, "challenger": v2])

            try await subject.make().setModelAlias(model: model, alias: "champion", version: v2)
            #expect(try await aliases(of: model, subject) == ["champion": v2, "challenger": v2], "the alias moves, no second one appears")

            try await subject.make().deleteModelAlias(model: model, alias: "challenger")
            #expect(try await aliases(of: model, subject) == ["champion": v2])
            let observed = try #require(try await subject.make().observe(models: [model], prompts: []).models[model])
            #expect(Set(observed.versions.keys) == [v1, v2], "deleting an alias keeps its version")
        }
    }

    /// Apply is retried after a crash: deleting what is already gone must succeed, for models and prompts.
    static func deletingAMissingAliasIsNotAnError(_ subject: RegistrySubject) async throws {
        try await ScratchFolder.with { scratch in
            let model = UniqueName.make("model")
            let prompt = UniqueName.make("prompt")
            let registry = try await subject.make()
            let version = try await registry.registerModelVersion(ModelRegistration(model: model, sourceLocation: try modelFolder(in: scratch, "a"), idempotencyKey: "a-\(UUID())", tags: [:])).version
            let promptVersion = try await registry.registerPromptVersion(PromptRegistration(prompt: prompt, template: "Hi {{name}}", config: .object([:]), tags: [:])).version
            try await registry.setModelAlias(model: model, alias: "champion", version: version)
            try await registry.setPromptAlias(prompt: prompt, alias: "live", version: promptVersion)
            try await registry.deleteModelAlias(model: model, alias: "champion")
            try await registry.deleteModelAlias(model: model, alias: "champion")
            try await registry.deletePromptAlias(prompt: prompt, alias: "live")
            try await registry.deletePromptAlias(prompt: prompt, alias: "live")
            let observed = try await subject.make().observe(models: [model], prompts: [prompt])
            #expect(observed.models[model]?.aliases == [:])
            #expect(observed.prompts[prompt]?.aliases == [:])
        }
    }

    static func modelTagsMerge(_ subject: RegistrySubject) async throws {
        try await ScratchFolder.with { scratch in
            let model = UniqueName.make("model")
            let info = try await subject.make().registerModelVersion(ModelRegistration(
                model: model, sourceLocation: try modelFolder(in: scratch, "a"), idempotencyKey: "a-\(UUID())", tags: ["stage": "trained", "owner": "ml"]))
            try await subject.make().tagModelVersion(model: model, version: info.version, tags: ["gate.accuracy": "passed"])
            try await subject.make().tagModelVersion(model: model, version: info.version, tags: ["stage": "gated"])
            let tags = try #require(try await subject.make().observe(models: [model], prompts: []).models[model]?.versions[info.version]).tags
            #expect(tags["stage"] == "gated", "a tag set again takes the new value")
            #expect(tags["owner"] == "ml", "tags not mentioned stay")
            #expect(tags["gate.accuracy"] == "passed")
        }
    }

    static func taggingAMissingVersionFails(_ subject: RegistrySubject) async throws {
        try await ScratchFolder.with { scratch in
            let model = UniqueName.make("model")
            let prompt = UniqueName.make("prompt")
            let registry = try await subject.make()
            _ = try await registry.registerModelVersion(ModelRegistration(model: model, sourceLocation: try modelFolder(in: scratch, "a"), idempotencyKey: "a-\(UUID())", tags: [:]))
            _ = try await registry.registerPromptVersion(PromptRegistration(prompt: prompt, template: "t", config: .object([:]), tags: [:]))
            await #expect(throws: (any Error).self) { try await registry.tagModelVersion(model: model, version: "999", tags: ["x": "y"]) }
            await #expect(throws: (any Error).self) { try await registry.tagPromptVersion(prompt: prompt, version: "999", tags: ["x": "y"]) }
        }
    }

    /// Observe is one query for the environment's names: nothing else comes back.
    static func observeReturnsOnlyTheAskedNames(_ subject: RegistrySubject) async throws {
        try await ScratchFolder.with { scratch in
            let (m1, m2) = (UniqueName.make("model"), UniqueName.make("model"))
            let (p1, p2) = (UniqueName.make("prompt"), UniqueName.make("prompt"))
            let registry = try await subject.make()
            let v1 = try await registry.registerModelVersion(ModelRegistration(model: m1, sourceLocation: try modelFolder(in: scratch, "1"), idempotencyKey: "1-\(UUID())", tags: [:]))
            _ = try await registry.registerModelVersion(ModelRegistration(model: m2, sourceLocation: try modelFolder(in: scratch, "2"), idempotencyKey: "2-\(UUID())", tags: [:]))
            _ = try await registry.registerPromptVersion(PromptRegistration(prompt: p1, template: "one", config: .object([:]), tags: [:]))
            let pv2 = try await registry.registerPromptVersion(PromptRegistration(prompt: p2, template: "two", config: .object([:]), tags: [:]))
            try await registry.setModelAlias(model: m1, alias: "champion", version: v1.version)
            try await registry.setPromptAlias(prompt: p2, alias: "live", version: pv2.version)

            let observed = try await subject.make().observe(models: [m1], prompts: [p2])
            #expect(Set(observed.models.keys) == [m1])
            #expect(Set(observed.prompts.keys) == [p2])
            #expect(observed.models[m1]?.versions[v1.version]?.model == m1)
            #expect(observed.models[m1]?.aliases == ["champion": v1.version])
            #expect(observed.prompts[p2]?.versions[pv2.version]?.template == "two")
            #expect(observed.prompts[p2]?.aliases == ["live": pv2.version])

            let unknown = UniqueName.make("never-registered")
            let none = try await subject.make().observe(models: [unknown], prompts: [unknown])
            #expect(none.models[unknown]?.versions.isEmpty ?? true, "a model never registered has no versions")
            #expect(none.prompts[unknown]?.versions.isEmpty ?? true, "a prompt never registered has no versions")
            #expect(try await subject.make().observe(models: [], prompts: []) == RegistryState())
        }
    }

    // MARK: - Prompts

    static func promptVersionsAreContentAddressed(_ subject: RegistrySubject) async throws {
        let prompt = UniqueName.make("prompt")
        let template = "Summarise for {{audience}}:\n{{text}}"
        let config: JSONValue = .object(["model": .string("small"), "temperature": .number(0.2), "max_tokens": .integer(256)])
        let first = try await subject.make().registerPromptVersion(PromptRegistration(prompt: prompt, template: template, config: config, tags: [:]))
        let again = try await subject.make().registerPromptVersion(PromptRegistration(prompt: prompt, template: template, config: config, tags: [:]))
        #expect(again.version == first.version, "same template and config: same version")
        #expect(again.contentHash == first.contentHash)

        let warmer: JSONValue = .object(["model": .string("small"), "temperature": .number(0.7), "max_tokens": .integer(256)])
        let changedConfig = try await subject.make().registerPromptVersion(PromptRegistration(prompt: prompt, template: template, config: warmer, tags: [:]))
        #expect(changedConfig.version != first.version, "a changed config is a new version")
        #expect(changedConfig.contentHash != first.contentHash)

        let changedTemplate = try await subject.make().registerPromptVersion(PromptRegistration(prompt: prompt, template: template + "\nBe brief.", config: config, tags: [:]))
        #expect(![first.version, changedConfig.version].contains(changedTemplate.version), "a changed template is a new version")

        // Content-addressed, not "latest": going back to the first content finds the first version.
        let back = try await subject.make().registerPromptVersion(PromptRegistration(prompt: prompt, template: template, config: config, tags: [:]))
        #expect(back.version == first.version)

        let observed = try #require(try await subject.make().observe(models: [], prompts: [prompt]).prompts[prompt])
        #expect(Set(observed.versions.keys) == [first.version, changedConfig.version, changedTemplate.version])
        let stored = try #require(observed.versions[first.version])
        #expect(stored.template == template, "the template round-trips exactly")
        #expect(stored.config == config, "the config round-trips exactly")
        #expect(observed.versions[changedConfig.version]?.config == warmer)
    }

    static func promptAliasesSetMoveAndDelete(_ subject: RegistrySubject) async throws {
        let prompt = UniqueName.make("prompt")
        let registry = try await subject.make()
        let v1 = try await registry.registerPromptVersion(PromptRegistration(prompt: prompt, template: "v1 {{x}}", config: .object([:]), tags: [:])).version
        let v2 = try await registry.registerPromptVersion(PromptRegistration(prompt: prompt, template: "v2 {{x}}", config: .object([:]), tags: [:])).version
        #expect(v1 != v2)

        try await registry.setPromptAlias(prompt: prompt, alias: "production", version: v1)
        try await registry.setPromptAlias(prompt: prompt, alias: "staging", version: v2)
        #expect(try await promptAliases(of: prompt, subject) == ["production": v1, "staging": v2])

        try await subject.make().setPromptAlias(prompt: prompt, alias: "production", version: v2)
        #expect(try await promptAliases(of: prompt, subject) == ["production": v2, "staging": v2])

        try await subject.make().deletePromptAlias(prompt: prompt, alias: "staging")
        #expect(try await promptAliases(of: prompt, subject) == ["production": v2])
    }

    static func promptTagsMerge(_ subject: RegistrySubject) async throws {
        let prompt = UniqueName.make("prompt")
        let info = try await subject.make().registerPromptVersion(PromptRegistration(prompt: prompt, template: "t {{x}}", config: .object([:]), tags: ["owner": "nlp", "stage": "draft"]))
        try await subject.make().tagPromptVersion(prompt: prompt, version: info.version, tags: ["stage": "reviewed", "reviewer": "ana"])
        let tags = try #require(try await subject.make().observe(models: [], prompts: [prompt]).prompts[prompt]?.versions[info.version]).tags
        #expect(tags["owner"] == "nlp")
        #expect(tags["stage"] == "reviewed")
        #expect(tags["reviewer"] == "ana")
    }

    // MARK: - Helpers

    /// A folder holding a model's files, as a training job leaves it in its output.
    static func modelFolder(in scratch: ScratchFolder, _ name: String) throws -> String {
        let folder = scratch.file("models/\(name)")
        try Files.write("weights of \(name)\n", to: (folder as NSString).appendingPathComponent("model.bin"))
        try Files.write("{\"name\": \"\(name)\"}\n", to: (folder as NSString).appendingPathComponent("config.json"))
        return folder
    }

    static func aliases(of model: String, _ subject: RegistrySubject) async throws -> [String: String] {
        try #require(try await subject.make().observe(models: [model], prompts: []).models[model]).aliases
    }

    static func promptAliases(of prompt: String, _ subject: RegistrySubject) async throws -> [String: String] {
        try #require(try await subject.make().observe(models: [], prompts: [prompt]).prompts[prompt]).aliases
    }
}
