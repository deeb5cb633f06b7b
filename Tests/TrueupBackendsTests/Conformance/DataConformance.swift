import Foundation
import Testing
import TrueupCore

/// A data catalog under test.
struct DataSubject: Sendable {
    /// Returns a new client of one and the same catalog each time it is called, as a restarted
    /// trueup would open it.
    var make: @Sendable () async throws -> any DataBackend
    /// Changes the stored bytes of a version behind the catalog's back. By default `location` is
    /// overwritten as a local file.
    var tamper: @Sendable (DatasetVersion) async throws -> Void = { version in
        try Files.write("id,label\n1,cat\n2,wolf\n", to: version.location)
    }
}

/// What every `DataBackend` must do. The expected digests are written out, computed once with
/// `sha256sum`, so the checks do not share code with the implementation they check.
enum DataConformance {
    static let sample = "id,label\n1,cat\n2,dog\n"
    static let sampleSHA256 = "9a03b975919308b591c19fb67489870211037de2a75311afde4a46ecec5e0a2c"
    static let extended = "id,label\n1,cat\n2,dog\n3,bird\n"
    static let extendedSHA256 = "3facdef8f85daace6511f0c592d368bbf82768fcf2e806e13f3347dbf8674823"

    enum Check: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case registeredFileIsVersionedByItsSHA256
        case pinnedSHA256ThatMatchesIsAccepted
        case wrongPinnedSHA256FailsAndSaysSo
        case editingTheStoredFileIsReported
        case laterChangesToTheSourceDoNotTouchTheVersion
        case folderHoldingOneFileRegistersThatFile
        case missingSourceFails
        case currentVersionFollowsTheLastRegistrationPerEnvironment
        case removeDropsItFromObserve
        case sameBytesUnderManyNamesAtOnce

