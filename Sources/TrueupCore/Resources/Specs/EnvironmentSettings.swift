/// An environment's own settings, from its `environment.yaml` (never inherited through `extends`).
public struct EnvironmentSettings: Sendable, Hashable, Codable {
    public enum SyncMode: String, Sendable, Codable { case auto, manual }

    public struct Window: Sendable, Hashable, Codable {
        public enum Kind: String, Sendable, Codable { case allow, deny }
        public var kind: Kind
        public var schedule: String
        /// Seconds.
        public var duration: Double
    }

    public struct Backend: Sendable, Hashable, Codable {
        public enum BackendType: String, Sendable, Codable { case local, mlflow, ray }
        public var type: BackendType
        public var url: String?
        /// The name of the environment variable holding the token; the token itself is never stored.
        public var tokenFromEnv: String?

        public static let local = Backend(type: .local, url: nil, tokenFromEnv: nil)
    }

    /// `spec.artifacts`: where job outputs, model files and lineage records are kept.
    public struct Artifacts: Sendable, Hashable, Codable {
        public enum StoreType: String, Sendable, Codable, CaseIterable {
            /// Content-addressed folders under the state directory.
            case local
            /// Content-addressed folders under `path`, a directory shared by the machines that run jobs.
            case path
            /// MLflow's artifact proxy on the registry's server; the default with an mlflow registry.
            case mlflow
        }

        public var type: StoreType
        /// For `path`: an absolute directory.
        public var path: String?

        public init(type: StoreType, path: String? = nil) {
            self.type = type
            self.path = path
        }
    }

    public var name: String
    public var extends: [String]
    /// `spec.exclude`: inherited resources this environment leaves out (each one checked to be
    /// inherited when the environment is built).
    public var exclude: [ResourceID] {
        get { excluded ?? [] }
        set { excluded = newValue }
    }
    /// Optional in coding, so settings encoded before `spec.exclude` existed still decode.
    private var excluded: [ResourceID]?
    public var sync: SyncMode
    public var selfHeal: Bool
    public var prune: Bool
    /// Seconds between scheduled reconciliations.
    public var interval: Double
    /// `spec.healthInterval` in seconds, nil when not given (optional, so that settings encoded
    /// before it existed still decode).
    public var healthIntervalGiven: Double?
    /// Seconds between the controller's health checks of the deployments, between reconciles
    /// and off their path.
    public var healthInterval: Double { healthIntervalGiven ?? Self.defaultHealthInterval }
    public var promotionFrom: String?
    public var windows: [Window]
    public var registry: Backend
    public var jobs: Backend
    public var serving: Backend
    public var data: Backend
    /// `spec.artifacts`; nil when not given (the backend factory then picks one to suit the registry).
    public var artifacts: Artifacts?
    /// Variables as text, ready to substitute.
    public var variables: [String: String]
    /// `spec.notify`: where this environment's events go (none by default).
    public var notify: [NotifyReceiver] {
        get { notifyReceivers ?? [] }
        set { notifyReceivers = newValue }
    }
    /// Optional in coding, so settings encoded before `spec.notify` existed still decode.
    private var notifyReceivers: [NotifyReceiver]?

    private enum CodingKeys: String, CodingKey {
        case name, extends, sync, selfHeal, prune, interval, promotionFrom, windows, registry, jobs, serving, data, artifacts, variables
        case notifyReceivers = "notify"
        case excluded = "exclude"
        case healthIntervalGiven = "healthInterval"
    }

    public static let defaultSync = SyncMode.manual
    /// Ten minutes.
    public static let defaultInterval: Double = 600
    /// Thirty seconds: a dead server shows within that, not at the next reconcile.
    public static let defaultHealthInterval: Double = 30
    /// Shortest `spec.interval` accepted.
    public static let minimumInterval: Double = 1
    public static let defaultSelfHeal = false
    public static let defaultPrune = false

    public init(name: String, extends: [String] = [], exclude: [ResourceID] = [], sync: SyncMode = Self.defaultSync, selfHeal: Bool = Self.defaultSelfHeal,
                prune: Bool = Self.defaultPrune, interval: Double = Self.defaultInterval, promotionFrom: String? = nil, windows: [Window] = [],
                registry: Backend = .local, jobs: Backend = .local, serving: Backend = .local, data: Backend = .local,
                artifacts: Artifacts? = nil, variables: [String: String] = [:], notify: [NotifyReceiver] = []) {
        self.name = name
        self.extends = extends
        self.excluded = exclude
        self.sync = sync
        self.selfHeal = selfHeal
        self.prune = prune
        self.interval = interval
        self.promotionFrom = promotionFrom
        self.windows = windows
        self.registry = registry
        self.jobs = jobs
        self.serving = serving
        self.data = data
        self.artifacts = artifacts
        self.variables = variables
        self.notifyReceivers = notify
    }

