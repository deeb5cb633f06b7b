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

    /// `spec.artifacts`: where job outputs live (`local`, `path` with its shared folder, `mlflow`).
    public struct Artifacts: Sendable, Hashable, Codable {
        public var type: String
        public var path: String?

        public init(type: String, path: String?) {
            self.type = type
            self.path = path
        }
    }

    public var name: String
    public var extends: [String]
    public var sync: SyncMode
    public var selfHeal: Bool
    public var prune: Bool
    /// Seconds between scheduled reconciliations.
    public var interval: Double
    public var promotionFrom: String?
    public var windows: [Window]
    public var registry: Backend
    public var jobs: Backend
    public var serving: Backend
    public var data: Backend
    /// Variables as text, ready to substitute.
    public var variables: [String: String]
    /// nil: the default store (local, or mlflow with an mlflow registry).
    public var artifacts: Artifacts? = nil
}
