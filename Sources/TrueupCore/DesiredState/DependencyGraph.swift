/// The dependency graph of an environment's resources: ordering and cycle detection.
public struct DependencyGraph: Sendable {
    private let graph: Indexed

    public init(edges: [ResourceID: [ResourceID]]) {
        self.graph = Indexed(edges.keys, edges.map { Dependencies($0.key, on: $0.value) })
    }

    /// The graph of an environment's resources, each resource's `dependencies` listed as it was
    /// built (`listed`: only those that have any). Reading them back out of the dictionary copied
    /// every field of every resource, most of what building this graph cost at 33,000 of them.
    public init(resources: [ResourceID: Resource], listed: [Dependencies]) {
        self.graph = Indexed(resources.keys, listed)
    }

    /// One resource and the resources it needs first.
    public struct Dependencies: Sendable {
        public var id: ResourceID
        public var on: [ResourceID]

        public init(_ id: ResourceID, on: [ResourceID]) {
            self.id = id
            self.on = on
        }
    }

    /// Whether a resource depends on one that is not in the graph (a dangling reference).
    public var refersOutside: Bool { graph.refersOutside }

    /// The graph over dense indices: identities sorted, so a smaller index is a smaller identity,
    /// and edges only to resources of the graph, each list sorted. Ordering and cycle search then
    /// work on integers instead of hashing and comparing `Kind/name` strings at every step.
    private struct Indexed: Sendable {
        var ids: [ResourceID]
        /// Node i's dependencies, sorted.
        var dependencies: DenseEdges
        var refersOutside = false

        init(_ nodes: some Collection<ResourceID>, _ listed: [Dependencies]) {
            ids = Array(nodes)
            ids.sort()
            let index = Self.index(ids)
            var edges: [(from: Int, to: Int)] = []
            edges.reserveCapacity(listed.count * 2)
            for item in listed {
                guard !item.on.isEmpty, let node = index[item.id] else { continue }
                for dependency in item.on {
                    if let target = index[dependency] { edges.append((node, target)) } else { refersOutside = true }
                }
            }
            dependencies = DenseEdges(nodes: ids.count, edges: edges, sorted: true)
        }

        private static func index(_ ids: [ResourceID]) -> [ResourceID: Int] {
            var index: [ResourceID: Int] = [:]
            index.reserveCapacity(ids.count)
            for (i, id) in ids.enumerated() { index[id] = i }
            return index
        }
    }

    /// Whether `edges` form no cycle (edges to resources outside the graph are ignored), found
    /// without sorting identities first: most graphs have none, and at 33,000 resources the sort
    /// that `cycles()` needs for its messages was most of the time an environment's checks took
    /// on one core. When this says false, ask `cycles()` which ones.
    public static func isAcyclic(_ edges: [ResourceID: [ResourceID]]) -> Bool {
        isAcyclic(edges.map { Dependencies($0.key, on: $0.value) })
    }

    /// The same for resources listed with their dependencies. A resource that needs nothing is on
    /// no cycle, so only those listed are nodes; edges to others are ignored.
    public static func isAcyclic(_ listed: [Dependencies]) -> Bool {
        var index: [ResourceID: Int] = [:]
        index.reserveCapacity(listed.count)
        for item in listed { index[item.id] = index.count }
        var dense = DenseEdges()
        dense.reserveCapacity(nodes: listed.count, edges: listed.count)
        for item in listed { dense.addNode(dependencies: item.on.lazy.compactMap { index[$0] }) }
        return dense.isAcyclic
    }

    /// Edges over nodes numbered 0..<count, every node's list one after the other in one array:
    /// 33,000 nodes make two arrays, not 33,000.
    public struct DenseEdges: Sendable {
        /// Node i's dependencies are `targets[starts[i]..<starts[i + 1]]`.
        private var starts: [Int] = [0]
        private var targets: [Int] = []

        public init() {}

        public var count: Int { starts.count - 1 }

        /// The edges grouped by the node they leave, each node's list in the order given, or
        /// sorted: two flat arrays filled by counting, instead of an array per node (at 33,000
        /// resources, allocating and freeing those was a third of ordering the graph).
        public init(nodes count: Int, edges: [(from: Int, to: Int)], sorted: Bool = false) {
            starts = [Int](repeating: 0, count: count + 1)
            for edge in edges { starts[edge.from + 1] += 1 }
            for node in 0..<count { starts[node + 1] += starts[node] }
            var next = Array(starts.dropLast())
            targets = [Int](repeating: 0, count: edges.count)
            for edge in edges {
                targets[next[edge.from]] = edge.to
                next[edge.from] += 1
            }
            // Most lists hold a handful of nodes: sorted in place, one after the other.
            if sorted {
                for node in 0..<count where starts[node + 1] - starts[node] > 1 { targets[starts[node]..<starts[node + 1]].sort() }
            }
        }

        /// The nodes `node` depends on.
        public subscript(node: Int) -> ArraySlice<Int> { targets[starts[node]..<starts[node + 1]] }

