import Foundation
import Synchronization
import TrueupCore
import TrueupStore

/// The roles an environment's `spec.backends` assigns.
public enum BackendRole: String, Sendable, CaseIterable {
    case registry, jobs, serving, data
}

/// What a backend constructor is given: the environment, the role's settings from `spec.backends`,
/// trueup's state, and the environment's artifact store (already made).
public struct BackendContext: Sendable {
    public let environment: String
    public let role: BackendRole
    public let settings: EnvironmentSettings.Backend
    public let stateDirectory: String
    public let store: StateStore
    public let artifacts: any ArtifactStore
    let shared: SharedLocalStore

    public var paths: LocalPaths { LocalPaths(stateDirectory: stateDirectory) }

    /// The local backend's tables in the state database, opened once per factory.
    public func localStore() throws -> LocalBackendStore { try shared.get(store) }
}

/// What an artifact store constructor is given.
public struct ArtifactStoreContext: Sendable {
    public let environment: String
    /// The type chosen (`local`, `path`, later `mlflow`).
    public let type: String
    /// `spec.artifacts.path`: the absolute directory a `path` store keeps its folders in.
    public let path: String?
    /// The registry's settings: an `mlflow` store talks to the same server.
    public let registry: EnvironmentSettings.Backend
    public let stateDirectory: String
}

/// The one place that turns an environment's `spec.backends` into backends.
///
/// Each backend type registers constructors for the roles it can play; a role left out is a role
/// the type cannot play. Registering a new type (MLflow, Ray) is adding one `register…` call to
/// `BackendFactory.standard`, next to `registerLocal()`:
///
///     factory.register("mlflow", registry: { context in try MLflowRegistry(url: ..., token: ...) })
///     factory.registerArtifactStore("mlflow") { context in try MLflowArtifactStore(...) }
///
/// An environment asking for a type (or a role of a type) nobody registered gets an error naming
/// the environment, the field and what to do.
public struct BackendFactory: Sendable {
    public typealias Make<Role> = @Sendable (BackendContext) throws -> Role

    struct Constructors: Sendable {
        var registry: Make<any RegistryBackend>?
        var jobs: Make<any JobBackend>?
        var serving: Make<any ServingBackend>?
        var data: Make<any DataBackend>?
    }

    var types: [String: Constructors] = [:]
    var artifactStores: [String: @Sendable (ArtifactStoreContext) throws -> any ArtifactStore] = [:]
    let shared = SharedLocalStore()

    public init() {}

    /// Every backend type this build of trueup has.
    public static var standard: BackendFactory {
        var factory = BackendFactory()
        factory.registerLocal()
        factory.registerRay()
        factory.registerMLflow()
        return factory
    }

    /// A Ray cluster (`{type: ray, url: <dashboard>, tokenFromEnv: VAR}`): jobs through its Jobs API,
    /// deployments as Serve applications.
    public mutating func registerRay() {
        register("ray", jobs: { context in
            try RayJobs(
                url: context.settings.url ?? "", token: try RayJobs.token(context.settings, environment: context.environment, role: context.role.rawValue),
                environment: context.environment, store: try context.localStore(), paths: context.paths, artifacts: context.artifacts)
        }, serving: { context in
            try RayServing(
                url: context.settings.url ?? "", token: try RayJobs.token(context.settings, environment: context.environment, role: context.role.rawValue),
                environment: context.environment, artifacts: context.artifacts)
        })
    }

    /// Adds (or replaces) the constructors of backend type `type`, one per role it can play.
    public mutating func register(
        _ type: String, registry: Make<any RegistryBackend>? = nil, jobs: Make<any JobBackend>? = nil,
        serving: Make<any ServingBackend>? = nil, data: Make<any DataBackend>? = nil
    ) {
        var constructors = types[type] ?? Constructors()
        if let registry { constructors.registry = registry }
        if let jobs { constructors.jobs = jobs }
        if let serving { constructors.serving = serving }
        if let data { constructors.data = data }
        types[type] = constructors
    }

    /// Adds the artifact store of type `type` (`spec.artifacts.type`).
    public mutating func registerArtifactStore(_ type: String, _ make: @escaping @Sendable (ArtifactStoreContext) throws -> any ArtifactStore) {
        artifactStores[type] = make
    }

    /// The embedded default: SQLite registry, data catalog on disk, jobs and deployments as local
    /// processes, artifacts under the state directory.
    public mutating func registerLocal() {
        register(
            "local",
            registry: { context in LocalRegistry(store: try context.localStore(), paths: context.paths) },
            jobs: { context in LocalJobs(store: try context.localStore(), paths: context.paths, artifacts: context.artifacts) },
            serving: { context in LocalServing(store: try context.localStore(), paths: context.paths) },
            data: { context in LocalDataCatalog(store: try context.localStore(), paths: context.paths) })
        registerArtifactStore("local") { context in LocalArtifactStore(paths: LocalPaths(stateDirectory: context.stateDirectory)) }
        registerArtifactStore("path") { context in
            guard let path = context.path else {
                throw BackendError("environment \(context.environment): spec.artifacts has type path but no path: set spec.artifacts.path to the folder where the shared filesystem is mounted on trueup's machine and on every node, e.g. {type: path, path: /mnt/shared/trueup}")
            }
            return try PathArtifactStore(path: path, environment: context.environment)
        }
    }

