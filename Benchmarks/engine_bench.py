#!/usr/bin/env python3
"""Plan, apply and diff benchmarks on the local backend (DESIGN section 8; issues 3 and 4).

1. apply: `trueup apply --env dev --yes` of a fresh repository and state, 1,000 resources per
   environment against 100 (the baseline: time and memory should grow no faster than the
   resources), each size several times; wall time, CPU and peak RSS of the trueup process.
2. no-op plan: the 3 x 1,000-resource repository applied in all three environments, then
   `trueup plan --env E` (exit 0, nothing to do) for each environment, against `trueup validate`
   of the same repository (loading alone) and `trueup --version` (process start-up).
   Target: under 150 ms for the whole process.
3. diff: one spec file changed in a new commit, `trueup diff --base HEAD~1 --head HEAD` over all
   three environments (exit 2), against the no-op plans. Target: under 200 ms.
4. history: dev's job runs copied as if 40 earlier commits had each changed every job, then
   dev's no-op plan and `trueup history` against staging's: neither may grow with the history.
5. diff --server: a controller started on that state (following main, where every environment is
   applied), then `trueup diff --env dev --server URL` against the same diff reading the state
   folder itself; also the size and time of the controller's answer to GET .../dev/state.

Every process started here is stopped here: the deployments the applies start are found in the
state database and stopped by PID (only those whose working directory is in this run's state).
Usage: engine_bench.py TRUEUP_BINARY SCRATCH_DIR      Environment: BENCH_RUNS, BENCH_APPLY_RUNS.
"""
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request

from timing import median  # this folder's timing harness: one definition of the median

HERE = os.path.dirname(os.path.abspath(__file__))
GIT = ["git", "-c", "user.name=trueup bench", "-c", "user.email=bench@example.com", "-c", "commit.gpgsign=false"]


def generate(dest, resources):
    subprocess.run([sys.executable, os.path.join(HERE, "gen_local_repo.py"), dest, "--resources", str(resources)], check=True)


def stop_deployments(state_dir):
    """SIGTERM every deployment process recorded in this state whose cwd lies inside it."""
    db_path = os.path.join(state_dir, "state.db")
    if not os.path.exists(db_path):
        return
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        pids = [row[0] for row in db.execute("SELECT pid FROM deployments WHERE pid IS NOT NULL")]
    finally:
        db.close()
    for pid in pids:
        try:
            if os.readlink(f"/proc/{pid}/cwd").startswith(os.path.realpath(state_dir) + "/"):
                os.kill(pid, signal.SIGTERM)
        except OSError:
            pass


