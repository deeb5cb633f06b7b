import Testing
import TrueupCore

/// `"Job/train": ["Dataset/customers"]` -> a graph.
private func graph(_ edges: [String: [String]]) -> DependencyGraph {
    func id(_ text: String) -> ResourceID { ResourceID(parsing: text)! }
    return DependencyGraph(edges: Dictionary(uniqueKeysWithValues: edges.map { (id($0.key), $0.value.map(id)) }))
}

private func names(_ ids: [ResourceID]) -> [String] { ids.map(\.description) }

struct DependencyGraphTests {
    @Test func dependenciesComeFirst() {
        let g = graph([
            "Deployment/api": ["Model/churn"],
            "Model/churn": ["Job/train", "Job/evaluate"],
            "Job/train": ["Dataset/features"],
            "Job/evaluate": ["Dataset/features"],
            "Dataset/features": ["Job/prepare"],
            "Job/prepare": ["Dataset/customers"],
            "Dataset/customers": [],
        ])
        #expect(names(g.topologicalOrder()) == [
            "Dataset/customers", "Job/prepare", "Dataset/features", "Job/evaluate", "Job/train", "Model/churn", "Deployment/api",
        ])
    }

    @Test func independentResourcesAreOrderedByIdentity() {
        let g = graph(["Job/b": [], "Dataset/z": [], "Job/a": [], "Model/m": []])
        #expect(names(g.topologicalOrder()) == ["Dataset/z", "Job/a", "Job/b", "Model/m"])
    }

    @Test func orderIsTheSameEveryTime() {
        let edges = (0..<50).reduce(into: [String: [String]]()) { edges, i in
            edges["Job/j\(i)"] = i == 0 ? [] : ["Job/j\(i / 2)"]
        }
        let first = graph(edges).topologicalOrder()
        for _ in 0..<5 { #expect(graph(edges).topologicalOrder() == first) }
        #expect(first.count == 50)
    }

    @Test func edgesToUnknownResourcesAreIgnoredForOrdering() {
        let g = graph(["Job/train": ["Dataset/missing"], "Model/churn": ["Job/train"]])
        #expect(names(g.topologicalOrder()) == ["Job/train", "Model/churn"])
    }

    @Test func aCycleIsReportedOnceFromItsSmallestMember() {
        let g = graph([
            "Deployment/api": ["Model/churn"],
            "Model/churn": ["Job/train"],
            "Job/train": ["Deployment/api"],
            "Dataset/customers": [],
        ])
        #expect(g.cycles().map(names) == [["Deployment/api", "Model/churn", "Job/train", "Deployment/api"]])
        // Resources on a cycle cannot be ordered; the rest still are.
        #expect(names(g.topologicalOrder()) == ["Dataset/customers"])
    }

    @Test func selfReferenceAndSeparateCyclesAreAllReported() {
        let g = graph([
            "Job/a": ["Job/a"],
            "Job/b": ["Job/c"], "Job/c": ["Job/b"],
            "Job/d": ["Job/b"],
        ])
        #expect(g.cycles().map(names) == [["Job/a", "Job/a"], ["Job/b", "Job/c", "Job/b"]])
    }

    @Test func acyclicGraphHasNoCycles() {
        let g = graph(["Job/a": ["Job/b", "Job/c"], "Job/b": ["Job/c"], "Job/c": []])
        #expect(g.cycles().isEmpty)
    }

    @Test func dependentsAreFoundTransitively() {
        let g = graph(["Model/m": ["Job/t"], "Deployment/d": ["Model/m"], "Job/t": ["Dataset/x"], "Job/other": []])
        let found = g.dependents(of: [ResourceID(.dataset, "x")])
        #expect(Set(names(Array(found))) == ["Job/t", "Model/m", "Deployment/d"])
    }
}