        /// The same edges turned round: for each node, the nodes that depend on it, in node order.
        public func reversed() -> DenseEdges {
            var edges: [(from: Int, to: Int)] = []
            edges.reserveCapacity(targets.count)
            for node in 0..<count {
                for target in self[node] { edges.append((target, node)) }
            }
            return DenseEdges(nodes: count, edges: edges)
        }

        public mutating func reserveCapacity(nodes: Int, edges: Int) {
            starts.reserveCapacity(nodes + 1)
            targets.reserveCapacity(edges)
        }

        /// Adds the next node, with the nodes it depends on (numbered below `count` or not yet).
        public mutating func addNode(dependencies: some Sequence<Int>) {
            targets.append(contentsOf: dependencies)
            starts.append(targets.count)
        }

        /// Whether no cycle runs through the edges: a depth-first walk that meets no node it is
        /// still inside of. Iterative, so that a long chain cannot overflow the stack.
        public var isAcyclic: Bool {
            // 0: not visited, 1: on the current path, 2: done.
            var state = [UInt8](repeating: 0, count: count)
            var path: [(node: Int, next: Int)] = []
            for root in 0..<count where state[root] == 0 {
                state[root] = 1
                path.append((root, starts[root]))
                while let (node, next) = path.last {
                    if next == starts[node + 1] {
                        state[node] = 2
                        path.removeLast()
                        continue
                    }
                    path[path.count - 1].next = next + 1
                    let target = targets[next]
                    switch state[target] {
                    case 1: return false
                    case 0:
                        state[target] = 1
                        path.append((target, starts[target]))
                    default: break
                    }
                }
            }
            return true
        }
    }

    /// Dependencies first; among resources whose dependencies are met, by identity. Nodes on a
    /// cycle are left out (report them with `cycles()`).
    public func topologicalOrder() -> [ResourceID] {
        topologicalOrderAndLevels().order
    }

    /// The topological order and, by dependency level, the positions in it: a resource's level is
    /// one more than its deepest dependency's, so every dependency of a level is in an earlier
    /// one; each level keeps the order's order. Found on the way, over dense indices: the planner
    /// plans a level's resources on every core, and finding the levels afterwards, by identity,
    /// took it longer than this whole ordering.
    public func topologicalOrderAndLevels() -> (order: [ResourceID], levels: [[Int]]) {
        let count = graph.ids.count
        // A repeated dependency counts once per listing, and is released once per listing.
        var remaining = (0..<count).map { graph.dependencies[$0].count }
        let dependents = graph.dependencies.reversed()
        var ready = MinHeap()
        for node in 0..<count where remaining[node] == 0 { ready.push(node) }
        var order: [ResourceID] = []
        order.reserveCapacity(count)
        var depth = [Int](repeating: 0, count: count)
        var levels: [[Int]] = []
        while let next = ready.pop() {
            for dependency in graph.dependencies[next] { depth[next] = max(depth[next], depth[dependency] + 1) }
            if depth[next] == levels.count { levels.append([]) }
            levels[depth[next]].append(order.count)
            order.append(graph.ids[next])
            for dependent in dependents[next] {
                remaining[dependent] -= 1
                if remaining[dependent] == 0 { ready.push(dependent) }
            }
        }
        return (order, levels)
    }

    /// Each cycle once, as a path that starts and ends at its smallest member.
    public func cycles() -> [[ResourceID]] {
        var state = [UInt8](repeating: 0, count: graph.ids.count)  // 1 visiting, 2 done
        var stack: [Int] = []
        var found: [[ResourceID]] = []
        var seen = Set<[Int]>()
        func visit(_ node: Int) {
            state[node] = 1
            stack.append(node)
            for dependency in graph.dependencies[node] {
                if state[dependency] == 1, let start = stack.lastIndex(of: dependency) {
                    var cycle = Array(stack[start...])
                    let smallest = cycle.indices.min(by: { cycle[$0] < cycle[$1] })!
                    cycle = Array(cycle[smallest...] + cycle[..<smallest])
                    if seen.insert(cycle).inserted { found.append((cycle + [cycle[0]]).map { graph.ids[$0] }) }
                } else if state[dependency] == 0 {
                    visit(dependency)
                }
            }
            stack.removeLast()
            state[node] = 2
        }
        for node in graph.ids.indices where state[node] == 0 { visit(node) }
        return found
    }

    /// A binary min-heap of node indices: the smallest ready identity comes out first.
    private struct MinHeap {
        private var items: [Int] = []

        mutating func push(_ value: Int) {
            items.append(value)
            var child = items.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard items[child] < items[parent] else { break }
                items.swapAt(child, parent)
                child = parent
            }
        }

        mutating func pop() -> Int? {
            guard let first = items.first else { return nil }
            let last = items.removeLast()
            if !items.isEmpty {
                items[0] = last
                var parent = 0
                while true {
                    let left = 2 * parent + 1, right = left + 1
                    var smallest = parent
                    if left < items.count, items[left] < items[smallest] { smallest = left }
                    if right < items.count, items[right] < items[smallest] { smallest = right }
                    if smallest == parent { break }
                    items.swapAt(parent, smallest)
                    parent = smallest
                }
            }
            return first
        }
    }
}
