import Foundation

/// Renders plans for people (text, Markdown) and machines (JSON).
public enum PlanRenderer {
    public static func symbol(_ action: PlannedChange.Action) -> String {
        switch action {
        case .create: return "+"
        case .update: return "~"
        case .delete: return "-"
        case .run: return ">"
        case .noop: return " "
        case .blocked: return "!"
        }
    }

    public static func summary(_ plan: Plan) -> String {
        summary(of: plan.changes)
    }

    /// "2 to create, 1 to run, 1 blocked, 1 drifted" for any subset of a plan's changes.
    public static func summary(of changes: [PlannedChange]) -> String {
        // Counted in one pass: filtering copied every change (its before, after and reasons) once
        // per action, which at 33,000 changes took longer than writing the plan out.
        var counts: [PlannedChange.Action: Int] = [:]
        var drifted = 0
        for change in changes {
            counts[change.action, default: 0] += 1
            if change.drift { drifted += 1 }
        }
        var parts: [String] = []
        for (action, word) in [(PlannedChange.Action.create, "to create"), (.update, "to update"), (.run, "to run"), (.delete, "to delete"), (.blocked, "blocked")] {
            let n = counts[action] ?? 0
            if n > 0 { parts.append("\(n) \(word)") }
        }
        if drifted > 0 { parts.append("\(drifted) drifted") }
        return parts.isEmpty ? "no changes: the actual state matches the desired state" : parts.joined(separator: ", ")
    }

    public static func value(_ v: JSONValue?) -> String {
        guard let v else { return "(none)" }
        switch v {
        case .string(let s): return s
        default: return v.canonicalJSON
        }
    }

    public static func text(_ plan: Plan, verbose: Bool = false) -> String {
        var out = "Plan for environment \(plan.environment) at \(String(plan.commit.prefix(12))): \(summary(plan))\n"
        for change in plan.changes where change.action != .noop || verbose {
            var line = "  \(symbol(change.action)) \(change.resource)  \(change.action.rawValue)"
            if change.drift { line += " (drift)" }
            out += line + "\n"
            for field in change.fields {
                out += "      \(field.path.isEmpty ? "value" : field.path): \(value(field.before)) -> \(value(field.after))\n"
            }
            for reason in change.reasons {
                out += "      because \(reason)\n"
            }
            if let warning = change.warning {
                out += "      warning: \(warning)\n"
            }
        }
        return out
    }

    public static func markdown(_ plan: Plan) -> String {
        var out = "### Environment `\(plan.environment)` at `\(String(plan.commit.prefix(12)))`\n\n\(summary(plan))\n"
        let changes = plan.changes.filter { $0.action != .noop }
        if changes.isEmpty { return out }
        out += "\n| | resource | action | details |\n|---|---|---|---|\n"
        for change in changes {
            var details = change.fields.map { "`\($0.path)`: \(escape(value($0.before))) → \(escape(value($0.after)))" }
            details += change.reasons.map(escape)
            if let warning = change.warning { details.append("⚠️ " + escape(warning)) }
            out += "| \(symbol(change.action)) | `\(change.resource)` | \(change.action.rawValue)\(change.drift ? " (drift)" : "") | \(details.joined(separator: "<br>")) |\n"
        }
        return out
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}
