/// Prompt versions are content-addressed by template and model config: the planner and every
/// registry compute the same hash, so an existing version is recognised and never created twice.
public enum PromptContent {
    public static func hash(template: String, config: JSONValue) -> String {
        ContentDigest.sha256(template + "\u{0}" + config.canonicalJSON)
    }
}
