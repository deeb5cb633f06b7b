import TrueupCore

// A job whose outputs nothing in the environment uses, and that is no gate, still runs whenever
// its identity changes: what it computes is thrown away (in a deploy-model environment that
// serves a promoted version, hours of training). The plan says so, and how to stop it.
extension Planner {
    /// The warning for running job `job`, or nil when something in the environment uses it.
    func unusedJobWarning(_ job: Resource) -> String? {
        guard !usedJobs.contains(job.id.name) else { return nil }
        let file = environment.definedAt.file
        return "nothing in \(environment.name) uses what it produces (no Dataset or Model takes it as fromJob, no gate runs it, nothing depends on it), yet it runs because every job an environment declares or inherits runs when its code, spec or inputs change: leave it out of \(environment.name) with spec.exclude: [\(job.id)] in \(file), or set trigger: manual on it"
    }

    /// Jobs something in the environment uses: whose output a resource claims (`fromJob`), that
    /// run as a gate, or that a resource depends on (`dependsOn`); and, of those, the ones whose
    /// output is claimed, which run even when `trigger: manual`. Found in one pass over the
    /// resources, once per plan.
    static func jobUse(in environment: DesiredEnvironment) -> (used: Set<String>, claimed: Set<String>) {
        var used = Set<String>()
        var claimed = Set<String>()
        // By index, which borrows each resource: iterating the values copies every field of each.
        let ids = environment.resources.keys, resources = environment.resources.values
        for index in resources.indices {
            for dependency in resources[index].dependencies where dependency.kind == .job && dependency != ids[index] { used.insert(dependency.name) }
            switch resources[index].typed {
            case .model(let model):
                for gate in model.gates { used.insert(gate.job) }
                if let job = model.fromJob { claimed.insert(job) }
            case .prompt(let prompt): for gate in prompt.gates { used.insert(gate.job) }
            case .dataset(let dataset): if let job = dataset.fromJob { claimed.insert(job) }
            default: break
            }
        }
        return (used, claimed)
    }
}
