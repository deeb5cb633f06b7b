#!/usr/bin/env python3
"""The controller benchmark (issue 5; DESIGN §8: "a webhook-to-first-action latency in the low
hundreds of milliseconds"). Run it through Benchmarks/run-controller, which builds trueup.

A. Latency, local backend, over COMMITS commits (after WARMUP_COMMITS not counted). A small
   repository made here: environment dev (sync: auto, selfHeal: true) with Dataset raw (a CSV in
   the repository) -> Job prepare -> Dataset features (fromJob) -> Job report. Every commit changes
   both jobs' `env: {STEP: "N"}`, so both run again. Each commit is pushed to a bare repository
   that a controller watches with `--poll 600s`, so only the signed GitHub webhook wakes it:
     webhook -> first action   t0 = just before the webhook is sent; the earliest `started_at` of
                               the actions of the reconcile run of that commit (state.db, read-only)
     webhook -> applied        t0 to that run's `finished_at`
     webhook -> API applied    t0 to when GET /api/v1/environments/dev shows lastApplied == sha
                               (polled every API_POLL_MS)
     commit -> applied         from the start of `git push` to the run's `finished_at`
   Baseline, in the same loop (same commit, right after): `trueup apply --env dev --yes` as a whole
   process in a separate clone with its own state; also its own process-start -> first action.
   Optional: a poll-driven row (`--poll 1s`, no webhook) over POLL_COMMITS commits.

B. Idle: the 3 x RESOURCES repository of gen_local_repo.py in a bare clone, a controller with
   `--poll IDLE_POLL` on it; once dev and staging are applied at HEAD and prod is reconciled
   (pending: sync manual), wait IDLE_SETTLE seconds, then sample /proc/PID/stat (utime + stime) and
   /proc/PID/status (VmRSS, VmHWM) every second for IDLE_SECONDS. Baseline: PLAN_RUNS runs of
   `trueup plan --env dev` over the same repository and state (os.wait4: CPU time and ru_maxrss).

Only the standard library is used. Every process started here is stopped here, by its PID: the
controllers with SIGTERM (they exit 0), then the deployments they started (`SELECT pid FROM
deployments` in that state.db, each only if its cwd lies in that state directory).

Usage: controller_bench.py --trueup BIN --work DIR [--bench-dir DIR]
Environment: COMMITS (20), WARMUP_COMMITS (2), API_POLL_MS (5), POLL_COMMITS (10; 0 skips the
poll-driven row), IDLE_SECONDS (60), IDLE_SETTLE (5), IDLE_POLL (60s), RESOURCES (1000),
PLAN_RUNS (5), SETTLE_TIMEOUT (1200 seconds to wait for the initial applies), SKIP_LATENCY=1,
SKIP_IDLE=1.
"""
import argparse
import hashlib
import hmac
import json
import math
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request
import uuid

from timing import median  # this folder's timing harness: one definition of the median

GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", "-c", "commit.gpgsign=false",
       "-c", "init.defaultBranch=main"]
SECRET_VAR = "TRUEUP_BENCH_HOOK_SECRET"
SECRET = uuid.uuid4().hex
# The API is closed without a token (the controller would make one in its state directory).
API_TOKEN_VAR, API_TOKEN = "TRUEUP_BENCH_API_TOKEN", "bench-api-token"
CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    pass


def env_int(name, default):
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def env_str(name, default):
    value = os.environ.get(name, "")
    return value.strip() or default


def say(message):
    sys.stderr.write(f"==> {message}\n")
    sys.stderr.flush()


# ---------------------------------------------------------------------------------------------
# Statistics


def p95(xs):
    s = sorted(xs)
    return s[max(0, math.ceil(0.95 * len(s)) - 1)]  # nearest rank


