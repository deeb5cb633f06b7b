#!/usr/bin/env python3
"""Times whole processes, many times each, and prints medians and p90s.

Cases are run round-robin (one run of each, then the next round) so that noise from the rest of
the machine falls on all of them alike. Each run's standard output and error go to /dev/null; its
standard input is the file named by the case, if any. A run that exits non-zero aborts the
benchmark: a failing command is not a measurement.

Input: a JSON file, {"runs": N, "warmup": W, "cases": [{"name", "argv", "stdin"?, "role"?,
"expect"?}], "ratios"?: [{"label", "of", "to", "target"?}]}.
role: "trueup", "libyaml" or "pyyaml" (the rows ratios are computed between), or "floor" (process
start-up only, shown for reference). expect: the exit codes that count as success (default [0]).
ratios: extra lines "label: median(of) / median(to)", with "target": a ceiling in ms for `of`
itself, reported as met or not. Standard library only.
"""
import json
import math
import os
import subprocess
import sys
import tempfile
import time


def run_once(case):
    """Wall time and CPU time (user + system, from wait4 on that child) of one run, in ms."""
    stdin = open(case["stdin"], "rb") if case.get("stdin") else subprocess.DEVNULL
    stderr = tempfile.TemporaryFile()
    try:
        start = time.perf_counter_ns()
        proc = subprocess.Popen(case["argv"], stdin=stdin, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = (time.perf_counter_ns() - start) / 1e6
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in case.get("expect", [0]):
            stderr.seek(0)
            sys.stderr.write(f"benchmark: '{case['name']}' exited {proc.returncode}: {' '.join(case['argv'])}\n")
            sys.stderr.write(stderr.read().decode(errors="replace")[-2000:])
            sys.exit(1)
    finally:
        stderr.close()
        if stdin is not subprocess.DEVNULL:
            stdin.close()
    # (ru_maxrss is not reported: after fork it starts from this harness's own resident size.)
    return wall, (usage.ru_utime + usage.ru_stime) * 1000


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def p90(xs):
    s = sorted(xs)
    return s[max(0, math.ceil(0.9 * len(s)) - 1)]  # nearest rank


def main():
    with open(sys.argv[1]) as f:
        config = json.load(f)
    runs, warmup, cases = config["runs"], config["warmup"], config["cases"]
    for _ in range(warmup):
        for case in cases:
            run_once(case)
    results = {c["name"]: {"wall": [], "cpu": []} for c in cases}
    for i in range(runs):
        for case in cases:
            wall, cpu = run_once(case)
            results[case["name"]]["wall"].append(wall)
            results[case["name"]]["cpu"].append(cpu)
        sys.stderr.write(f"\r  run {i + 1}/{runs}")
        sys.stderr.flush()
    sys.stderr.write("\n")

    width = max(len(c["name"]) for c in cases)
    print(f"{'case':<{width}}  {'median ms':>9}  {'p90 ms':>8}  {'min ms':>8}  {'CPU ms (median)':>15}")
    for case in cases:
        r = results[case["name"]]
        print(f"{case['name']:<{width}}  {median(r['wall']):9.1f}  {p90(r['wall']):8.1f}  {min(r['wall']):8.1f}  "
              f"{median(r['cpu']):15.1f}")

    def role_median(role, key):
        for case in cases:
            if case.get("role") == role:
                return median(results[case["name"]][key])
        return None

    def floor_median(name, key):
        return median(results[name][key]) if name in results else None

    print()
    for ratio in config.get("ratios", []):
        of, to = results[ratio["of"]], results[ratio["to"]]
        wall = median(of["wall"]) / median(to["wall"])
        cpu = median(of["cpu"]) / median(to["cpu"]) if median(to["cpu"]) > 0 else float("nan")
        target = ratio.get("target")
        verdict = f"   target < {target} ms: " + ("met" if median(of["wall"]) < target else "NOT met") if target else ""
        print(f"{ratio['label']}  wall {wall:5.2f}x   CPU {cpu:5.2f}x{verdict}")
    if role_median("trueup", "wall") is None:
        return
    for role, label in (("libyaml", "bare libyaml"), ("pyyaml", "PyYAML CSafeLoader")):
        if role_median(role, "wall") is None:
            continue
        wall = role_median("trueup", "wall") / role_median(role, "wall")
        cpu = role_median("trueup", "cpu") / role_median(role, "cpu")
        verdict = ("   target <= 3.0x: " + ("met" if wall <= 3.0 else "NOT met")) if role == "libyaml" else ""
        print(f"trueup / {label:<18}  wall {wall:5.2f}x   CPU {cpu:5.2f}x{verdict}")
    tf, cf = config.get("trueup_floor"), config.get("libyaml_floor")
    if tf in results and cf in results and role_median("libyaml", "wall") is not None:
        for key, label in (("wall", "wall"), ("cpu", "CPU ")):
            net_t = role_median("trueup", key) - floor_median(tf, key)
            net_c = role_median("libyaml", key) - floor_median(cf, key)
            if net_c > 0:
                print(f"  start-up floors subtracted, {label}: {net_t:6.1f} ms / {net_c:5.1f} ms = {net_t / net_c:5.2f}x")
    json_out = config.get("json_out")
    if json_out:
        with open(json_out, "w") as f:
            json.dump(results, f)


if __name__ == "__main__":
    main()
