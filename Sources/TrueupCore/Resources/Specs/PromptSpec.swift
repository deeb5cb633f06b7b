/// A Prompt's `spec`: a template (with its model config) registered as immutable versions.
public struct PromptSpec: Sendable, Hashable {
    public enum PromptType: String, Sendable, Hashable {
        case text, chat
    }

    /// The template, inline.
    public var template: String?
    /// Or a repository file holding it.
    public var templateFile: String?
    public var type: PromptType
    /// Free-form configuration registered with the template.
    public var modelConfig: [String: JSONValue]
    public var registry: RegistryEntry
    public var gates: [Gate]
    public var dependsOn: [String]

    public static let defaultType = PromptType.text

    public init(template: String? = nil, templateFile: String? = nil, type: PromptType = Self.defaultType, modelConfig: [String: JSONValue] = [:],
                registry: RegistryEntry = RegistryEntry(), gates: [Gate] = [], dependsOn: [String] = []) {
        self.template = template
        self.templateFile = templateFile
        self.type = type
        self.modelConfig = modelConfig
        self.registry = registry
        self.gates = gates
        self.dependsOn = dependsOn
    }

    init(_ spec: JSONValue) {
        self.init(template: spec["template"]?.stringValue, templateFile: spec["templateFile"]?.stringValue,
                  type: spec["type"]?.stringValue.flatMap(PromptType.init(rawValue:)) ?? Self.defaultType,
                  modelConfig: spec["modelConfig"]?.objectValue ?? [:], registry: RegistryEntry(spec),
                  gates: Gate.list(spec), dependsOn: spec["dependsOn"]?.strings ?? [])
    }

    /// The config registered with the template: `modelConfig` plus the prompt's `type`.
    public var registeredConfig: JSONValue {
        var config = modelConfig
        config["type"] = .string(type.rawValue)
        return .object(config)
    }

    var references: [SpecReference] { gates.references }

    func checkRules<Rules: SpecRuleChecking>(_ rules: inout Rules) {
        rules.exactlyOne([("template", template != nil), ("templateFile", templateFile != nil)], of: "template")
        rules.repositoryPath("spec.templateFile", templateFile, .file)
        rules.checkGates(gates)
    }
}
