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
        // Read in place: a `for change in changes` copied (retained) every field of every change.
        var counts: [PlannedChange.Action: Int] = [:]
        var drifted = 0
        changes.withUnsafeBufferPointer { changes in
            for index in changes.indices {
                counts[changes[index].action, default: 0] += 1
                if changes[index].drift { drifted += 1 }
            }
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
        // Appended piece by piece into one string, changes read in place: at 33,000 changes,
        // interpolating a line per change and copying each change took longer than the printing.
        out.reserveCapacity(out.utf8.count + plan.changes.count * 128)
        plan.changes.withUnsafeBufferPointer { changes in
            for index in changes.indices where changes[index].action != .noop || verbose {
                write(changes[index], to: &out)
            }
        }
        return out
    }

    /// One change's lines; borrowed, so its fields are read without copying the change.
    private static func write(_ change: borrowing PlannedChange, to out: inout String) {
        out += "  "
        out += symbol(change.action)
        out += " "
        out += change.resource.description
        out += "  "
        out += change.action.rawValue
        if change.drift { out += " (drift)" }
        out += "\n"
        for field in change.fields {
            out += "      "
            out += field.path.isEmpty ? "value" : field.path
            out += ": "
            out += value(field.before)
            out += " -> "
            out += value(field.after)
            out += "\n"
        }
        for reason in change.reasons {
            out += "      because "
            out += reason
            out += "\n"
        }
        if let warning = change.warning {
            out += "      warning: "
            out += warning
            out += "\n"
        }
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
