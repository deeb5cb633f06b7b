import Foundation
import Testing
import TrueupBackends
import TrueupCore
import TrueupStore
import TrueupTestSupport

/// Ray jobs whose inputs and outputs live in MLflow's artifact proxy (`spec.artifacts: {type:
/// mlflow}`, the default with an MLflow registry): the runner on the node talks to the real
/// tracking server, and nothing of trueup's disk is needed.
@Suite("Ray jobs with the MLflow artifact store", .serialized)
struct RayJobsWithMLflowStoreTests {
    @Test func inputsAndOutputsRoundTripThroughMLflowsArtifactProxy() async throws {
        let head = try await RayHead.shared.running()
        let server = try await MLflowTestServer.shared.start()
        try await LocalState.with { state in
            try await ScratchFolder.with("trueup-mlflow-input") { scratch in
                let store = MLflowArtifactStore(client: MLflowClient(server: server.url, token: nil), stateDirectory: state.paths.stateDirectory)
                try Files.write("id,label\n1,0\n\(UUID().uuidString)\n", to: scratch.file("features/rows.csv"))
                let input = try await store.put(folder: scratch.file("features"), lineage: nil)
                let jobs = try RayJobs(url: head.url, token: nil, environment: "test", store: state.openStore(), paths: state.paths, artifacts: store)
                let request = RayJobsTests.job("""
                    case "$TRUEUP_INPUT_FEATURES" in /*) ;; *) echo "not a local path: $TRUEUP_INPUT_FEATURES"; exit 9 ;; esac
                    mkdir -p "$TRUEUP_OUTPUT_DIR/model/weights" "$TRUEUP_OUTPUT_DIR/data/hollow"
                    cp "$TRUEUP_INPUT_FEATURES/rows.csv" "$TRUEUP_OUTPUT_DIR/data/rows.csv"
                    echo "w=1" > "$TRUEUP_OUTPUT_DIR/model/weights/w.txt"
                    printf '{"auc": 0.9}' > "$TRUEUP_OUTPUT_DIR/metrics.json"
                    """, variables: ["TRUEUP_INPUT_FEATURES": input.uri], resources: JobResources(cpus: 0.25))
                let record = try await jobs.run(request)
                #expect(record.status == .succeeded, "\(record.error ?? "") \(Files.read(record.logPath) ?? "")")
                #expect(record.metrics == ["auc": 0.9])
                let model = try #require(record.outputs["model"])
                #expect(model.uri.hasPrefix("mlflow-artifacts:/trueup-artifacts/sha256/"))
                // Read back by trueup from the server, digests checked.
                #expect(Files.read(try await store.get(model) + "/weights/w.txt") == "w=1\n")
                let data = try await store.get(try #require(record.outputs["data"]))
                #expect(Files.read(data + "/rows.csv") == Files.read(scratch.file("features/rows.csv")))
                #expect(FileManager.default.fileExists(atPath: data + "/hollow"), "an empty folder survives the round trip")
                #expect(try await store.lineage(ofDigest: model.digest).map(\.run) == [request.identity], "the runner recorded the lineage trueup reads")
            }
        }
    }
}
