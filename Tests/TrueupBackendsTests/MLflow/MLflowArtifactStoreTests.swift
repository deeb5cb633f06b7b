import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import TrueupBackends
import TrueupCore
import TrueupStore
import TrueupTestSupport

/// The `mlflow` artifact store against a real MLflow server's artifact proxy: the shared
/// conformance suite, and what MLflow's own client sees of it.
@Suite("MLflow artifact store against a real server", .serialized)
struct MLflowArtifactStoreTests {
    @Test(arguments: ArtifactStoreConformance.Check.allCases)
    func conformance(_ check: ArtifactStoreConformance.Check) async throws {
        let server = try await MLflowTestServer.shared.start()
        try await ScratchFolder.with("trueup-mlflow-store-state") { state in
            try await ArtifactStoreConformance.run(check, on: ArtifactStoreSubject(
                // A new cache folder each time, as a restarted trueup on another machine would have.
                make: { MLflowArtifactStore(client: MLflowClient(server: server.url, token: nil), stateDirectory: state.file(UUID().uuidString)) },
                tamper: { reference in
                    // Through the server's own API: the first file of the manifest gets other bytes.
                    let hex = String(reference.digest.dropFirst("sha256:".count))
                    let manifest = try await Self.fetch(server.url, "\(MLflowArtifactStore.rootPath)/sha256/\(hex)/manifest.json")
                    let entries = try #require((try JSONSerialization.jsonObject(with: manifest) as? [String: Any])?["entries"] as? [[String: Any]])
                    let file = try #require(entries.first { $0["sha256"] != nil }?["path"] as? String)
                    try await Self.upload(server.url, "\(MLflowArtifactStore.rootPath)/sha256/\(hex)/files/\(file)", Data("tampered\n".utf8))
                }))
        }
    }

    @Test func theFactoryGivesAnMLflowRegistryItsServersStoreByDefault() async throws {
        let server = try await MLflowTestServer.shared.start()
        try await ScratchFolder.with("trueup-mlflow-store-factory") { folder in
            let store = try StateStore(stateDirectory: folder.file("state"))
            let settings = try EnvironmentSettings.decodedForTest(name: "staging", registry: ["type": "mlflow", "url": server.url])
            let backends = try BackendFactory.standard.backends(for: settings, stateDirectory: folder.file("state"), store: store)
            let artifacts = try #require(backends.artifacts as? MLflowArtifactStore)
            #expect(artifacts.server == server.url)
            // Asked for by name without an MLflow registry: refused, saying what to set.
            #expect {
                _ = try BackendFactory.standard.backends(for: EnvironmentSettings.testDefault(name: "dev"), stateDirectory: folder.file("state"), store: store, artifactsType: "mlflow")
            } throws: { error in
                let text = message(of: error)
                return text.contains("environment dev: spec.artifacts has type mlflow") && text.contains("spec.backends.registry")
            }
        }
    }

    static func fetch(_ server: String, _ path: String) async throws -> Data {
        let (data, response) = try await URLSession.shared.data(from: URL(string: "\(server)/api/2.0/mlflow-artifacts/artifacts/\(path)")!)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        return data
    }

    static func upload(_ server: String, _ path: String, _ body: Data) async throws {
        var request = URLRequest(url: URL(string: "\(server)/api/2.0/mlflow-artifacts/artifacts/\(path)")!)
        request.httpMethod = "PUT"
        let (_, response) = try await URLSession.shared.upload(for: request, from: body)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
    }
}
