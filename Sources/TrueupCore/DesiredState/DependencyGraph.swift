/// The dependency graph of an environment's resources: ordering and cycle detection.
public struct DependencyGraph: Sendable {
    public let edges: [ResourceID: [ResourceID]]

    public init(edges: [ResourceID: [ResourceID]]) {
        self.edges = edges
    }

    /// Dependencies first; among resources whose dependencies are met, by identity. Nodes on a
    /// cycle are left out (report them with `cycles()`).
    public func topologicalOrder() -> [ResourceID] {
        var remaining: [ResourceID: Int] = [:]
        var dependents: [ResourceID: [ResourceID]] = [:]
        for (node, deps) in edges {
            remaining[node] = deps.filter { edges[$0] != nil }.count
            for dep in deps where edges[dep] != nil { dependents[dep, default: []].append(node) }
        }
        // `ready` stays sorted largest first, so popLast is the smallest; newly ready nodes are
        // put in place by binary search (re-sorting the whole list per node was quadratic).
        var ready = remaining.filter { $0.value == 0 }.map(\.key).sorted(by: >)
        var order: [ResourceID] = []
        order.reserveCapacity(edges.count)
        while let next = ready.popLast() {
            order.append(next)
            for dependent in dependents[next] ?? [] {
                remaining[dependent]! -= 1
                if remaining[dependent] == 0 { ready.insert(dependent, at: Self.insertionIndex(of: dependent, inDescending: ready)) }
            }
        }
        return order
    }

    private static func insertionIndex(of id: ResourceID, inDescending list: [ResourceID]) -> Int {
        var low = 0, high = list.count
        while low < high {
            let mid = (low + high) / 2
            if list[mid] > id { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// Each cycle once, as a path that starts and ends at its smallest member.
    public func cycles() -> [[ResourceID]] {
        var state: [ResourceID: Int] = [:]  // 1 visiting, 2 done
        var stack: [ResourceID] = []
        var found: [[ResourceID]] = []
        var seen = Set<[ResourceID]>()
        func visit(_ node: ResourceID) {
            state[node] = 1
            stack.append(node)
            for dep in (edges[node] ?? []).sorted() where edges[dep] != nil {
                if state[dep] == 1, let start = stack.firstIndex(of: dep) {
                    var cycle = Array(stack[start...])
                    let minIndex = cycle.indices.min(by: { cycle[$0] < cycle[$1] })!
                    cycle = Array(cycle[minIndex...] + cycle[..<minIndex])
                    if seen.insert(cycle).inserted { found.append(cycle + [cycle[0]]) }
                } else if state[dep] == nil {
                    visit(dep)
                }
            }
            stack.removeLast()
            state[node] = 2
        }
        for node in edges.keys.sorted() where state[node] == nil { visit(node) }
        return found
    }

    /// Everything that depends on `roots`, directly or not (not including the roots).
    public func dependents(of roots: Set<ResourceID>) -> Set<ResourceID> {
        var reverse: [ResourceID: [ResourceID]] = [:]
        for (node, deps) in edges { for dep in deps { reverse[dep, default: []].append(node) } }
        var result = Set<ResourceID>()
        var queue = Array(roots)
        while let next = queue.popLast() {
            for dependent in reverse[next] ?? [] where result.insert(dependent).inserted { queue.append(dependent) }
        }
        return result.subtracting(roots)
    }
}
