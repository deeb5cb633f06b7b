import Foundation
import Hummingbird
import TrueupCore
import TrueupStore

/// The dashboard at `/`: one server-rendered HTML page, no script, refreshing itself every few
/// seconds. It shows what a person asks first: which environments are in sync, which assets
/// moved or drifted, what the last commit was, and how the recent runs went (with their logs).
struct DashboardPage {
    struct Run {
        var run: ReconcileRun
        var failedActions: Int
    }

    var snapshot: ControllerStatus.Snapshot
    var environments: [EnvironmentView]
    var runs: [Run]
    var now: Double
    var refreshSeconds = 5
    /// The key the Sync forms carry (the page is only served to someone who gave the token); nil:
    /// no Sync buttons.
    var formKey: String?

    static func gather(_ context: ControllerContext, now: Double = Date().timeIntervalSince1970) throws -> DashboardPage {
        let store = context.workspace.store
        let runs = try store.runs(environment: nil, limit: 15).map { run in
            Run(run: run, failedActions: (try? store.actions(runID: run.id).filter { $0.status == .failed }.count) ?? 0)
        }
        return DashboardPage(snapshot: context.status.snapshot, environments: try EnvironmentViews.all(context, detailed: true), runs: runs, now: now,
                             formKey: context.configuration.apiToken.map { AccessControl<BasicRequestContext>.formKey(for: $0) })
    }

    func render() -> String {
        var html = """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta http-equiv="refresh" content="\(refreshSeconds)">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>trueup · \(escape(snapshot.source.branch)) · \(environments.count) environment\(environments.count == 1 ? "" : "s")</title>
            <style>\(Self.style)</style>
            </head>
            <body>
            <header>
            <h1>trueup</h1>
            <p class="where"><span>\(escape(snapshot.source.url))</span> · branch <code>\(escape(snapshot.source.branch))</code> · <span class="role" id="role">\(escape(snapshot.role.description))</span></p>
            </header>
            <main>

            """
        html += commitSection()
        html += environmentSection()
        html += matrixSection()
        html += runsSection()
        html += """
            </main>
            <footer>Refreshes every \(refreshSeconds) s · rendered \(escape(Self.clock(now))) UTC · <a href="/api/v1/environments">JSON API</a> · <a href="/metrics">metrics</a></footer>
            </body>
            </html>

            """
        return html
    }

    // MARK: - Sections