        var testDescription: String { rawValue }
    }

    static func run(_ check: Check, on subject: DataSubject) async throws {
        switch check {
        case .registeredFileIsVersionedByItsSHA256: try await registeredFileIsVersionedByItsSHA256(subject)
        case .pinnedSHA256ThatMatchesIsAccepted: try await pinnedSHA256ThatMatchesIsAccepted(subject)
        case .wrongPinnedSHA256FailsAndSaysSo: try await wrongPinnedSHA256FailsAndSaysSo(subject)
        case .editingTheStoredFileIsReported: try await editingTheStoredFileIsReported(subject)
        case .laterChangesToTheSourceDoNotTouchTheVersion: try await laterChangesToTheSourceDoNotTouchTheVersion(subject)
        case .folderHoldingOneFileRegistersThatFile: try await folderHoldingOneFileRegistersThatFile(subject)
        case .missingSourceFails: try await missingSourceFails(subject)
        case .currentVersionFollowsTheLastRegistrationPerEnvironment: try await currentVersionFollowsTheLastRegistrationPerEnvironment(subject)
        case .removeDropsItFromObserve: try await removeDropsItFromObserve(subject)
        case .sameBytesUnderManyNamesAtOnce: try await sameBytesUnderManyNamesAtOnce(subject)
        }
    }

    static func runAll(on subject: DataSubject) async throws {
        for check in Check.allCases { try await run(check, on: subject) }
    }

    // MARK: - Checks

    /// Many datasets of one apply holding the same bytes (every project's prepare job writes the
    /// same header-only file, say) are registered in parallel: each gets that one version.
    static func sameBytesUnderManyNamesAtOnce(_ subject: DataSubject) async throws {
        try await ScratchFolder.with { scratch in
            let environment = UniqueName.make("env")
            // Large enough that copies into the catalog overlap in time.
            let bytes = String(repeating: sample, count: 200_000)
            let digest = ContentDigest.sha256(bytes)
            let source = try file(bytes, in: scratch, "labels.csv")
            let names = (0..<16).map { _ in UniqueName.make("data") }
            let versions = try await withThrowingTaskGroup(of: DatasetVersion.self) { group in
                for name in names {
                    group.addTask {
                        try await subject.make().register(DatasetRegistration(
                            environment: environment, name: name, sourcePath: source, expectedSHA256: nil, producingRun: nil))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(versions.count == names.count)
            #expect(versions.allSatisfy { $0.version == digest })
            let observed = try await subject.make().observe(environment: environment)
            #expect(names.allSatisfy { observed[$0]?.current.version == digest && observed[$0]?.problem == nil })
        }
    }

    static func registeredFileIsVersionedByItsSHA256(_ subject: DataSubject) async throws {
        try await ScratchFolder.with { scratch in
            let (environment, name) = (UniqueName.make("env"), UniqueName.make("data"))
            let source = try file(sample, in: scratch, "labels.csv")
            let version = try await subject.make().register(DatasetRegistration(
                environment: environment, name: name, sourcePath: source, expectedSHA256: nil, producingRun: "run-42"))
            #expect(version.version == sampleSHA256)
            #expect(version.size == Int64(sample.utf8.count))
            #expect(version.producingRun == "run-42")
            #expect(!version.location.isEmpty)

            let observed = try #require(try await subject.make().observe(environment: environment)[name])
            #expect(observed.current == version)
            #expect(observed.problem == nil, "observed problem: \(observed.problem ?? "")")
        }
    }

    static func pinnedSHA256ThatMatchesIsAccepted(_ subject: DataSubject) async throws {
        try await ScratchFolder.with { scratch in
            let (environment, name) = (UniqueName.make("env"), UniqueName.make("data"))
            let version = try await subject.make().register(DatasetRegistration(
                environment: environment, name: name, sourcePath: try file(sample, in: scratch, "labels.csv"),
                expectedSHA256: sampleSHA256, producingRun: nil))
            #expect(version.version == sampleSHA256)
        }
    }

    static func wrongPinnedSHA256FailsAndSaysSo(_ subject: DataSubject) async throws {
        try await ScratchFolder.with { scratch in
            let (environment, name) = (UniqueName.make("env"), UniqueName.make("data"))
            let request = DatasetRegistration(
                environment: environment, name: name, sourcePath: try file(sample, in: scratch, "labels.csv"),
                expectedSHA256: extendedSHA256, producingRun: nil)
            do {
                _ = try await subject.make().register(request)
                Issue.record("content with another sha256 than the pinned one was registered")
            } catch {
                let text = message(of: error)
                #expect(text.contains("sha256"), "the error says it is about sha256: \(text)")
                #expect(text.contains(extendedSHA256), "the error names the pinned digest: \(text)")
                #expect(text.contains(sampleSHA256), "the error names the actual digest: \(text)")
            }
            #expect(try await subject.make().observe(environment: environment)[name] == nil, "nothing was registered")
        }
    }

    /// The catalog verifies stored data on every observation: an edited file is drift.
    static func editingTheStoredFileIsReported(_ subject: DataSubject) async throws {
        try await ScratchFolder.with { scratch in
            let (environment, name) = (UniqueName.make("env"), UniqueName.make("data"))
            let version = try await subject.make().register(DatasetRegistration(
                environment: environment, name: name, sourcePath: try file(sample, in: scratch, "labels.csv"), expectedSHA256: nil, producingRun: nil))
            try await subject.tamper(version)
            let observed = try #require(try await subject.make().observe(environment: environment)[name])
            #expect(observed.problem != nil, "an edited stored file is observed intact")
            #expect(observed.current.version == sampleSHA256, "the current version stays what was registered")
        }
    }

    /// Registering copies (or uploads) the content: the version does not depend on the source staying put.
    static func laterChangesToTheSourceDoNotTouchTheVersion(_ subject: DataSubject) async throws {
        try await ScratchFolder.with { scratch in
            let (environment, name) = (UniqueName.make("env"), UniqueName.make("data"))
            let source = try file(sample, in: scratch, "labels.csv")
            _ = try await subject.make().register(DatasetRegistration(environment: environment, name: name, sourcePath: source, expectedSHA256: nil, producingRun: nil))
            try Files.write(extended, to: source)
            let observed = try #require(try await subject.make().observe(environment: environment)[name])
            #expect(observed.current.version == sampleSHA256)
            #expect(observed.problem == nil, "observed problem: \(observed.problem ?? "")")
            try FileManager.default.removeItem(atPath: source)
            #expect(try await subject.make().observe(environment: environment)[name]?.problem == nil, "the version needs no source any more")
        }
    }

    /// A job's `data/` output folder holding a single file is that file.
    static func folderHoldingOneFileRegistersThatFile(_ subject: DataSubject) async throws {
        try await ScratchFolder.with { scratch in
            let (environment, name) = (UniqueName.make("env"), UniqueName.make("data"))
            _ = try file(sample, in: scratch, "output/data/labels.csv")
            let version = try await subject.make().register(DatasetRegistration(
                environment: environment, name: name, sourcePath: scratch.file("output/data"), expectedSHA256: sampleSHA256, producingRun: nil))
            #expect(version.version == sampleSHA256)
            #expect(version.size == Int64(sample.utf8.count))
            #expect(try await subject.make().observe(environment: environment)[name]?.problem == nil)
        }
    }

    static func missingSourceFails(_ subject: DataSubject) async throws {
        try await ScratchFolder.with { scratch in
            let (environment, name) = (UniqueName.make("env"), UniqueName.make("data"))
            let missing = scratch.file("nowhere/labels.csv")
            do {
                _ = try await subject.make().register(DatasetRegistration(environment: environment, name: name, sourcePath: missing, expectedSHA256: nil, producingRun: nil))
                Issue.record("a source that does not exist was registered")
            } catch {
                let text = message(of: error)
                #expect(text.contains(missing), "the error names the missing path: \(text)")
            }
            // (Bound first: a closure whose only `try` sits inside a macro is inferred non-throwing.)
            let observed = try await subject.make().observe(environment: environment)
            #expect(observed.isEmpty)
        }
    }

    static func currentVersionFollowsTheLastRegistrationPerEnvironment(_ subject: DataSubject) async throws {
        try await ScratchFolder.with { scratch in
            let (staging, prod, name) = (UniqueName.make("env"), UniqueName.make("env"), UniqueName.make("data"))
            let catalog = try await subject.make()
            let first = try file(sample, in: scratch, "a/labels.csv")
            let second = try file(extended, in: scratch, "b/labels.csv")
            _ = try await catalog.register(DatasetRegistration(environment: staging, name: name, sourcePath: first, expectedSHA256: nil, producingRun: nil))
            _ = try await catalog.register(DatasetRegistration(environment: prod, name: name, sourcePath: first, expectedSHA256: nil, producingRun: nil))
            _ = try await catalog.register(DatasetRegistration(environment: staging, name: name, sourcePath: second, expectedSHA256: nil, producingRun: nil))
            #expect(try await subject.make().observe(environment: staging)[name]?.current.version == extendedSHA256)
            #expect(try await subject.make().observe(environment: prod)[name]?.current.version == sampleSHA256, "another environment keeps its own current version")

            // Going back to earlier content makes that version current again.
            _ = try await catalog.register(DatasetRegistration(environment: staging, name: name, sourcePath: first, expectedSHA256: nil, producingRun: nil))
            let observed = try #require(try await subject.make().observe(environment: staging)[name])
            #expect(observed.current.version == sampleSHA256)
            #expect(observed.problem == nil, "observed problem: \(observed.problem ?? "")")
        }
    }

    static func removeDropsItFromObserve(_ subject: DataSubject) async throws {
        try await ScratchFolder.with { scratch in
            let environment = UniqueName.make("env")
            let (kept, removed) = (UniqueName.make("data"), UniqueName.make("data"))
            let catalog = try await subject.make()
            _ = try await catalog.register(DatasetRegistration(environment: environment, name: kept, sourcePath: try file(sample, in: scratch, "a.csv"), expectedSHA256: nil, producingRun: nil))
            _ = try await catalog.register(DatasetRegistration(environment: environment, name: removed, sourcePath: try file(extended, in: scratch, "b.csv"), expectedSHA256: nil, producingRun: nil))
            try await subject.make().remove(environment: environment, name: removed)
            #expect(Set(try await subject.make().observe(environment: environment).keys) == [kept])
            // Removing what is gone is fine: apply is retried after crashes.
            try await subject.make().remove(environment: environment, name: removed)
        }
    }

    // MARK: - Helpers

    static func file(_ text: String, in scratch: ScratchFolder, _ name: String) throws -> String {
        let path = scratch.file(name)
        try Files.write(text, to: path)
        return path
    }
}
