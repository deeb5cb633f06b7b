import Foundation
import TrueupCore

/// How MLflow 3 stores a prompt (reference/mlflow.md, Prompts): a registered model tagged
/// `mlflow.prompt.is_prompt=true` whose versions carry the template and the model config as tags,
/// with the source `dummy-source`. Written exactly so, `mlflow.genai.load_prompt` reads them.
enum MLflowPromptTags {
    static let isPrompt = "mlflow.prompt.is_prompt"
    static let text = "mlflow.prompt.text"
    static let type = "_mlflow_prompt_type"
    static let modelConfig = "_mlflow_prompt_model_config"
    /// MLflow refuses any other source for a prompt version.
    static let source = "dummy-source"

    /// The tags of a new version. A template that is a JSON list of `{role, content}` messages is
    /// a chat prompt (MLflow stores chat prompts as that JSON); anything else is text.
    static func tags(template: String, config: JSONValue, hash: String) -> [String: String] {
        var tags = [isPrompt: "true", text: template, type: isChat(template) ? "chat" : "text", MLflowTags.contentDigest: hash]
        if let members = config.objectValue, !members.isEmpty { tags[modelConfig] = config.canonicalJSON }
        return tags
    }

    static func isChat(_ template: String) -> Bool {
        guard template.first == "[", let parsed = try? JSONValue.parse(Data(template.utf8)), let messages = parsed.arrayValue, !messages.isEmpty else { return false }
        return messages.allSatisfy { $0["role"]?.stringValue != nil && $0["content"] != nil }
    }

    /// A prompt version as trueup sees it. Versions made outside trueup have no content tag: their
    /// hash is computed, so an equal template and config are still recognised.
    static func info(_ version: MLflowAPI.ModelVersion) -> PromptVersionInfo {
        var tags = version.tagMap
        let template = tags[text] ?? ""
        let config = tags[modelConfig].flatMap { try? JSONValue.parse(Data($0.utf8)) } ?? .object([:])
        let hash = tags[MLflowTags.contentDigest] ?? PromptContent.hash(template: template, config: config)
        // MLflow's own bookkeeping (the template again, the type) is not reported as tags.
        for key in tags.keys where key.hasPrefix("mlflow.prompt.") || key.hasPrefix("_mlflow_") { tags[key] = nil }
        return PromptVersionInfo(prompt: version.name, version: version.version, contentHash: hash, template: template, config: config, tags: tags)
    }
}
