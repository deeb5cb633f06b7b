import Foundation
import Testing
import TrueupBackends
import TrueupCore
import TrueupStore

/// The `path` store (a folder shared with every node) against the shared conformance suite, and
/// what it refuses.
@Suite("Path artifact store")
struct PathArtifactStoreTests {
    @Test(arguments: ArtifactStoreConformance.Check.allCases)
    func conformance(_ check: ArtifactStoreConformance.Check) async throws {
        try await ScratchFolder.with("trueup-shared-store") { shared in
            try await ArtifactStoreConformance.run(check, on: ArtifactStoreSubject(
                make: { try PathArtifactStore(path: shared.path) },
                tamper: FolderTamper.changeAFile))
        }
    }

    @Test func aRelativeOrMissingPathIsRefusedSayingWhatToMount() throws {
        #expect {
            _ = try PathArtifactStore(path: "shared/trueup", environment: "staging")
        } throws: { error in
            let text = message(of: error)
            return text.contains("environment staging: spec.artifacts.path") && text.contains("not an absolute path")
        }
        let missing = "/var/tmp/trueup-no-such-mount-\(UUID().uuidString.prefix(8))"
        #expect {
            _ = try PathArtifactStore(path: missing, environment: "staging")
        } throws: { error in
            let text = message(of: error)
            return text.contains(missing) && text.contains("mount the shared filesystem there")
        }
    }

    @Test func theFactoryMakesItFromTheConfiguredPathAndRefusesItWithout() throws {
        try ScratchFolderSync.with { folder in
            let store = try StateStore(stateDirectory: folder + "/state")
            let settings = EnvironmentSettings.testDefault(name: "staging")
            let backends = try BackendFactory.standard.backends(for: settings, stateDirectory: folder + "/state", store: store, artifactsType: "path", artifactsPath: folder)
            let path = try #require(backends.artifacts as? PathArtifactStore)
            #expect(path.root == folder)
            #expect {
                _ = try BackendFactory.standard.backends(for: settings, stateDirectory: folder + "/state", store: store, artifactsType: "path")
            } throws: { error in
                message(of: error).contains("environment staging: spec.artifacts has type path but no path")
            }
        }
    }
}

/// Changes an artifact's stored file in place, behind a folder store's back.
enum FolderTamper {
    @Sendable static func changeAFile(_ reference: ArtifactReference) async throws {
        let folder = try #require(reference.uri.hasPrefix("file://") ? String(reference.uri.dropFirst(7)) : nil)
        let file = try #require(FileManager.default.enumerator(atPath: folder)?.allObjects.compactMap { $0 as? String }
            .first { FileManager.default.contents(atPath: (folder as NSString).appendingPathComponent($0)) != nil })
        let path = (folder as NSString).appendingPathComponent(file)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        try Data("tampered\n".utf8).write(to: URL(fileURLWithPath: path))
    }
}

/// A scratch folder for synchronous tests.
enum ScratchFolderSync {
    static func with(_ body: (String) throws -> Void) throws {
        let folder = try ScratchFolder("trueup-path-store")
        defer { folder.remove() }
        try body(folder.path)
    }
}

extension EnvironmentSettings {
    /// Settings as an environment.yaml with only `backends` given would produce (the type has no
    /// public initializer; its Codable form is its stable outside view).
    static func testDefault(name: String, jobs: Backend = .local) -> EnvironmentSettings {
        try! decodedForTest(name: name, jobs: jobs)
    }

    static func decodedForTest(name: String, jobs: Backend = .local, registry: [String: Any] = ["type": "local"]) throws -> EnvironmentSettings {
        let local: [String: Any] = ["type": "local"]
        var jobsJSON: [String: Any] = ["type": jobs.type.rawValue]
        if let url = jobs.url { jobsJSON["url"] = url }
        if let token = jobs.tokenFromEnv { jobsJSON["tokenFromEnv"] = token }
        let object: [String: Any] = [
            "name": name, "extends": [String](), "sync": "manual", "selfHeal": false, "prune": false, "interval": 600.0,
            "windows": [Any](), "registry": registry, "jobs": jobsJSON, "serving": local, "data": local, "variables": [String: String](),
        ]
        return try JSONDecoder().decode(EnvironmentSettings.self, from: JSONSerialization.data(withJSONObject: object))
    }
}
