/// What a deployment may ask of the serving backend its environment uses, checked at validate so
/// that an apply never silently does less than the spec says.
///
/// The local backend runs one process per deployment on 127.0.0.1: it cannot spread `replicas`
/// over several, so more than one is refused rather than quietly ignored. `spec.port` pins that
/// process's port; Ray Serve chooses its own, so there the field is refused too.
enum ServingCapabilities {
    static func check(_ resources: some Sequence<Resource>, serving: EnvironmentSettings.Backend.BackendType, environment: String) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        var pinned: [Int: Resource] = [:]
        func fail(_ resource: Resource, _ path: String, _ message: String) {
            diagnostics.append(Diagnostic(at: resource.location(of: FieldPath.parse(path)), "\(resource.id): \(message)", field: path, environment: environment))
        }
        for resource in resources.sorted(by: { $0.id < $1.id }) where resource.id.kind == .deployment {
            let spec = resource.spec
            switch serving {
            case .ray:
                if spec["port"] != nil {
                    fail(resource, "spec.port", "serving runs on ray in this environment, whose HTTP proxy chooses the port: remove spec.port (it pins a port on the local backend only)")
                }
            default:
                if let replicas = spec["replicas"]?.intValue, replicas > 1 {
                    fail(resource, "spec.replicas", "replicas is \(replicas), but serving runs locally in this environment, one process per deployment: set replicas to 1 (or leave it out), or serve on ray (spec.backends.serving)")
                }
                if let port = spec["port"]?.intValue {
                    if let other = pinned[port] {
                        fail(resource, "spec.port", "port \(port) is already pinned by \(other.id) in this environment: give each deployment its own port")
                    } else {
                        pinned[port] = resource
                    }
                }
            }
        }
        return diagnostics
    }
}
