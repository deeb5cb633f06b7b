/// `spec.resources` of a Job or Deployment: what a backend that schedules work (ray) reserves.
public struct ComputeResources: Sendable, Hashable {
    public var cpus: Double?
    public var memoryMB: Int?
    /// 0 unless given.
    public var gpus: Int

    public static let defaultGPUs = 0

    public init(cpus: Double? = nil, memoryMB: Int? = nil, gpus: Int = Self.defaultGPUs) {
        self.cpus = cpus
        self.memoryMB = memoryMB
        self.gpus = gpus
    }

    init?(_ value: JSONValue?) {
        guard let value, value.objectValue != nil else { return nil }
        self.init(cpus: value["cpus"]?.doubleValue, memoryMB: value["memoryMB"]?.intValue, gpus: value["gpus"]?.intValue ?? Self.defaultGPUs)
    }
}
