import Foundation
import Testing
import TrueupCore
import TrueupGit
@testable import TrueupEngine

/// The planner plans each dependency level of a large environment on every core. What it plans
/// must be what planning one resource after another, in the environment's order, gives.
struct PlannerLevelsTests {
    /// Wide enough that every level is spread over threads (`Planner.levelWorthSpreading`).
    static let projects = 700

    @Test func aWideEnvironmentIsPlannedAsOneResourceAfterAnother() throws {
        let repository = try TestRepository()
        try repository.write("environments/dev/environment.yaml", """
            apiVersion: trueup/v1
            kind: Environment
            metadata: {name: dev}
            spec:
              backends: {registry: {type: local}, jobs: {type: local}, serving: {type: local}, data: {type: local}}

            """)
        var specs = ""
        for project in 0..<Self.projects {
            let name = "p\(project)"
            try repository.write("ml/\(name)/data.csv", "x\n\(project)\n")
            try repository.write("ml/\(name)/train.py", "print(\(project))\n")
            specs += """
                apiVersion: trueup/v1
                kind: Dataset
                metadata: {name: \(name)-raw}
                spec: {path: ml/\(name)/data.csv}
                ---
                apiVersion: trueup/v1
                kind: Job
                metadata: {name: \(name)-train}
                spec: {code: ml/\(name), command: [python3, train.py], inputs: {datasets: [\(name)-raw]}}
                ---
                apiVersion: trueup/v1
                kind: Model
                metadata: {name: \(name)}
                spec: {fromJob: \(name)-train}
                ---
                apiVersion: trueup/v1
                kind: Deployment
                metadata: {name: \(name)-api}
                spec: {model: \(name), code: ml/\(name), command: [python3, train.py]}
                ---

                """
        }
        try repository.write("environments/dev/projects.yaml", specs)
        try repository.commit("a wide environment")

        let state = try repository.load()
        #expect(state.diagnostics.map(\.description) == [])
        let dev = try #require(state.environments["dev"])
        #expect(dev.resources.count == 4 * Self.projects)
        let levels = Planner.levels(of: dev)
        #expect(levels.count == 4, "dataset, job, model, deployment")
        #expect(levels.allSatisfy { $0.count >= Planner.levelWorthSpreading })
        // The levels found with the order are the ones found again by identity, once the
        // resources are set anew (which forgets the former).
        #expect(levels == dev.levels)
        var changed = dev
        changed.resources = dev.resources
        #expect(changed.levels.isEmpty)
        #expect(Planner.levels(of: changed) == levels)

        let snapshot = try GitRepository(path: repository.path).snapshot(at: "HEAD")
        let inputs = try PlanningInputs.gather(dev, snapshot: snapshot)
        #expect(inputs.fileDigests.count == Self.projects)
        #expect(inputs.codeTrees.count == Self.projects)
        #expect(inputs.fileDigests["ml/p0/data.csv"] == ContentDigest.sha256(Array("x\n0\n".utf8)))
        let planner = Planner(environment: dev, all: state.environments, inputs: inputs, observed: ObservedState(), applied: [:], commit: snapshot.revision.commit)
        let (plan, resolutions) = planner.planWithResolutions(now: 0)

        // One resource after another, each from the resolutions of everything before it.
        var expected: [PlannedChange] = []
        var resolved: [ResourceID: Resolution] = [:]
        for id in dev.order {
            let (change, resolution) = planner.planResource(dev.resources[id]!, resolved)
            expected.append(change)
            resolved[id] = resolution
        }
        // The first difference only: a dump of 2,800 changes helps nobody.
        #expect(plan.changes.count == expected.count)
        let firstDifferent = zip(plan.changes, expected).first { $0 != $1 }
        #expect(firstDifferent == nil, "planned differently: \(String(describing: firstDifferent?.0.resource))")
        #expect(resolutions.count == resolved.count)
        let differentlyResolved = resolved.keys.filter { resolutions[$0] != resolved[$0] }.sorted()
        #expect(differentlyResolved.isEmpty, "resolved differently: \(differentlyResolved.prefix(5))")
        #expect(plan.observedFingerprint == Planner.fingerprint(expected))
        // Jobs have identities, so the levels above the datasets did read their dependencies' resolutions.
        #expect(resolutions[ResourceID(.job, "p0-train")]?.version != nil)
        #expect(resolutions[ResourceID(.job, "p0-train")] != resolutions[ResourceID(.job, "p1-train")])
        #expect(plan.changes.filter { $0.action == .run }.count == Self.projects)
    }
}
