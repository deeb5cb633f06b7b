import Foundation
import Testing
import TrueupCore

/// `spec.exclude`: what it leaves out, and only for the environment that says so.
struct ExcludeTests {
    @Test func prodLeavesTrainingOutAndWhatExtendsProdStillInheritsIt() throws {
        let repository = try TestRepository()
        for folder in ["environments", "examples", "schemas"] {
            try repository.copy(from: SourceTree.root.appendingPathComponent(folder), into: folder)
        }
        // An environment extending prod: exclusion is prod's own setting, never inherited.
        try repository.write("environments/prod-eu/environment.yaml", """
            apiVersion: trueup/v1
            kind: Environment
            metadata:
              name: prod-eu
            spec:
              extends: [prod]
              variables: {epochs: 200, learningRate: 0.05, churnModelVersion: "3"}

            """)
        try repository.commit("example and prod-eu")
        let state = try repository.load()
        #expect(state.diagnostics.map(\.description) == [])
        let prod = try #require(state.environments["prod"])
        #expect(prod.settings.exclude == [ResourceID(.job, "train-churn")])
        #expect(prod.resources[ResourceID(.job, "train-churn")] == nil)
        #expect(!prod.order.contains(ResourceID(.job, "train-churn")))
        #expect(prod.resources[ResourceID(.job, "prepare-features")] != nil, "only what is named is left out")
        #expect(state.environments["staging"]?.resources[ResourceID(.job, "train-churn")] != nil, "the base keeps it for the others")
        #expect(state.environments["prod-eu"]?.resources[ResourceID(.job, "train-churn")] != nil, "what extends prod inherits everything prod inherits")
    }
}