# ---------------------------------------------------------------------------------------------
# Processes


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def git(*args, cwd=None):
    subprocess.run(GIT + list(args), cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def git_out(*args, cwd=None):
    return subprocess.run(GIT + list(args), cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def proc_stat(pid):
    """(utime + stime, cutime + cstime) of pid, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state): utime is field 14, stime 15, cutime 16, cstime 17.
    return int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def proc_status(pid):
    """{VmRSS, VmHWM, Threads} of pid (kB for the Vm fields)."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "Threads"):
                out[key] = int(value.split()[0])
    return out


class Processes:
    """What this benchmark started and must stop: controllers, the child running now, and the
    state directories whose deployments outlive their controller."""

    def __init__(self):
        self.controllers = []
        self.state_dirs = []
        self.child = None
        self.problems = []

    def stop_controller(self, controller):
        proc = controller.proc
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                self.problems.append(f"controller pid {proc.pid} did not exit within 90 s of SIGTERM: killed (log {controller.log_path})")
                proc.kill()
                proc.wait()
        if proc.returncode != 0 and not controller.reported:
            self.problems.append(f"controller pid {proc.pid} ({controller.label}) exited {proc.returncode} after SIGTERM, not 0 (log {controller.log_path})")
        controller.reported = True
        if controller in self.controllers:
            self.controllers.remove(controller)

    def stop_deployments(self, state_dir):
        """SIGTERM each deployment recorded in state_dir whose cwd is inside state_dir."""
        db_path = os.path.join(state_dir, "state.db")
        if not os.path.exists(db_path):
            return 0
        root = os.path.realpath(state_dir) + "/"
        try:
            db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
            try:
                pids = [row[0] for row in db.execute("SELECT pid FROM deployments WHERE pid IS NOT NULL")]
            finally:
                db.close()
        except sqlite3.Error as error:
            self.problems.append(f"cannot read the deployments of {state_dir}: {error}")
            return 0

        def ours(pid):
            try:
                return os.readlink(f"/proc/{pid}/cwd").startswith(root)
            except OSError:
                return False

        signalled = [pid for pid in pids if ours(pid)]
        for pid in signalled:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(ours(pid) for pid in signalled):
            time.sleep(0.05)
        for pid in signalled:
            if ours(pid):
                self.problems.append(f"deployment pid {pid} ignored SIGTERM for 10 s: sent SIGKILL")
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        return len(signalled)

    def cleanup(self):
        if self.child is not None and self.child.poll() is None:
            self.child.kill()
            self.child.wait()
        for controller in list(self.controllers):
            self.stop_controller(controller)
        for state_dir in self.state_dirs:
            self.stop_deployments(state_dir)
        self.state_dirs = []


PROCS = Processes()


def run_timed(argv, log_path, ok_codes=(0,)):
    """Runs argv to completion: (wall ms, CPU ms, ru_maxrss kB, start wall-clock time)."""
    with open(log_path, "ab") as log:
        started_at = time.time()
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=os.path.dirname(log_path))
        PROCS.child = proc
        _, status, usage = os.wait4(proc.pid, 0)
        wall = (time.perf_counter() - start) * 1000
        proc.returncode = os.waitstatus_to_exitcode(status)
        PROCS.child = None
    if proc.returncode not in ok_codes:
        raise BenchError(f"{' '.join(argv)} exited {proc.returncode}; its output:\n{tail(log_path)}")
    return wall, (usage.ru_utime + usage.ru_stime) * 1000, usage.ru_maxrss, started_at


def tail(path, lines=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no log)"


# ---------------------------------------------------------------------------------------------
# The controller and its API


class Controller:
    def __init__(self, trueup, repo, state_dir, poll, log_path, label):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.state_dir = state_dir
        self.log_path = log_path
        self.label = label
        self.reported = False
        environment = dict(os.environ, **{SECRET_VAR: SECRET, API_TOKEN_VAR: API_TOKEN})
        argv = [trueup, "controller", "--repo", repo, "--state-dir", state_dir, "--listen", f"127.0.0.1:{self.port}",
                "--poll", poll, "--webhook-secret-env", SECRET_VAR, "--api-token-env", API_TOKEN_VAR]
        if state_dir not in PROCS.state_dirs:
            PROCS.state_dirs.append(state_dir)
        self.log = open(log_path, "ab")
        # Its own session: a Ctrl-C reaches this script, which then stops the controller itself.
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                                     cwd=os.path.dirname(log_path), env=environment, start_new_session=True)
        PROCS.controllers.append(self)
        self.pid = self.proc.pid

    def alive_or_fail(self):
        if self.proc.poll() is not None:
            self.reported = True
            raise BenchError(f"the controller ({self.label}) exited {self.proc.returncode} unexpectedly; its log:\n{tail(self.log_path)}")

    def get(self, path, timeout=10):
        request = urllib.request.Request(self.base + path, headers={"Authorization": f"Bearer {API_TOKEN}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response)

    def metrics(self):
        with urllib.request.urlopen(self.base + "/metrics", timeout=10) as response:
            return response.read().decode()

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.alive_or_fail()
            try:
                with urllib.request.urlopen(self.base + "/readyz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        raise BenchError(f"the controller ({self.label}) was not ready within {timeout} s; its log:\n{tail(self.log_path)}")

    def webhook(self, before, after):
        body = json.dumps({"ref": "refs/heads/main", "before": before, "after": after,
                           "repository": {"full_name": "bench/trueup-controller-bench"},
                           "head_commit": {"id": after}}).encode()
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        request = urllib.request.Request(self.base + "/api/v1/webhooks/github", data=body, method="POST", headers={
            "Content-Type": "application/json", "X-GitHub-Event": "push", "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": signature})
        start = time.perf_counter()
        with urllib.request.urlopen(request, timeout=10) as response:
            if response.status != 202:
                raise BenchError(f"the webhook got {response.status}, not 202: {response.read()[:300]!r}")
        return (time.perf_counter() - start) * 1000

    def wait_applied(self, environment, sha, timeout, poll_seconds):
        """Polls GET /api/v1/environments/ENV until lastApplied is sha; wall-clock time seen."""
        deadline = time.monotonic() + timeout
        path = f"/api/v1/environments/{environment}"
        while True:
            view = self.get(path)
            if view["revisions"].get("lastApplied") == sha:
                return time.time()
            if time.monotonic() > deadline:
                self.alive_or_fail()
                raise BenchError(f"{environment} did not report lastApplied {sha[:12]} within {timeout} s "
                                 f"(state {view.get('state')}: {view.get('message')}); controller log:\n{tail(self.log_path)}")
            time.sleep(poll_seconds)


def run_of_commit(state_dir, environment, sha):
    """The newest reconcile run of sha in state_dir: (id, trigger, started_at, finished_at, outcome,
    earliest action start, number of job runs, actions)."""
    db = sqlite3.connect(f"file:{os.path.join(state_dir, 'state.db')}?mode=ro", uri=True, timeout=10)
    try:
        row = db.execute("SELECT id, trigger, started_at, finished_at, outcome FROM reconcile_runs "
                         "WHERE environment = ? AND commit_sha = ? ORDER BY id DESC LIMIT 1", (environment, sha)).fetchone()
        if row is None:
            return None
        actions = db.execute("SELECT resource, action, status, started_at, finished_at FROM actions WHERE run_id = ? ORDER BY id",
                             (row[0],)).fetchall()
    finally:
        db.close()
    starts = [a[3] for a in actions if a[3] is not None]
    return {"id": row[0], "trigger": row[1], "started_at": row[2], "finished_at": row[3], "outcome": row[4],
            "first_action": min(starts) if starts else None,
            "job_runs": sum(1 for a in actions if a[1] == "run" and a[2] == "succeeded"), "actions": actions}


def checked_run(state_dir, sha, who):
    run = run_of_commit(state_dir, "dev", sha)
    if run is None:
        raise BenchError(f"{who}: no reconcile run of dev at {sha[:12]} in {state_dir}/state.db")
    if run["outcome"] != "succeeded" or run["finished_at"] is None or run["first_action"] is None or run["job_runs"] != 2:
        raise BenchError(f"{who}: run {run['id']} of {sha[:12]} is not a succeeded run of both jobs: "
                         f"outcome {run['outcome']}, actions {run['actions']}")
    return run


# ---------------------------------------------------------------------------------------------
# A. Latency


ENVIRONMENT_YAML = """apiVersion: trueup/v1
kind: Environment
metadata: {name: dev}
spec:
  sync: auto
  selfHeal: true
  interval: 10m
"""

JOB_SH = """#!/bin/sh
# prepare writes a dataset version and metrics; report reads it and writes metrics.
set -eu
out="$TRUEUP_OUTPUT_DIR"
case "$1" in
  prepare) mkdir -p "$out/data"; printf 'id,feature\\n1,%s\\n' "$STEP" > "$out/data/features.csv"
           printf '{"rows": 1, "step": %s}\\n' "$STEP" > "$out/metrics.json" ;;
  report) test -s "$TRUEUP_INPUT_FEATURES"; printf '{"step": %s}\\n' "$STEP" > "$out/metrics.json" ;;
  *) echo "unknown step $1" >&2; exit 2 ;;
esac
"""


def resources_yaml(step):
    return f"""apiVersion: trueup/v1
kind: Dataset
metadata: {{name: raw}}
spec:
  path: ml/raw.csv
---
apiVersion: trueup/v1
kind: Job
metadata: {{name: prepare}}
spec:
  code: ml
  command: [sh, job.sh, prepare]
  env: {{STEP: "{step}"}}
  inputs: {{datasets: [raw]}}
  trigger: onChange
  timeout: 1m
---
apiVersion: trueup/v1
kind: Dataset
metadata: {{name: features}}
spec:
  fromJob: prepare
---
apiVersion: trueup/v1
kind: Job
metadata: {{name: report}}
spec:
  code: ml
  command: [sh, job.sh, report]
  env: {{STEP: "{step}"}}
  inputs: {{datasets: [features]}}
  trigger: onChange
  timeout: 1m
"""


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def commit_step(work, step):
    write(os.path.join(work, "environments/dev/resources.yaml"), resources_yaml(step))
    git("commit", "-q", "-a", "-m", f"step {step}", cwd=work)
    return git_out("rev-parse", "HEAD", cwd=work)


def latency(trueup, root, commits, warmup, api_poll, poll_commits):
    work = os.path.join(root, "work")
    watched = os.path.join(root, "watched.git")
    cli_clone = os.path.join(root, "cli-clone")
    ctl_state = os.path.join(root, "controller-state")
    cli_state = os.path.join(root, "cli-state")
    write(os.path.join(work, "environments/dev/environment.yaml"), ENVIRONMENT_YAML)
    write(os.path.join(work, "environments/dev/resources.yaml"), resources_yaml(0))
    write(os.path.join(work, "ml/raw.csv"), "id,tenure,spend\n1,12,40\n2,3,180\n3,30,75\n")
    write(os.path.join(work, "ml/job.sh"), JOB_SH)
    git("init", "-q", cwd=work)
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "step 0", cwd=work)
    git("clone", "-q", "--bare", work, watched)
    git("clone", "-q", watched, cli_clone)
    head = git_out("rev-parse", "HEAD", cwd=work)

    say(f"latency: controller on {watched} (--poll 600s, webhook only); CLI baseline in {cli_clone}")
    controller = Controller(trueup, watched, ctl_state, "600s", os.path.join(root, "controller.log"), "latency, webhook")
    controller.wait_ready()
    controller.wait_applied("dev", head, timeout=120, poll_seconds=0.05)
    run_timed([trueup, "apply", "--repo", cli_clone, "--state-dir", cli_state, "--env", "dev", "--yes"], os.path.join(root, "cli.log"))

    rows = []
    before = head
    for i in range(1, warmup + commits + 1):
        controller.alive_or_fail()
        sha = commit_step(work, i)
        t_push = time.time()
        git("push", "-q", watched, "HEAD:main", cwd=work)
        t0 = time.time()
        answered = controller.webhook(before, sha)
        t_seen = controller.wait_applied("dev", sha, timeout=120, poll_seconds=api_poll)
        run = checked_run(ctl_state, sha, "controller")
        if not run["trigger"].startswith("controller"):
            raise BenchError(f"run {run['id']} of {sha[:12]} was not started by the controller: {run['trigger']}")

        subprocess.run(["git", "-C", cli_clone, "pull", "-q", "--ff-only"], check=True, stdout=subprocess.DEVNULL)
        wall, cpu, _, started = run_timed([trueup, "apply", "--repo", cli_clone, "--state-dir", cli_state, "--env", "dev", "--yes"],
                                          os.path.join(root, "cli.log"))
        cli_run = checked_run(cli_state, sha, "trueup apply")
        before = sha
        if i <= warmup:
            continue
        rows.append({
            "answered": answered,
            "first_action": (run["first_action"] - t0) * 1000,
            "applied": (run["finished_at"] - t0) * 1000,
            "seen": (t_seen - t0) * 1000,
            "commit_applied": (run["finished_at"] - t_push) * 1000,
            "push": (t0 - t_push) * 1000,
            "cli_wall": wall,
            "cli_cpu": cpu,
            "cli_first_action": (cli_run["first_action"] - started) * 1000,
        })
        sys.stderr.write(f"\r  commit {i - warmup}/{commits}")
        sys.stderr.flush()
    sys.stderr.write("\n")
    PROCS.stop_controller(controller)

    poll_rows = []
    if poll_commits > 0:
        say(f"latency: the same repository and state, a controller with --poll 1s and no webhook, {poll_commits} commits")
        poller = Controller(trueup, watched, ctl_state, "1s", os.path.join(root, "controller-poll.log"), "latency, poll 1s")
        poller.wait_ready()
        # The first reconcile of a new leader (reason start) finds dev in sync; wait for it.
        deadline = time.monotonic() + 60
        while poller.get("/api/v1/environments/dev").get("lastReconcile") is None:
            if time.monotonic() > deadline:
                raise BenchError(f"the --poll 1s controller never reconciled dev; its log:\n{tail(poller.log_path)}")
            time.sleep(0.05)
        # A commit pushed right after the previous one was applied would always wait a whole period:
        # a pause drawn uniformly from one period spreads the pushes over it.
        phase = random.Random(5)
        for i in range(warmup + commits + 1, warmup + commits + 2 + poll_commits):
            poller.alive_or_fail()
            time.sleep(phase.uniform(0, 1.0))
            sha = commit_step(work, i)
            t_push = time.time()
            git("push", "-q", watched, "HEAD:main", cwd=work)
            t_seen = poller.wait_applied("dev", sha, timeout=60, poll_seconds=api_poll)
            run = checked_run(ctl_state, sha, "controller (poll)")
            if i == warmup + commits + 1:
                continue  # warm-up
            poll_rows.append({"first_action": (run["first_action"] - t_push) * 1000,
                              "commit_applied": (run["finished_at"] - t_push) * 1000,
                              "seen": (t_seen - t_push) * 1000})
        PROCS.stop_controller(poller)
    return rows, poll_rows


def print_latency(rows, poll_rows, commits, warmup, api_poll):
    print(f"A. Latency, local backend: {commits} commits (+{warmup} warm-up), each re-running 2 jobs "
          f"(Job/prepare -> Dataset/features -> Job/report)")
    print("   controller: --poll 600s, woken by a signed GitHub push webhook only; times from state.db (read-only)")
    print(f"   API: GET /api/v1/environments/dev polled every {api_poll * 1000:g} ms")
    print()
    table = [
        ("controller: webhook -> 202 response", "answered"),
        ("controller: webhook -> first action started", "first_action"),
        ("controller: webhook -> applied (run finished)", "applied"),
        ("controller: webhook -> API shows lastApplied", "seen"),
        ("controller: commit (git push) -> applied", "commit_applied"),
        ("  of which git push to the watched bare repo", "push"),
        ("baseline: trueup apply --env dev --yes (process)", "cli_wall"),
        ("baseline: apply process start -> first action", "cli_first_action"),
    ]
    poll_table = [
        ("poll 1s: git push -> first action started", "first_action"),
        ("poll 1s: git push -> applied (run finished)", "commit_applied"),
        ("poll 1s: git push -> API shows lastApplied", "seen"),
    ]
    width = max(len(name) for name, _ in table + poll_table)

    def print_table(rows, table):
        print(f"   {'':<{width}}  {'median ms':>9}  {'p95 ms':>8}  {'min ms':>8}")
        for name, key in table:
            xs = [r[key] for r in rows]
            print(f"   {name:<{width}}  {median(xs):9.1f}  {p95(xs):8.1f}  {min(xs):8.1f}")

    print_table(rows, table)
    cli = median([r["cli_wall"] for r in rows])
    print(f"   (baseline CPU time, user+sys, median: {median([r['cli_cpu'] for r in rows]):.1f} ms per apply process)")
    print()
    med = lambda key: median([r[key] for r in rows])
    print_ratios("ratios of medians", [
        ("controller commit -> applied / CLI apply process", med("commit_applied") / cli),
        ("controller webhook -> applied / CLI apply process", med("applied") / cli),
        ("controller webhook -> first action / CLI start -> first action", med("first_action") / med("cli_first_action")),
    ])
    if poll_rows:
        print()
        print(f"   poll-driven: a controller with --poll 1s and no webhook, same repository and state, "
              f"{len(poll_rows)} commits (+1 warm-up),")
        print("   each pushed after a random 0-1 s pause: expect about half the poll period of waiting (up to 250 ms")
        print("   more: the controller's loop looks at the clock every 250 ms), then fetch, plan and apply")
        print()
        print_table(poll_rows, poll_table)
    print()


# ---------------------------------------------------------------------------------------------
# B. Idle


def metric_sum(text, name, **labels):
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name) or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        if head.split("{")[0] != name:
            continue
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            total += float(value)
    return total


def idle(trueup, root, here, resources, seconds, settle, poll, plan_runs, settle_timeout):
    source = os.path.join(root, "generated")
    bare = os.path.join(root, "generated.git")
    state = os.path.join(root, "controller-state")
    say(f"idle: generating 3 environments x {resources} resources (gen_local_repo.py)")
    subprocess.run([sys.executable, os.path.join(here, "gen_local_repo.py"), source, "--resources", str(resources)],
                   check=True, stdout=subprocess.DEVNULL)
    git("clone", "-q", "--bare", source, bare)
    head = git_out("rev-parse", "HEAD", cwd=bare)
    say(f"idle: controller on {bare} (--poll {poll}); waiting for dev and staging to be applied and prod planned")
    controller = Controller(trueup, bare, state, poll, os.path.join(root, "controller.log"), "idle")
    start = time.monotonic()
    controller.wait_ready()
    deadline = start + settle_timeout
    last_report = 0
    while True:
        controller.alive_or_fail()
        views = {e["name"]: e for e in controller.get("/api/v1/environments")["environments"]}
        done = all(views.get(n, {}).get("revisions", {}).get("lastApplied") == head
                   and (views[n].get("lastReconcile") or {}).get("revision") == head
                   and not views[n].get("reconciling") for n in ("dev", "staging"))
        prod = views.get("prod", {})
        done = done and (prod.get("lastReconcile") or {}).get("outcome") == "PendingManualSync" and not prod.get("reconciling")
        if done:
            break
        for name in ("dev", "staging"):
            outcome = (views.get(name, {}).get("lastReconcile") or {}).get("outcome")
            if outcome in ("ApplyFailed", "ReconcileFailed"):
                raise BenchError(f"the initial apply of {name} failed: {views[name].get('message')}; controller log:\n{tail(controller.log_path)}")
        if time.monotonic() > deadline:
            raise BenchError(f"dev and staging not applied / prod not planned within {settle_timeout} s: "
                             + "; ".join(f"{n}: {v.get('state')} {v.get('message')}" for n, v in sorted(views.items())))
        if views and time.monotonic() - last_report > 15:
            last_report = time.monotonic()
            sys.stderr.write("  " + ", ".join(f"{n} {v.get('state')}{' (reconciling)' if v.get('reconciling') else ''}"
                                              for n, v in sorted(views.items())) + f" after {time.monotonic() - start:.0f} s\n")
        time.sleep(0.5)
    converged = time.monotonic() - start
    converged_cpu, converged_children = proc_stat(controller.pid)
    deployments = count_deployments(state)
    say(f"idle: converged in {converged:.1f} s; {deployments} deployment processes; settling {settle} s, then sampling {seconds} s")
    time.sleep(settle)

    before_metrics = controller.metrics()
    samples = []
    t_start = time.monotonic()
    cpu_start, children_start = proc_stat(controller.pid)
    next_at = t_start
    while True:
        now = time.monotonic()
        cpu, children = proc_stat(controller.pid)
        status = proc_status(controller.pid)
        samples.append((now, cpu, children, status))
        if now - t_start >= seconds:
            break
        next_at += 1
        time.sleep(max(0, next_at - time.monotonic()))
        controller.alive_or_fail()
    t_end, cpu_end, children_end, final_status = samples[-1]
    after_metrics = controller.metrics()
    elapsed = t_end - t_start
    fetches = metric_sum(after_metrics, "trueup_source_fetches_total") - metric_sum(before_metrics, "trueup_source_fetches_total")
    reconciles = metric_sum(after_metrics, "trueup_reconciles_total") - metric_sum(before_metrics, "trueup_reconciles_total")
    per_second = [(b[1] - a[1]) / CLK_TCK * 1000 / (b[0] - a[0]) for a, b in zip(samples, samples[1:])]
    rss = [s[3]["VmRSS"] for s in samples]
    result = {
        "converged": converged, "converged_cpu": converged_cpu / CLK_TCK, "converged_children": converged_children / CLK_TCK,
        "deployments": deployments, "elapsed": elapsed,
        "cpu_ms_per_s": (cpu_end - cpu_start) / CLK_TCK * 1000 / elapsed,
        "cpu_ms_total": (cpu_end - cpu_start) / CLK_TCK * 1000,
        "per_second_max": max(per_second),
        "children_ms": (children_end - children_start) / CLK_TCK * 1000,
        "rss_median": median(rss), "rss_min": min(rss), "rss_max": max(rss), "rss_now": final_status["VmRSS"],
        "hwm": final_status["VmHWM"], "threads": final_status["Threads"], "fetches": fetches, "reconciles": reconciles,
        "poll": poll, "seconds": seconds, "settle": settle, "resources": resources, "head": head,
    }
    PROCS.stop_controller(controller)

    # Baseline: one plan over the same repository and state (deployments still serving).
    say(f"idle baseline: {plan_runs} x trueup plan --env dev over the same repository and state")
    plans = []
    for _ in range(plan_runs):
        wall, cpu, maxrss, _ = run_timed([trueup, "plan", "--repo", bare, "--state-dir", state, "--env", "dev"],
                                         os.path.join(root, "plan.log"), ok_codes=(0, 2))
        plans.append((wall, cpu, maxrss))
    result["plan_wall"] = median([p[0] for p in plans])
    result["plan_cpu"] = median([p[1] for p in plans])
    result["plan_maxrss"] = median([p[2] for p in plans])
    result["plan_runs"] = plan_runs
    result["harness_hwm"] = proc_status(os.getpid())["VmHWM"]
    stopped = PROCS.stop_deployments(state)
    result["stopped_deployments"] = stopped
    return result


def count_deployments(state_dir):
    db = sqlite3.connect(f"file:{os.path.join(state_dir, 'state.db')}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute("SELECT count(pid) FROM deployments").fetchone()[0]
    finally:
        db.close()


def print_idle(r):
    mb = lambda kb: kb / 1024
    print(f"B. Idle controller watching 3 environments x {r['resources']} resources (gen_local_repo.py, HEAD {r['head'][:12]})")
    print(f"   initial state: dev and staging applied, prod planned (sync manual, pending) in {r['converged']:.1f} s "
          f"(controller CPU {r['converged_cpu']:.1f} s, its jobs {r['converged_children']:.1f} s); "
          f"{r['deployments']} deployment processes serving")
    print(f"   sampled {r['elapsed']:.1f} s, from {r['settle']} s after that, every 1 s, /proc/PID/stat and /proc/PID/status")
    print(f"   --poll {r['poll']}: {r['fetches']:.0f} fetch(es) of the unchanged repository and {r['reconciles']:.0f} reconcile(s) "
          f"fell inside the window; they are part of idle (the environments' interval is 10m)")
    print()
    print(f"   idle CPU                          {r['cpu_ms_per_s'] / 10:6.2f} % of one core  "
          f"({r['cpu_ms_per_s']:.2f} CPU-ms per second; {r['cpu_ms_total']:.0f} ms over the window)")
    print(f"   busiest 1 s interval              {r['per_second_max']:.0f} CPU-ms (/proc counts in {1000 // CLK_TCK} ms clock ticks)")
    print(f"   idle RSS (VmRSS)                  now {mb(r['rss_now']):.1f} MiB; median {mb(r['rss_median']):.1f}, "
          f"min {mb(r['rss_min']):.1f}, max {mb(r['rss_max']):.1f} MiB over the window")
    print(f"   peak RSS since start (VmHWM)      {mb(r['hwm']):.1f} MiB (includes the initial applies); {r['threads']} threads")
    print(f"   CPU of child processes (window)   {r['children_ms']:.0f} ms (0: no job ran)")
    print()
    print(f"   baseline: trueup plan --env dev, same repository and state, median of {r['plan_runs']} whole processes:")
    print(f"     wall {r['plan_wall']:.1f} ms, CPU {r['plan_cpu']:.1f} ms, peak RSS (ru_maxrss) {mb(r['plan_maxrss']):.1f} MiB")
    if r["plan_maxrss"] <= r["harness_hwm"] * 1.1:
        print(f"     (note: ru_maxrss counts the forking harness's {mb(r['harness_hwm']):.1f} MiB; the plan's own peak may be lower)")
    print()
    print_ratios("ratios", [
        ("controller idle RSS (median) / one plan's peak RSS", r["rss_median"] / r["plan_maxrss"]),
        ("controller peak RSS (VmHWM) / one plan's peak RSS", r["hwm"] / r["plan_maxrss"]),
        ("controller CPU per idle minute / one plan's CPU", r["cpu_ms_per_s"] * 60 / r["plan_cpu"]),
    ])
    print()


def print_ratios(title, ratios):
    print(f"   {title}:")
    width = max(len(name) for name, _ in ratios)
    for name, value in ratios:
        print(f"     {name:<{width}}  {value:6.2f}")


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trueup", required=True)
    ap.add_argument("--work", required=True, help="an empty scratch folder; the caller removes it")
    ap.add_argument("--bench-dir", default=os.path.dirname(os.path.abspath(__file__)))
    args = ap.parse_args()

    def terminate(signum, _frame):
        sys.stderr.write(f"\ncontroller benchmark: signal {signum}: stopping what it started\n")
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)

    commits = env_int("COMMITS", 20)
    warmup = env_int("WARMUP_COMMITS", 2)
    api_poll = env_int("API_POLL_MS", 5) / 1000
    poll_commits = env_int("POLL_COMMITS", 10)
    seconds = env_int("IDLE_SECONDS", 60)
    settle = env_int("IDLE_SETTLE", 5)
    poll = env_str("IDLE_POLL", "60s")
    resources = env_int("RESOURCES", 1000)
    plan_runs = env_int("PLAN_RUNS", 5)
    settle_timeout = env_int("SETTLE_TIMEOUT", 1200)
    trueup = os.path.abspath(args.trueup)
    work = os.path.abspath(args.work)
    if commits < 1 or seconds < 2 or plan_runs < 1:
        sys.exit("controller_bench: COMMITS and PLAN_RUNS must be at least 1, IDLE_SECONDS at least 2")

    status = 0
    latency_result = idle_result = None
    load = os.getloadavg()
    try:
        if os.environ.get("SKIP_LATENCY") != "1":
            root = os.path.join(work, "latency")
            os.makedirs(root)
            latency_result = latency(trueup, root, commits, warmup, api_poll, poll_commits)
        if os.environ.get("SKIP_IDLE") != "1":
            root = os.path.join(work, "idle")
            os.makedirs(root)
            idle_result = idle(trueup, root, args.bench_dir, resources, seconds, settle, poll, plan_runs, settle_timeout)
    except BenchError as error:
        sys.stderr.write(f"controller benchmark: {error}\n")
        status = 1
    except Exception:  # noqa: BLE001 - any failure is reported, after the cleanup below
        traceback.print_exc()
        status = 1
    finally:
        PROCS.cleanup()

    print()
    print("trueup controller benchmark")
    print(f"  binary  : {trueup}")
    print(f"  machine : {os.cpu_count()} cores, {os.uname().sysname} {os.uname().release}; "
          f"load average {load[0]:.2f} at start, {os.getloadavg()[0]:.2f} at the end (1 min)")
    print()
    if latency_result:
        print_latency(*latency_result, commits, warmup, api_poll)
    if idle_result:
        print_idle(idle_result)
    if PROCS.problems:
        print("problems:")
        for problem in PROCS.problems:
            print(f"  - {problem}")
        status = 1
    sys.exit(status)


if __name__ == "__main__":
    main()
