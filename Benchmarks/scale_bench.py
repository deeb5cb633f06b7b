#!/usr/bin/env python3
"""Scale benchmark (DESIGN section 8): 3 environments x 33,000 resources (about 100,000 in all)
against 3 x 1,000, so that linearity shows.

For each size it times whole processes, round-robin:
  trueup validate --repo REPO                 every environment: load + validate
  the same validate, cached                   with --state-dir of an existing folder, whose parsed-spec
                                              cache the warm-up run filled
  trueup plan --env dev --repo REPO           one environment against an empty state (exit 2), with
                                              the parsed-spec cache the warm-up run filled
  the same plan, no cache                     its state folder's cache/ removed before each run
and prints the median wall time, CPU time and peak resident memory, the memory per resource, the
ratios of the large size against the small one (per resource, 1.00x is perfectly linear) and the
targets: validate < 2 s and <= 2.5 KB of peak memory per resource; plan of one environment < 1 s.

Peak memory is ru_maxrss of the waited child (the harness starts children with vfork/posix_spawn,
so the figure is the child's own). Standard library only.
Usage: scale_bench.py TRUEUP_BINARY CACHE_DIR      Environment: BENCH_RUNS (default 5),
BENCH_SCALE_RESOURCES (default 33000), BENCH_BASE_RESOURCES (default 1000), BASELINE_BIN (another
trueup timed in the same rounds, whose figures and ratios are printed beside: on a shared machine,
only runs of one invocation are comparable).
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

from timing import median

HERE = os.path.dirname(os.path.abspath(__file__))
ENVIRONMENTS = 3


def repository(cache, resources):
    """The generated repository for this size, cached by the generator's content."""
    with open(os.path.join(HERE, "gen_repo.py"), "rb") as f:
        key = hashlib.sha256(f.read() + str(resources).encode()).hexdigest()[:12]
    repo = os.path.join(cache, f"scale-repo-{resources}-{key}")
    if not os.path.isdir(os.path.join(repo, ".git")):
        partial = repo + ".partial"
        shutil.rmtree(partial, ignore_errors=True)
        sys.stderr.write(f"==> generating {ENVIRONMENTS} environments x {resources} resources into {repo}\n")
        subprocess.run([sys.executable, os.path.join(HERE, "gen_repo.py"), partial, "--resources", str(resources)], check=True,
                       stdout=subprocess.DEVNULL)
        os.rename(partial, repo)
    return repo


