#!/usr/bin/env python3
"""Runs the optimised build (`make release`) through the commands users run most, on a clone of
this repository: the debug build that `swift test` exercises can hide what only the optimiser
gets wrong (a task-group result corrupted in release builds once made every `trueup diff` crash).

Each command must finish within its timeout with its documented exit code, and print what it
promises; a crash (a signal, or Swift's "Fatal error") fails the check with the command's output.

Usage: release_smoke.py --trueup .build/release/trueup
Exit status: 0 when every command behaves, 1 otherwise.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
TIMEOUT = 120
checks = 0
GIT = ["git", "-c", "user.name=trueup smoke", "-c", "user.email=smoke@example.com", "-c", "commit.gpgsign=false"]


def run(trueup, args, cwd, expect, must_print, failures):
    global checks
    checks += 1
    argv = [trueup] + args
    shown = " ".join(["trueup"] + args)
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        failures.append(f"{shown}: no answer within {TIMEOUT} s")
        return None
    output = done.stdout + done.stderr
    if done.returncode < 0 or "Fatal error" in output:
        failures.append(f"{shown}: crashed (exit {done.returncode})\n{output[-2000:]}")
    elif done.returncode not in expect:
        failures.append(f"{shown}: exit {done.returncode}, expected {' or '.join(map(str, expect))}\n{output[-2000:]}")
    elif must_print not in output:
        failures.append(f"{shown}: did not print {must_print!r}\n{output[-2000:]}")
    else:
        print(f"ok   {shown} (exit {done.returncode})")
    return done


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trueup", required=True)
    trueup = os.path.abspath(parser.parse_args().trueup)
    failures = []
    with tempfile.TemporaryDirectory(prefix="trueup-release-smoke.") as scratch:
        repo = os.path.join(scratch, "repo")
        subprocess.run(["git", "clone", "-q", str(ROOT), repo], check=True)
        # A pull request's worth of change: dev trains for more epochs.
        base = subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
        env_file = Path(repo, "environments/dev/environment.yaml")
        text = env_file.read_text()
        if "    epochs: 50\n" not in text:
            print("FAIL environments/dev/environment.yaml no longer sets epochs: 50; update this check")
            return 1
        env_file.write_text(text.replace("    epochs: 50\n", "    epochs: 60\n", 1))
        subprocess.run(GIT + ["-C", repo, "checkout", "-q", "-b", "change"], check=True)
        subprocess.run(GIT + ["-C", repo, "commit", "-q", "-am", "dev: more epochs"], check=True)

        run(trueup, ["validate", "--repo", repo], repo, [0], "valid: dev, prod, staging", failures)
        run(trueup, ["validate", "--repo", repo, "--worktree", "--format", "json"], repo, [0], '"valid"', failures)
        run(trueup, ["plan", "--repo", repo, "--env", "dev"], repo, [2], "dev", failures)
        for fmt, marker in (("text", "dev:"), ("markdown", "| environment |")):
            run(trueup, ["diff", "--repo", repo, "--base", base, "--head", "HEAD", "--format", fmt], repo, [2], marker, failures)
        done = run(trueup, ["diff", "--repo", repo, "--base", base, "--head", "HEAD", "--format", "json"], repo, [2], "epochs", failures)
        if done is not None and done.returncode == 2:
            try:
                names = sorted(e["name"] for e in json.loads(done.stdout)["environments"])
                if names != ["dev", "prod", "staging"]:
                    failures.append(f"trueup diff --format json: environments {names}, expected dev, prod, staging")
            except (ValueError, KeyError, TypeError) as error:
                failures.append(f"trueup diff --format json: not the report's JSON ({error})")
    for failure in failures:
        print(f"FAIL {failure}")
    print(f"release smoke: {checks - len(failures)} of {checks} commands behaved, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