def run_measured(argv, cwd, expect=(0,)):
    """One whole process: (wall ms, CPU ms, peak RSS MiB). ru_maxrss of a waited child covers it
    and the descendants it waited for; trueup is by far the largest of them."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = (time.perf_counter() - start) * 1000
    code = os.waitstatus_to_exitcode(status)
    if code not in expect:
        sys.stderr.write(f"benchmark: {' '.join(argv)} exited {code}:\n{stderr.decode(errors='replace')[-3000:]}\n")
        sys.exit(1)
    return wall, (usage.ru_utime + usage.ru_stime) * 1000, usage.ru_maxrss / 1024


def apply_benchmark(trueup, scratch, runs):
    rows = {}
    for resources in (100, 1000):
        samples = []
        for i in range(runs):
            repo = os.path.join(scratch, f"apply-{resources}-{i}")
            generate(repo, resources)
            try:
                samples.append(run_measured([trueup, "apply", "--env", "dev", "--yes"], repo))
                # Nothing is left to do after the apply: a benchmark of an apply that did not
                # converge would measure the wrong thing.
                run_measured([trueup, "plan", "--env", "dev"], repo)
            finally:
                stop_deployments(os.path.join(repo, ".trueup"))
            sys.stderr.write(f"\r  apply of {resources} resources: run {i + 1}/{runs}")
            sys.stderr.flush()
        rows[resources] = samples
    sys.stderr.write("\n")
    print(f"apply --env dev of a fresh state ({runs} runs each; jobs are shell scripts, 1 resource in 100 is a served model)")
    print(f"{'resources':>9}  {'median s':>8}  {'min s':>6}  {'CPU s':>6}  {'peak RSS MiB':>12}  {'ms / resource':>13}")
    for resources, samples in rows.items():
        walls = [s[0] for s in samples]
        print(f"{resources:>9}  {median(walls) / 1000:8.2f}  {min(walls) / 1000:6.2f}  {median([s[1] for s in samples]) / 1000:6.2f}  "
              f"{max(s[2] for s in samples):12.1f}  {median(walls) / resources:13.2f}")
    small, large = rows[100], rows[1000]
    print(f"1,000 / 100 resources: wall {median([s[0] for s in large]) / median([s[0] for s in small]):5.2f}x   "
          f"peak RSS {max(s[2] for s in large) / max(s[2] for s in small):5.2f}x   (10x more resources)")
    print()


def plan_and_diff_benchmark(trueup, scratch, runs):
    repo = os.path.join(scratch, "plan-3x1000")
    generate(repo, 1000)
    state = os.path.join(repo, ".trueup")
    try:
        for env in ("dev", "staging", "prod"):
            sys.stderr.write(f"  applying {env} of the 3 x 1,000-resource repository\n")
            run_measured([trueup, "apply", "--env", env, "--yes"], repo)
        # One spec file changed, in a commit on a branch: what a pull request looks like.
        subprocess.run(GIT + ["-C", repo, "checkout", "-q", "-b", "change"], check=True)
        spec = os.path.join(repo, "environments/dev/dev-007.yaml")
        with open(spec) as f:
            text = f.read()
        with open(spec, "w") as f:
            f.write(text.replace('SEED: "', 'SEED: "1', 1))
        subprocess.run(GIT + ["-C", repo, "commit", "-q", "-am", "dev: another seed for dev-007"], check=True)
        base = subprocess.run(["git", "-C", repo, "rev-parse", "main"], check=True, capture_output=True, text=True).stdout.strip()
        cases = [{"name": f"plan --env {env} (no-op)", "argv": [trueup, "plan", "--repo", repo, "--env", env, "--rev", base]}
                 for env in ("dev", "staging", "prod")]
        cases += [
            {"name": "diff, 1 file changed, 3 envs", "argv": [trueup, "diff", "--repo", repo, "--base", base, "--head", "HEAD"], "expect": [2]},
            {"name": "diff --format markdown", "argv": [trueup, "diff", "--repo", repo, "--base", base, "--head", "HEAD", "--format", "markdown"], "expect": [2]},
            {"name": "validate (load + validate only)", "argv": [trueup, "validate", "--repo", repo, "--rev", base]},
            {"name": "floor: trueup --version", "argv": [trueup, "--version"]},
        ]
        config = {
            "runs": runs, "warmup": 2, "cases": cases,
            "ratios": [
                {"label": "no-op plan dev / validate    ", "of": "plan --env dev (no-op)", "to": "validate (load + validate only)", "target": 150},
                {"label": "no-op plan staging / validate", "of": "plan --env staging (no-op)", "to": "validate (load + validate only)", "target": 150},
                {"label": "no-op plan prod / validate   ", "of": "plan --env prod (no-op)", "to": "validate (load + validate only)", "target": 150},
                {"label": "diff / no-op plan dev        ", "of": "diff, 1 file changed, 3 envs", "to": "plan --env dev (no-op)", "target": 200},
            ],
        }
        time_cases(config, os.path.join(scratch, "timing.json"),
                   f"no-op plan and diff of 3 environments x 1,000 resources, all applied ({runs} timed runs per case, round-robin)")
        print()
        history_benchmark(trueup, repo, state, base, runs, scratch)
        print()
        controller_state_benchmark(trueup, repo, state, base, runs, scratch)
    finally:
        stop_deployments(state)


def history_benchmark(trueup, repo, state, base, runs, scratch, commits=40):
    """4. A no-op plan of dev after `commits` earlier commits that each changed every job: their
    runs are copied into dev's history under other identities (what a long-lived environment
    accumulates), against staging's no-op plan, whose history is one apply's. A plan reads the runs
    of the identities it plans, so the two should take the same time."""
    db = sqlite3.connect(os.path.join(state, "state.db"))
    try:
        with db:
            rows = db.execute("SELECT identity, job, record_json, status, updated_at FROM job_runs WHERE environment = 'dev'").fetchall()
            for n in range(commits):
                db.executemany(
                    "INSERT INTO job_runs(identity, environment, job, record_json, status, updated_at) VALUES (?, 'dev', ?, ?, ?, ?)",
                    [(f"{identity}-commit-{n}", job, record.replace(identity, f"{identity}-commit-{n}"), status, updated - 86400 * (n + 1))
                     for identity, job, record, status, updated in rows])
        past = db.execute("SELECT COUNT(*) FROM job_runs WHERE environment = 'dev'").fetchone()[0]
    finally:
        db.close()
    cases = [
        {"name": f"plan --env dev (no-op, {past:,} runs recorded)", "argv": [trueup, "plan", "--repo", repo, "--env", "dev", "--rev", base]},
        {"name": f"plan --env staging (no-op, {len(rows):,} runs)", "argv": [trueup, "plan", "--repo", repo, "--env", "staging", "--rev", base]},
        {"name": f"history --env dev ({past:,} runs)", "argv": [trueup, "history", "--repo", repo, "--env", "dev"]},
        {"name": f"history --env staging ({len(rows):,} runs)", "argv": [trueup, "history", "--repo", repo, "--env", "staging"]},
    ]
    config = {"runs": runs, "warmup": 2, "cases": cases, "ratios": [
        {"label": "plan: long history / one apply's   ", "of": cases[0]["name"], "to": cases[1]["name"], "target": 150},
        {"label": "history: long history / one apply's", "of": cases[2]["name"], "to": cases[3]["name"]}]}
    time_cases(config, os.path.join(scratch, "timing-history.json"),
               f"no-op plan and history after {commits} earlier commits' job runs ({runs} timed runs per case, round-robin)")


def controller_state_benchmark(trueup, repo, state, base, runs, scratch):
    """5. `trueup diff --server` over dev's long history (section 4) against the same diff reading
    the state folder: the controller sends each job's latest run and earlier ones by identity, so
    the two should take about the same time. The controller follows main, where every environment
    is applied and its servers run, so its first reconcile has nothing to do."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    log = open(os.path.join(scratch, "controller.log"), "w")
    controller = subprocess.Popen([trueup, "controller", "--repo", repo, "--state-dir", state, "--listen", f"127.0.0.1:{port}", "--poll", "600s"],
                                  cwd=repo, stdout=log, stderr=subprocess.STDOUT)
    try:
        token, answer, deadline = None, None, time.time() + 120
        while answer is None:
            if controller.poll() is not None or time.time() > deadline:
                sys.exit(f"benchmark: the controller did not answer for dev's state within 120 s: see {log.name}")
            time.sleep(0.5)
            try:
                with open(os.path.join(state, "api-token")) as f:
                    token = f.read().strip()
                request = urllib.request.Request(f"{url}/api/v1/environments/dev/state", headers={"Authorization": f"Bearer {token}"})
                answer = urllib.request.urlopen(request, timeout=30).read()
            except (OSError, urllib.error.URLError):
                answer = None
        timings = []
        for _ in range(runs):
            start = time.perf_counter()
            urllib.request.urlopen(request, timeout=30).read()
            timings.append((time.perf_counter() - start) * 1000)
        print(f"controller's GET /api/v1/environments/dev/state: {len(answer):,} bytes, median {median(timings):.1f} ms over {runs} requests")
        os.environ["TRUEUP_BENCH_API_TOKEN"] = token
        cases = [
            {"name": "diff --env dev --server (controller)", "expect": [2],
             "argv": [trueup, "diff", "--repo", repo, "--base", base, "--head", "HEAD", "--env", "dev", "--server", url, "--api-token-env", "TRUEUP_BENCH_API_TOKEN"]},
            {"name": "diff --env dev (state folder)", "expect": [2],
             "argv": [trueup, "diff", "--repo", repo, "--base", base, "--head", "HEAD", "--env", "dev"]},
        ]
        config = {"runs": runs, "warmup": 2, "cases": cases, "ratios": [
            {"label": "diff: from the controller / from the state folder", "of": cases[0]["name"], "to": cases[1]["name"]}]}
        time_cases(config, os.path.join(scratch, "timing-controller-state.json"),
                   f"diff of dev with its long history, actual state from a controller ({runs} timed runs per case, round-robin)")
    finally:
        controller.send_signal(signal.SIGTERM)
        try:
            controller.wait(timeout=60)
        except subprocess.TimeoutExpired:
            controller.kill()
            controller.wait()
        log.close()


def time_cases(config, config_path, title):
    """Prints `title`, then has timing.py run and print `config`'s cases."""
    with open(config_path, "w") as f:
        json.dump(config, f)
    print(title)
    sys.stdout.flush()
    subprocess.run([sys.executable, os.path.join(HERE, "timing.py"), config_path], check=True)


def main():
    trueup, scratch = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    runs = int(os.environ.get("BENCH_RUNS", "21"))
    apply_runs = int(os.environ.get("BENCH_APPLY_RUNS", "3"))
    print(f"trueup plan/apply/diff benchmark on the local backend ({os.cpu_count()} cores, {os.uname().sysname} {os.uname().release})")
    print()
    sys.stdout.flush()
    apply_benchmark(trueup, scratch, apply_runs)
    sys.stdout.flush()
    plan_and_diff_benchmark(trueup, scratch, runs)


if __name__ == "__main__":
    main()
