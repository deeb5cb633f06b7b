import Foundation
import Hummingbird
import TrueupCore
import TrueupEngine
import TrueupStore

/// The JSON API under `/api/v1`, plus `/healthz`, `/readyz` and `/metrics`.
///
/// - `GET /api/v1/environments`: every environment's state, revisions and drift
/// - `GET /api/v1/environments/{env}`: the same in full: conditions, pending plan, assets
/// - `GET /api/v1/environments/{env}/state`: `{"observed": ObservedState, "applied": [AppliedResource]}`
///   for `trueup diff --server`; of job runs, only each job's latest is sent in full
/// - `GET /api/v1/environments/{env}/job-runs/{identity}`: one run's record, which `diff --server`
///   fetches when it plans a job whose code or inputs went back to those of an earlier run
/// - `POST /api/v1/environments/{env}/sync`: reconcile now and apply, also where `sync: manual`
/// - `GET /api/v1/runs?env=E&limit=N`, `GET /api/v1/runs/{id}`, `GET /api/v1/runs/{id}/logs`
struct APIRoutes {
    let context: ControllerContext

    func add(to router: Router<BasicRequestContext>) {
        router.get("/healthz") { _, _ in Responses.json(["status": "ok"]) }
        router.get("/readyz") { _, _ in readiness() }
        router.get("/metrics") { _, _ in
            Responses.text(context.metrics.render(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
        router.get("/api/v1/environments") { _, _ in
            Responses.json(["environments": try EnvironmentViews.all(context, detailed: false)])
        }
        router.get("/api/v1/environments/{env}") { _, http in try environment(http.parameters.require("env")) }
        router.get("/api/v1/environments/{env}/state") { _, http in try await state(http.parameters.require("env")) }
        router.get("/api/v1/environments/{env}/job-runs/{identity}") { _, http in
            try await jobRun(http.parameters.require("env"), identity: http.parameters.require("identity"))
        }
        router.post("/api/v1/environments/{env}/sync") { _, http in try Self.sync(http.parameters.require("env"), context) }
        router.get("/api/v1/runs") { request, _ in try runs(request) }
        router.get("/api/v1/runs/{id}") { _, http in try run(http.parameters.require("id")) }
        router.get("/api/v1/runs/{id}/logs") { _, http in try logs(http.parameters.require("id")) }
    }

    private func readiness() -> Response {
        let ready = context.status.snapshot.ready
        return Responses.json(ReadyDocument(ready: ready.ok, reason: ready.reason), status: ready.ok ? .ok : .serviceUnavailable)
    }

    private struct ReadyDocument: Encodable {
        var ready: Bool
        var reason: String
    }

    private func environment(_ name: String) throws -> Response {
        guard let view = try EnvironmentViews.one(name, context) else { return unknown(name) }
        return Responses.json(view)
    }

    private struct StateDocument: Encodable {
        var observed: ObservedState
        var applied: [AppliedResource]
    }

    /// What `trueup diff --server` plans against: observed through the environment's backends now.
    private func state(_ name: String) async throws -> Response {
        let desired: DesiredEnvironment
        switch observable(name) {
        case .found(let found): desired = found
        case .refused(let response): return response
        }
        let store = context.workspace.store
        let applied = try store.appliedResources(environment: name)
        let observed: ObservedState
        do {
            observed = try await Observer(backends: try context.workspace.backends(for: desired.settings)).observe(desired, applied: applied)
        } catch {
            return Responses.error(.badGateway, "cannot observe \(name): \(error)")
        }
        return Responses.json(StateDocument(observed: observed, applied: applied.values.sorted { $0.id < $1.id }))
    }

    /// One job run of the environment, read through its job backend: what `diff --server` asks
    /// for an earlier run that the state named by identity only.
    private func jobRun(_ name: String, identity: String) async throws -> Response {
        let desired: DesiredEnvironment
        switch observable(name) {
        case .found(let found): desired = found
        case .refused(let response): return response
        }
        let record: JobRunRecord?
        do {
            record = try await context.workspace.backends(for: desired.settings).jobs.observe(environment: name).run(identity)
        } catch {
            return Responses.error(.internalServerError, "cannot read the run \(identity) of \(name) (\(error)): restore the controller's state folder from a backup, or delete that run (table job_runs) from its state.db so that the job runs again")
        }
        guard let record else { return Responses.error(.notFound, "environment \(name) has no job run \(identity)") }
        return Responses.json(record)
    }

    private enum Observable {
        case found(DesiredEnvironment)
        case refused(Response)
    }

    /// The desired state of an environment whose actual state this controller can tell, or why not.
    private func observable(_ name: String) -> Observable {
        let snapshot = context.status.snapshot
        if let desired = snapshot.environments[name]?.desired { return .found(desired) }
        guard case .leading = snapshot.role else {
            return .refused(Responses.error(.serviceUnavailable, "this controller is \(snapshot.role): ask the leader, which observes the environments"))
        }
        return .refused(snapshot.environments[name] == nil ? unknown(name)
            : Responses.error(.conflict, "environment \(name) has no valid desired state yet (\(snapshot.environments[name]?.problem ?? "not read")): fix it in git"))
    }

    /// Queues a sync of the environment for the loop: 202, or why not. The dashboard's Sync button too.
    static func sync(_ name: String, _ context: ControllerContext) throws -> Response {
        let snapshot = context.status.snapshot
        guard case .leading = snapshot.role else {
            return Responses.error(.serviceUnavailable, "this controller is \(snapshot.role): send the sync to the leader")
        }
        guard let environment = snapshot.environments[name] else { return APIRoutes(context: context).unknown(name) }
        guard environment.tracked != nil else {
            return Responses.error(.conflict, "environment \(name) has never been valid in git, so there is nothing to sync: \(environment.problem ?? "fix its specs")")
        }
        context.inbox.send(.sync(name))
        return Responses.json(["status": "queued", "environment": name], status: .accepted)
    }

    private func runs(_ request: Request) throws -> Response {
        let environment = request.uri.queryParameters.get("env").map { String($0) }
        let limit = min(max(request.uri.queryParameters.get("limit").flatMap { Int(String($0)) } ?? 50, 1), 500)
        let store = context.workspace.store
        let runs = try store.runs(environment: environment, limit: limit)
        let views = try runs.map { RunView($0, actions: try store.actions(runID: $0.id)) }
        return Responses.json(["runs": views])
    }

    private func run(_ id: String) throws -> Response {
        let store = context.workspace.store
        guard let number = Int64(id), let run = try store.run(number) else {
            return Responses.error(.notFound, "no run \(id): list runs with GET /api/v1/runs")
        }
        return Responses.json(RunView(run, actions: try store.actions(runID: number)))
    }

    /// The run's action logs, one after the other, as `trueup logs RUN` prints them.
    private func logs(_ id: String) throws -> Response {
        let store = context.workspace.store
        guard let number = Int64(id), let run = try store.run(number) else {
            return Responses.error(.notFound, "no run \(id): list runs with GET /api/v1/runs")
        }
        var text = "run \(run.id) of \(run.environment) at \(run.commit.prefix(12)) (\(run.trigger)): \(run.outcome)\n"
        let root = URL(fileURLWithPath: context.configuration.stateDirectory).standardizedFileURL.path + "/"
        for action in try store.actions(runID: number) {
            text += "== \(action.resource) \(action.action): \(action.status.rawValue)\(action.error.map { ": \($0)" } ?? "")\n"
            // Only files inside the state directory are served.
            if let path = action.logPath, URL(fileURLWithPath: path).standardizedFileURL.path.hasPrefix(root),
               let log = try? String(contentsOfFile: path, encoding: .utf8) {
                text += log.hasSuffix("\n") || log.isEmpty ? log : log + "\n"
            }
        }
        return Responses.text(text)
    }

    func unknown(_ name: String) -> Response {
        let known = context.status.snapshot.environments.keys.sorted()
        return Responses.error(.notFound, "no environment named '\(name)' (known: \(known.isEmpty ? "none yet" : known.joined(separator: ", ")))")
    }
}