    private func commitSection() -> String {
        var html = "<section id=\"commit\"><h2>Last commit</h2>\n"
        if let head = snapshot.source.head {
            let subject = head.message.split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init) ?? ""
            html += "<p class=\"commit\"><code class=\"sha\" title=\"\(escape(head.commit))\">\(escape(head.shortCommit))</code> <span class=\"author\">\(escape(head.author))</span> <span class=\"message\">\(escape(subject))</span>"
            html += head.time > 0 ? " <span class=\"muted\">committed \(escape(ago(Double(head.time))))</span>" : ""
            html += "</p>\n"
        } else {
            html += "<p class=\"muted\">The repository has not been read yet.</p>\n"
        }
        if let error = snapshot.source.fetchError {
            html += "<p class=\"alert\" id=\"source-error\"><strong>Git is unreachable or unreadable:</strong> \(escape(error)). Every environment stays at its last good revision.</p>\n"
        } else if let fetched = snapshot.source.lastSuccessfulFetchAt {
            html += "<p class=\"muted\">Fetched \(escape(ago(fetched))).</p>\n"
        }
        return html + "</section>\n"
    }

    private func environmentSection() -> String {
        var html = "<section id=\"environments\"><h2>Environments</h2>\n"
        guard !environments.isEmpty else {
            return html + "<p class=\"muted\">No environment yet.</p></section>\n"
        }
        html += "<table><thead><tr><th>Environment</th><th>State</th><th>Health</th><th>Sync</th><th>Applied</th><th>Drift</th><th>Last reconcile</th><th>Next</th>\(formKey == nil ? "" : "<th></th>")</tr></thead><tbody>\n"
        for environment in environments {
            let sync = environment.sync.map { "\($0)\(environment.selfHeal == true ? " · selfHeal" : "")\(environment.prune == true ? " · prune" : "")" } ?? "—"
            let applied = environment.revisions.lastApplied.map { "<code>\(escape(String($0.prefix(12))))</code>" } ?? "never"
            var state = badge(environment.state) + (environment.reconciling ? " <span class=\"muted\">reconciling…</span>" : "")
            if let problem = environment.sourceProblem {
                let kept = environment.revisions.lastGood.map { "kept at <code>\(escape(String($0.prefix(12))))</code>: " } ?? ""
                state += "<div class=\"alert small\" title=\"\(escape(problem))\">\(kept)\(escape(Self.brief(problem, limit: 400)))</div>"
            }
            let last = environment.lastReconcile.map { r in
                "\(escape(r.outcome)) \(escape(ago(r.finishedAt.seconds))) <div class=\"small muted\" title=\"\(escape(r.message))\">\(escape(Self.brief(r.message)))</div>"
            } ?? "—"
            let next = environment.nextReconcileAt.map(\.seconds).map { $0 <= now ? "due" : "in " + DurationSyntax.format($0 - now) } ?? "—"
            let drift = environment.drift.isEmpty ? "<span class=\"muted\">none</span>"
                : "<span class=\"drift\">\(environment.drift.count)</span>" + environment.drift.map {
                    "<div class=\"small\" title=\"\(escape($0.description))\">\(escape("\($0.resource): \(Self.brief($0.description))"))</div>"
                }.joined()
            // Observed by the latest health check, not taken from the last apply.
            var health = "<span class=\"muted\">not checked yet</span>"
            if let observed = environment.health {
                health = badge(observed.status) + " <span class=\"small muted\">\(escape(ago(observed.observedAt.seconds)))</span>"
                for deployment in observed.deployments where deployment.status != .healthy {
                    health += "<div class=\"small\" title=\"\(escape(deployment.message ?? ""))\">\(escape("\(deployment.resource): \(deployment.status.rawValue) \(Self.brief(deployment.message ?? ""))"))</div>"
                }
            }
            // Notifications that have not gone out: a receiver down or refusing is a problem to fix.
            for backlog in environment.notifications {
                let what = [backlog.pending > 0 ? "\(backlog.pending) undelivered" : nil, backlog.failed > 0 ? "\(backlog.failed) failed" : nil].compactMap { $0 }.joined(separator: ", ")
                state += "<div class=\"small alert\" data-notifications=\"\(escape(backlog.receiver))\" title=\"\(escape(backlog.lastError ?? ""))\">notifications to \(escape(backlog.receiver)): \(escape(what))</div>"
            }
            html += "<tr data-environment=\"\(escape(environment.name))\" data-state=\"\(escape(environment.state))\" data-health=\"\(escape(environment.health?.status ?? "Unknown"))\"><th>\(escape(environment.name))</th><td>\(state)</td><td>\(health)</td><td>\(escape(sync))</td><td>\(applied)</td><td>\(drift)</td><td>\(last)</td><td>\(escape(next))</td>\(syncCell(environment.name))</tr>\n"
        }
        return html + "</tbody></table></section>\n"
    }

    /// Environments across, assets down: each cell says where that asset stands in that environment.
    private func matrixSection() -> String {
        var html = "<section id=\"assets\"><h2>Assets</h2>\n"
        var assets: [String: [String: EnvironmentView.Asset]] = [:]
        for environment in environments {
            for asset in environment.assets ?? [] { assets[asset.resource, default: [:]][environment.name] = asset }
        }
        guard !assets.isEmpty else { return html + "<p class=\"muted\">No asset yet.</p></section>\n" }
        html += "<table class=\"matrix\"><thead><tr><th>Asset</th>"
        for environment in environments { html += "<th>\(escape(environment.name))</th>" }
        html += "</tr></thead><tbody>\n"
        for resource in assets.keys.sorted(by: Self.assetOrder) {
            html += "<tr data-asset=\"\(escape(resource))\"><th>\(escape(resource))</th>"
            for environment in environments {
                guard let asset = assets[resource]?[environment.name] else {
                    html += "<td class=\"absent\" data-environment=\"\(escape(environment.name))\">—</td>"
                    continue
                }
                let version = asset.version.map { " <code class=\"version\">\(escape($0))</code>" } ?? ""
                let title = asset.detail.map { " title=\"\(escape($0))\"" } ?? ""
                let gates = (asset.gates ?? []).map { "<div class=\"small gate\">\(escape($0))</div>" }.joined()
                html += "<td data-environment=\"\(escape(environment.name))\" data-state=\"\(escape(asset.state))\"\(title)>\(badge(asset.state))\(version)\(gates)</td>"
            }
            html += "</tr>\n"
        }
        return html + "</tbody></table></section>\n"
    }

    private func runsSection() -> String {
        var html = "<section id=\"runs\"><h2>Recent runs</h2>\n"
        guard !runs.isEmpty else { return html + "<p class=\"muted\">No run yet.</p></section>\n" }
        html += "<table><thead><tr><th>Run</th><th>Environment</th><th>Outcome</th><th>Commit</th><th>Trigger</th><th>Started</th><th>Took</th><th>Logs</th></tr></thead><tbody>\n"
        for entry in runs {
            let run = entry.run
            let took = run.finishedAt.map { DurationSyntax.format(max(0, $0 - run.startedAt)) } ?? "running"
            let subject = run.message.split(separator: "\n").first.map(String.init) ?? ""
            let failed = entry.failedActions > 0 ? " <span class=\"small\">(\(entry.failedActions) failed)</span>" : ""
            html += "<tr data-run=\"\(run.id)\"><td>#\(run.id)</td><td>\(escape(run.environment))</td><td>\(badge(run.outcome))\(failed)</td>"
            html += "<td><code title=\"\(escape(run.commit))\">\(escape(String(run.commit.prefix(12))))</code> <span class=\"small muted\">\(escape(run.author)) · \(escape(subject))</span></td>"
            html += "<td>\(escape(run.trigger))</td><td title=\"\(escape(Self.clock(run.startedAt)))\">\(escape(ago(run.startedAt)))</td><td>\(escape(took))</td>"
            html += "<td><a href=\"/api/v1/runs/\(run.id)/logs\">logs</a></td></tr>\n"
        }
        return html + "</tbody></table></section>\n"
    }

    // MARK: - Pieces

    /// A form, not a script: it posts the environment's sync with the page's form key.
    private func syncCell(_ environment: String) -> String {
        guard let formKey else { return "" }
        return "<td><form method=\"post\" action=\"\(AccessControl<BasicRequestContext>.dashboardSyncPrefix)\(escape(environment))\" class=\"sync\">"
            + "<input type=\"hidden\" name=\"key\" value=\"\(escape(formKey))\"><button type=\"submit\" data-sync=\"\(escape(environment))\">Sync</button></form></td>"
    }

    private func badge(_ state: String) -> String {
        let tone: String
        switch state.lowercased() {
        case "synced", "succeeded", "applied", "insync", "healthy": tone = "ok"
        case "drifted", "outofsync", "progressing", "create", "update", "run", "delete", "running", "notapplied", "unknown": tone = "warn"
        case "blocked", "invalid": tone = "muted-badge"
        default: tone = "bad"
        }
        return "<span class=\"badge \(tone)\">\(escape(state))</span>"
    }

    private func ago(_ time: Double) -> String {
        let seconds = now - time
        return seconds < 1 ? "just now" : "\(DurationSyntax.format(seconds)) ago"
    }

    static func clock(_ time: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime, .withSpaceBetweenDateAndTime]
        return formatter.string(from: Date(timeIntervalSince1970: time))
    }

    /// Kinds in the order data flows (datasets, jobs, models, prompts, deployments), then names.
    static func assetOrder(_ a: String, _ b: String) -> Bool {
        let order = ["Dataset", "Job", "Model", "Prompt", "Deployment"]
        func key(_ text: String) -> (Int, String) {
            let kind = String(text.prefix { $0 != "/" })
            return (order.firstIndex(of: kind) ?? order.count, text)
        }
        return key(a) < key(b)
    }

    private func escape(_ text: String) -> String { HTML.escape(text) }

    /// Long hashes cut to 12 characters and long text to `limit`: the full text is in the title.
    static func brief(_ text: String, limit: Int = 160) -> String {
        let short = text.replacing(/[0-9a-f]{40,64}/) { String($0.output.prefix(12)) }
        return short.count > limit ? String(short.prefix(limit - 1)) + "…" : short
    }

    static let style = """
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2230;background:#f6f7f9}
        header{background:#1d2230;color:#fff;padding:12px 24px}header h1{margin:0;font-size:20px}
        .where{margin:4px 0 0;color:#c9cede}.where code{color:#fff;background:#384056}.role{font-weight:600}
        main{padding:8px 24px 24px}section{background:#fff;border:1px solid #dfe3ea;border-radius:6px;padding:12px 16px;margin:16px 0}
        h2{font-size:16px;margin:0 0 8px}table{border-collapse:collapse;width:100%}
        th,td{text-align:left;padding:6px 8px;border-top:1px solid #edf0f4;vertical-align:top}thead th{border-top:none;color:#5b6478;font-weight:600}
        code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f0f2f6;padding:1px 4px;border-radius:3px}
        .badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600}
        .ok{background:#dcf5e3;color:#116329}.warn{background:#fff1c2;color:#7a5300}.bad{background:#fde0de;color:#a40e26}.muted-badge{background:#e8eaef;color:#4a5161}
        .alert{background:#fde0de;color:#6e0b1b;padding:6px 10px;border-radius:4px;margin:6px 0}
        .small{font-size:12px;max-width:520px;overflow-wrap:anywhere}.muted{color:#6b7385}.drift{font-weight:700;color:#7a5300}
        .matrix td{white-space:nowrap}form.sync{margin:0}.absent{color:#b6bcc8}
        footer{color:#6b7385;padding:0 24px 24px;font-size:12px}a{color:#0b57d0}
        """
}

enum HTML {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
