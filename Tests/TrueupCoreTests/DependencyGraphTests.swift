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

    @Test func acyclicCheckAgreesWithTheCyclesFound() {
        // Random graphs of 40 jobs, some with self references, edges to missing resources and
        // cycles, the same every run (a fixed linear congruential sequence).
        var seed: UInt64 = 42
        func next(_ bound: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int((seed >> 33) % UInt64(bound))
        }
        var acyclic = 0
        for round in 0..<200 {
            var edges: [ResourceID: [ResourceID]] = [:]
            for i in 0..<40 {
                var deps: [ResourceID] = []
                for _ in 0..<next(3) {
                    // Mostly to earlier jobs (no cycle); now and then to a later one or a missing one.
                    let target = next(10) == 0 ? i + next(40 - i) : (i == 0 ? 0 : next(i))
                    deps.append(ResourceID(.job, next(25) == 0 ? "missing\(target)" : "j\(target)"))
                }
                edges[ResourceID(.job, "j\(i)")] = deps
            }
            let expected = DependencyGraph(edges: edges).cycles().isEmpty
            #expect(DependencyGraph.isAcyclic(edges) == expected, "round \(round)")
            if expected { acyclic += 1 }
        }
        // Both answers were asked for.
        #expect(acyclic > 20 && acyclic < 180)
    }

    @Test func aLongChainIsWalkedWithoutRecursion() {
        // 200,000 resources each depending on the next: a recursive walk would overflow the stack.
        var chain = DependencyGraph.DenseEdges()
        for node in 0..<200_000 { chain.addNode(dependencies: node + 1 < 200_000 ? [node + 1] : []) }
        #expect(chain.isAcyclic)
        var closed = DependencyGraph.DenseEdges()
        for node in 0..<200_000 { closed.addNode(dependencies: [(node + 1) % 200_000]) }
        #expect(!closed.isAcyclic)
    }

    @Test func edgesGivenInAnyOrderAreGroupedByNodeSortedAndTurnedRound() {
        // Node 0 needs 3 and 1, node 2 needs 1 twice, node 3 needs nothing, node 1 needs 3.
        let edges = DependencyGraph.DenseEdges(nodes: 4, edges: [(2, 1), (0, 3), (1, 3), (0, 1), (2, 1)], sorted: true)
        #expect(edges.count == 4)
        #expect(Array(edges[0]) == [1, 3])
        #expect(Array(edges[1]) == [3])
        #expect(Array(edges[2]) == [1, 1])
        #expect(Array(edges[3]) == [])
        // Who needs each node, in node order: 1 is needed by 0 and twice by 2, 3 by 0 and 1.
        let dependents = edges.reversed()
        #expect(Array(dependents[0]) == [])
        #expect(Array(dependents[1]) == [0, 2, 2])
        #expect(Array(dependents[2]) == [])
        #expect(Array(dependents[3]) == [0, 1])
        #expect(edges.isAcyclic)
        #expect(!DependencyGraph.DenseEdges(nodes: 2, edges: [(0, 1), (1, 0)]).isAcyclic)
    }
}
