/// What a deployment may ask of the serving backend its environment uses, checked at validate so
/// that an apply never silently does less than the spec says.
///
/// The local backend runs one process per deployment on 127.0.0.1: it cannot spread `replicas`
/// over several, so more than one is refused rather than quietly ignored. `spec.port` pins that
/// process's port; Ray Serve chooses its own, so there the field is refused too.
enum ServingCapabilities {
    static func check(_ resources: [ResourceID: Resource], serving: EnvironmentSettings.Backend.BackendType, environment: String) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        var pinned: [Int: ResourceID] = [:]
        func fail(_ resource: Resource, _ path: String, _ message: String) {
            diagnostics.append(Diagnostic(at: resource.location(of: FieldPath.parse(path)), "\(resource.id): \(message)", field: path, environment: environment))
        }
        // The deployments' identities are sorted, not the resources: sorting whole resources
        // copied every field of every resource of the environment, a tenth of a large validate.
        let deployments = resources.keys.filter { $0.kind == .deployment }.sorted()
        for id in deployments {
            let resource = resources[id]!
            guard case .deployment(let spec) = resource.typed else { continue }
            switch serving {
            case .ray:
                if spec.port != nil {
                    fail(resource, "spec.port", "serving runs on ray in this environment, whose HTTP proxy chooses the port: remove spec.port (it pins a port on the local backend only)")
                }
            default:
                if spec.replicas > 1 {
                    fail(resource, "spec.replicas", "replicas is \(spec.replicas), but serving runs locally in this environment, one process per deployment: set replicas to 1 (or leave it out), or serve on ray (spec.backends.serving)")
                }
                if let port = spec.port {
                    if let other = pinned[port] {
                        fail(resource, "spec.port", "port \(port) is already pinned by \(other) in this environment: give each deployment its own port")
                    } else {
                        pinned[port] = id
                    }
                }
            }
        }
        return diagnostics
    }
}
