import Foundation

/// The flags a printed hint must carry so that the command it names works when pasted where the
/// user is: `--repo`, `--path` and `--state-dir` when they are not the defaults.
enum CommandHints {
    static func flags(repo: String, path: String, stateDir: String?) -> String {
        var flags = ""
        if repo != "." { flags += " --repo \(quoted(repo))" }
        if path != "environments" { flags += " --path \(quoted(path))" }
        if let stateDir { flags += " --state-dir \(quoted(stateDir))" }
        return flags
    }

    /// Single-quoted for a POSIX shell when it holds anything but plain path characters.
    static func quoted(_ text: String) -> String {
        let plain = text.allSatisfy { $0.isLetter || $0.isNumber || "/._-+=:,@".contains($0) }
        return plain && !text.isEmpty ? text : "'" + text.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }
}

extension RepositoryOptions {
    /// ` --repo R --state-dir S` as far as they differ from the defaults.
    var hintFlags: String { CommandHints.flags(repo: repo, path: path, stateDir: stateDir) }
}