    /// Models and prompts in an MLflow tracking server (`spec.backends.registry: {type: mlflow,
    /// url, tokenFromEnv}`). Model files are uploaded from the environment's artifact store.
    public mutating func registerMLflow() {
        register("mlflow", registry: { context in
            MLflowRegistry(client: try MLflowConnection.client(for: context.settings, environment: context.environment), environment: context.environment, artifacts: context.artifacts)
        })
        registerArtifactStore("mlflow") { context in
            guard context.registry.type == .mlflow else {
                throw BackendError("environment \(context.environment): spec.artifacts has type mlflow, which keeps artifacts on the registry's MLflow server, but spec.backends.registry is \(context.registry.type.rawValue): set spec.backends.registry to {type: mlflow, url: ...}, or choose another spec.artifacts.type")
            }
            return MLflowArtifactStore(client: try MLflowConnection.client(for: context.registry, environment: context.environment), stateDirectory: context.stateDirectory)
        }
    }

    /// The backend types registered, sorted.
    public var registeredTypes: [String] { types.keys.sorted() }

    /// The artifact store type an environment gets: `explicit` (`spec.artifacts.type`) when given;
    /// otherwise its registry's type when that type has a store (DESIGN §7: MLflow's artifact proxy
    /// goes with an MLflow registry), else `local`.
    public func artifactStoreType(for settings: EnvironmentSettings, explicit: String? = nil) -> String {
        if let explicit { return explicit }
        let registry = settings.registry.type.rawValue
        return registry != "local" && artifactStores[registry] != nil ? registry : "local"
    }

    /// The backends `settings` (`spec.backends`) asks for.
    /// `artifactsType` and `artifactsPath` are `spec.artifacts` (`EnvironmentSettings.artifacts`).
    public func backends(for settings: EnvironmentSettings, stateDirectory: String, store: StateStore, artifactsType: String? = nil,
                         artifactsPath: String? = nil) throws -> Backends {
        let artifactType = artifactStoreType(for: settings, explicit: artifactsType)
        guard let makeStore = artifactStores[artifactType] else {
            throw BackendError("environment \(settings.name): spec.artifacts has type \(artifactType), which this build of trueup does not provide (available: \(artifactStores.keys.sorted().joined(separator: ", "))): set spec.artifacts.type to one of those in its environment.yaml")
        }
        let artifacts = try makeStore(ArtifactStoreContext(environment: settings.name, type: artifactType, path: artifactsPath, registry: settings.registry, stateDirectory: stateDirectory))
        func context(_ role: BackendRole, _ backend: EnvironmentSettings.Backend) -> BackendContext {
            BackendContext(environment: settings.name, role: role, settings: backend, stateDirectory: stateDirectory, store: store, artifacts: artifacts, shared: shared)
        }
        func make<Role>(_ role: BackendRole, _ backend: EnvironmentSettings.Backend, _ pick: (Constructors) -> Make<Role>?) throws -> Role {
            let type = backend.type.rawValue
            guard let constructors = types[type] else {
                throw BackendError("environment \(settings.name): spec.backends.\(role.rawValue) has type \(type), which this build of trueup does not provide (available: \(registeredTypes.joined(separator: ", "))): set spec.backends.\(role.rawValue).type to one of those in its environment.yaml, or use a build of trueup with the \(type) backend")
            }
            guard let make = pick(constructors) else {
                let able = types.filter { pick($0.value) != nil }.keys.sorted()
                throw BackendError("environment \(settings.name): spec.backends.\(role.rawValue) has type \(type), but the \(type) backend cannot be used for \(role.rawValue) (types that can: \(able.joined(separator: ", "))): change spec.backends.\(role.rawValue).type in its environment.yaml")
            }
            return try make(context(role, backend))
        }
        return Backends(
            registry: try make(.registry, settings.registry) { $0.registry },
            jobs: try make(.jobs, settings.jobs) { $0.jobs },
            serving: try make(.serving, settings.serving) { $0.serving },
            data: try make(.data, settings.data) { $0.data },
            artifacts: artifacts)
    }
}

/// The local backend's store, opened on first use and kept: opening checks its tables.
final class SharedLocalStore: Sendable {
    private let opened = Mutex<(store: ObjectIdentifier, local: LocalBackendStore)?>(nil)

    func get(_ store: StateStore) throws -> LocalBackendStore {
        try opened.withLock { slot in
            if let slot, slot.store == ObjectIdentifier(store) { return slot.local }
            let local = try LocalBackendStore(store: store)
            slot = (ObjectIdentifier(store), local)
            return local
        }
    }
}