def measure(argv, expect):
    """(wall ms, CPU ms, peak RSS KiB) of one whole process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = (time.perf_counter() - start) * 1000
    code = os.waitstatus_to_exitcode(status)
    if code not in expect:
        sys.stderr.write(f"benchmark: {' '.join(argv)} exited {code}:\n{stderr.decode(errors='replace')[-3000:]}\n")
        sys.exit(1)
    return wall, (usage.ru_utime + usage.ru_stime) * 1000, usage.ru_maxrss


def main():
    trueup, cache = sys.argv[1], sys.argv[2]
    runs = int(os.environ.get("BENCH_RUNS", "5"))
    large = int(os.environ.get("BENCH_SCALE_RESOURCES", "33000"))
    small = int(os.environ.get("BENCH_BASE_RESOURCES", "1000"))
    baseline = os.environ.get("BASELINE_BIN")
    os.makedirs(cache, exist_ok=True)
    repos = {size: repository(cache, size) for size in (small, large)}
    state = tempfile.mkdtemp(prefix="trueup-scale-state-")
    try:
        cases = []
        binaries = [("", trueup)] + ([("baseline ", os.path.abspath(baseline))] if baseline else [])
        for size, repo in repos.items():
            for prefix, binary in binaries:
                cases.append((prefix + "validate", size, [binary, "validate", "--repo", repo], (0,)))
                # validate uses the parsed-spec cache of a state folder that exists (it never makes one).
                kept = os.path.join(state, prefix + "validate-" + str(size))
                os.makedirs(kept, exist_ok=True)
                cases.append((prefix + "validate, cached", size, [binary, "validate", "--repo", repo, "--state-dir", kept], (0,)))
                cases.append((prefix + "plan --env dev", size, [binary, "plan", "--env", "dev", "--repo", repo,
                                                                 "--state-dir", os.path.join(state, prefix + str(size))], (2,)))
                # The same plan with the state folder's parsed-spec cache emptied before each run:
                # a first plan, or one after every spec file changed.
                cold = os.path.join(state, prefix + "cold-" + str(size))
                cases.append((prefix + "plan, no cache", size, [binary, "plan", "--env", "dev", "--repo", repo,
                                                                 "--state-dir", cold], (2,)))
        samples = {(name, size): [] for name, size, _, _ in cases}

        def run(argv, expect):
            if "--state-dir" in argv and "cold-" in argv[-1]:
                shutil.rmtree(os.path.join(argv[-1], "cache"), ignore_errors=True)
            return measure(argv, expect)

        for name, size, argv, expect in cases:  # warm-up: page cache, state folders
            run(argv, expect)
        for i in range(runs):
            for name, size, argv, expect in cases:
                samples[(name, size)].append(run(argv, expect))
            sys.stderr.write(f"\r  run {i + 1}/{runs}")
            sys.stderr.flush()
        sys.stderr.write("\n")
    finally:
        shutil.rmtree(state, ignore_errors=True)

    def stats(name, size):
        s = samples[(name, size)]
        return median([x[0] for x in s]), median([x[1] for x in s]), max(x[2] for x in s)

    print(f"trueup scale benchmark: {ENVIRONMENTS} environments x {small} and x {large} resources, {runs} runs each, "
          f"round-robin; {os.cpu_count()} cores")
    print(f"{'case':<25} {'resources':>10} {'median ms':>10} {'CPU ms':>9} {'peak MB':>8} {'KB/resource':>12}")
    for name, size, _, _ in cases:
        wall, cpu, rss = stats(name, size)
        counted = size * (ENVIRONMENTS if "validate" in name else 1)
        print(f"{name:<25} {counted:>10} {wall:10.1f} {cpu:9.1f} {rss / 1024:8.1f} {rss * 1.024 / counted:12.2f}")
    print()
    factor = large / small
    checks = [(prefix + name, target_ms, target_kb) for prefix in ([""] + (["baseline "] if baseline else []))
              for name, target_ms, target_kb in (("validate", 2000, 2.5), ("validate, cached", 2000, 2.5),
                                                 ("plan --env dev", 1000, None), ("plan, no cache", 1000, None))]
    for name, target_ms, target_kb in checks:
        wall_s, _, rss_s = stats(name, small)
        wall_l, _, rss_l = stats(name, large)
        counted = large * (ENVIRONMENTS if "validate" in name else 1)
        line = (f"{name:<16} x{factor:.0f} resources: time x{wall_l / wall_s:.1f} ({wall_l / wall_s / factor:.2f}x per resource), "
                f"memory x{rss_l / rss_s:.1f} ({rss_l / rss_s / factor:.2f}x per resource)")
        verdicts = [f"< {target_ms} ms: " + ("met" if wall_l < target_ms else "NOT met") + f" ({wall_l:.0f} ms)"]
        if target_kb:
            per = rss_l * 1.024 / counted
            verdicts.append(f"<= {target_kb} KB/resource: " + ("met" if per <= target_kb else "NOT met") + f" ({per:.2f})")
        print(line)
        print(f"{'':<16} target {'; '.join(verdicts)}")
    if baseline:
        print()
        for name in ("validate", "validate, cached", "plan --env dev", "plan, no cache"):
            for size in (small, large):
                wall, cpu, rss = stats(name, size)
                base_wall, base_cpu, base_rss = stats("baseline " + name, size)
                print(f"{name:<16} x{size:<6} against the baseline binary: time x{wall / base_wall:.2f}, CPU x{cpu / base_cpu:.2f}, "
                      f"peak memory x{rss / base_rss:.2f}")


if __name__ == "__main__":
    main()
