import TrueupCore

/// MLflow's rules for alias names: `^[\w\-]*$`, and `latest` and `v<digits>` are its own (the
/// newest version, and version numbers), so they can never be set.
enum MLflowAlias {
    static func check(_ alias: String, on name: String) throws {
        let lowered = alias.lowercased()
        if lowered == "latest" || (lowered.count > 1 && lowered.first == "v" && lowered.dropFirst().allSatisfy(\.isNumber)) {
            throw BackendError("alias \"\(alias)\" of \(name) is reserved by MLflow (latest and v<digits> name versions): choose another alias in the resource's spec.alias")
        }
        if alias.isEmpty || !alias.unicodeScalars.allSatisfy({ $0 == "_" || $0 == "-" || $0.properties.isAlphabetic || $0.properties.numericType != nil }) {
            throw BackendError("alias \"\(alias)\" of \(name) is not a valid MLflow alias (letters, digits, _ and - only): change the resource's spec.alias")
        }
    }
}