    /// Decodes the `spec` of environment `name` (schema-checked), applying the defaults and
    /// reporting through `fail(path, message)` the rules no schema can express. `environments`
    /// are the environments of the repository (`spec.promotion.from` must name another one);
    /// `variables` are the values of `spec.variables` as text.
    static func decode(name: String, spec: JSONValue, variables: [String: String], environments: Set<String>, specRoot: String,
                       fail: (_ path: String, _ message: String) -> Void) -> EnvironmentSettings {
        var settings = EnvironmentSettings(name: name, variables: variables)
        settings.extends = spec["extends"]?.strings ?? []
        // The schema's pattern admits only Kind/name of a managed kind.
        settings.exclude = (spec["exclude"]?.strings ?? []).compactMap(ResourceID.init(parsing:))
        settings.sync = spec["sync"]?.stringValue.flatMap(SyncMode.init(rawValue:)) ?? Self.defaultSync
        settings.selfHeal = spec["selfHeal"]?.boolValue ?? Self.defaultSelfHeal
        settings.prune = spec["prune"]?.boolValue ?? Self.defaultPrune
        if let text = spec["healthInterval"]?.stringValue {
            if let seconds = DurationSyntax.seconds(text), seconds >= Self.minimumInterval { settings.healthIntervalGiven = seconds } else {
                fail("spec.healthInterval", "'\(text)' is not a duration of at least 1s: write e.g. 10s, 30s or 1m")
            }
        }
        if let text = spec["interval"]?.stringValue {
            if let seconds = DurationSyntax.seconds(text), seconds >= Self.minimumInterval { settings.interval = seconds } else {
                fail("spec.interval", "'\(text)' is not a duration of at least 1s: write e.g. 30s, 10m or 1h")
            }
        }
        for (i, window) in (spec["windows"]?.arrayValue ?? []).enumerated() {
            let schedule = window["schedule"]?.stringValue ?? ""
            do { _ = try CronSchedule(schedule) } catch { fail("spec.windows[\(i)].schedule", "\(error): write five fields, e.g. \"0 17 * * 5\"") }
            let durationText = window["duration"]?.stringValue ?? ""
            guard let duration = DurationSyntax.seconds(durationText), duration > 0 else {
                fail("spec.windows[\(i)].duration", "'\(durationText)' is not a positive duration: write e.g. 2h or 64h")
                continue
            }
            settings.windows.append(Window(kind: window["kind"]?.stringValue.flatMap(Window.Kind.init(rawValue:)) ?? .deny, schedule: schedule, duration: duration))
        }
        if let from = spec["promotion"]?["from"]?.stringValue {
            settings.promotionFrom = from
            if from == name { fail("spec.promotion.from", "an environment cannot promote from itself: name another environment") }
            else if !environments.contains(from) { fail("spec.promotion.from", "promotion source '\(from)' is not an environment under \(specRoot)/: fix the name (environments: \(environments.sorted().joined(separator: ", ")))") }
        }
        func backend(_ role: String) -> Backend {
            guard let b = spec["backends"]?[role] else { return .local }
            let type = b["type"]?.stringValue.flatMap(Backend.BackendType.init(rawValue:)) ?? .local
            let url = b["url"]?.stringValue
            if type != .local, url == nil { fail("spec.backends.\(role)", "\(type == .mlflow ? "an" : "a") \(type.rawValue) backend needs a url, e.g. url: \"http://127.0.0.1:\(type == .mlflow ? 5000 : 8265)\"") }
            if type == .mlflow, role == "jobs" || role == "serving" || role == "data" {
                fail("spec.backends.\(role).type", "mlflow holds models and prompts only: use local or ray for \(role)")
            }
            if type == .ray, role == "registry" || role == "data" {
                fail("spec.backends.\(role).type", "ray runs jobs and serving only: use local or mlflow for \(role)")
            }
            return Backend(type: type, url: url, tokenFromEnv: b["tokenFromEnv"]?.stringValue)
        }
        settings.registry = backend("registry")
        settings.jobs = backend("jobs")
        settings.serving = backend("serving")
        settings.data = backend("data")
        if let artifacts = spec["artifacts"] {
            settings.artifacts = decodeArtifacts(artifacts, fail: fail)
        }
        settings.notify = NotifyReceiver.decodeAll(spec["notify"], fail: fail)
        // A Ray worker has its own disk: what the local store keeps on trueup's never reaches it.
        let store = settings.artifacts?.type ?? (settings.registry.type == .mlflow ? .mlflow : .local)
        for (role, chosen) in [("jobs", settings.jobs), ("serving", settings.serving)] where chosen.type == .ray && store == .local {
            fail(spec["artifacts"] == nil ? "spec.backends.\(role)" : "spec.artifacts.type",
                 "\(role == "jobs" ? "jobs run" : "serving runs") on Ray, which cannot read the local artifact store on trueup's disk: set spec.artifacts to {type: path, path: <a folder mounted at the same path on trueup's machine and on every node>}, or use an mlflow registry")
        }
        return settings
    }

    private static func decodeArtifacts(_ value: JSONValue, fail: (_ path: String, _ message: String) -> Void) -> Artifacts? {
        let text = value["type"]?.stringValue ?? ""
        guard let type = Artifacts.StoreType(rawValue: text) else {
            // The schema's enum says the same; kept for a schema that grows a type this build lacks.
            fail("spec.artifacts.type", "unknown artifact store type '\(text)': use one of \(Artifacts.StoreType.allCases.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        let path = value["path"]?.stringValue
        switch type {
        case .path:
            guard let path else {
                fail("spec.artifacts", "an artifact store of type path needs spec.artifacts.path, an absolute directory: add it, e.g. path: /srv/trueup/artifacts")
                return nil
            }
            guard path.hasPrefix("/") else {
                fail("spec.artifacts.path", "'\(path)' is not absolute: give the full path of the directory, e.g. /srv/trueup/artifacts")
                return nil
            }
        case .mlflow:
            if path != nil {
                fail("spec.artifacts.path", "the mlflow artifact store keeps artifacts on the registry's MLflow server and takes no path: remove spec.artifacts.path")
                return nil
            }
        case .local:
            if path != nil {
                fail("spec.artifacts.path", "the local artifact store lives in the state directory and takes no path: remove spec.artifacts.path, or set type: path to keep artifacts there")
                return nil
            }
        }
        return Artifacts(type: type, path: path)
    }
}
