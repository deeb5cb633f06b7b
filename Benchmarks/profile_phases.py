#!/usr/bin/env python3
"""Where `trueup validate` spends its time, by phase, from a perf recording.

  perf record -F 2500 --call-graph dwarf,32768 -o perf.data -- trueup validate --repo REPO
  perf script -i perf.data | swift demangle --simplified | Benchmarks/profile_phases.py [--timeline MS]

With --timeline, prints instead what each thread was doing in each slice of MS milliseconds
(the top three phases per thread): where the run waits on one thread, and what starts when.

Each sample is given to the innermost frame (walking from the leaf) that names a phase, so time in
malloc, retain/release or hashing counts for the code that called it. Prints the share of samples
per phase and the top self-time symbols. DWARF stacks can be cut short; samples whose stack names
no phase are shown as "unattributed".
"""
import collections
import re
import sys

# (phase, regex on a demangled frame); the first rule that matches a frame wins for that frame.
RULES = [
    ("libgit2 init (mbedTLS parses the system CA bundle)", r"LibGit2\.setUp|mbedtls_|libmbed"),
    ("libyaml (parser itself)", r"\byaml_|libyaml-0\.so"),
    ("libgit2 + zlib (read trees and blobs)", r"\bgit_|\binflate|libz\.so|libgit2\.so|adler32|crc32"),
    ("sha256 of path datasets", r"SHA256|CCryptoBoringSSL_sha256|sha256_block"),
    ("hex via String(format:) (digest)", r"String\.init\(format:"),
    ("YAML events -> Node tree (Swift)", r"TreeBuilder|YAMLLoader|LibYAMLParser"),
    ("schema catalog compile (once)", r"SchemaCatalog\.init|SchemaCatalog\.shared|Schema\.init|PatternMatcher\.init"),
    ("schema validation + typing", r"SchemaValidator|PatternMatcher"),
    ("variables ${...}", r"Variables\."),
    ("overlay merge / removingNulls", r"Overlay\."),
    ("repo path checks (code/path/templateFile)", r"RepoPath\.|GitCommitSnapshot\.walk|GitCommitSnapshot\.entry|RepositoryPath"),
    ("dependency graph (order, cycles)", r"DependencyGraph"),
    ("references", r"checkReferences|referenceField"),
    ("other rules (checkRules)", r"BuildRun\.checkRules"),
    ("folders / collect documents", r"BuildRun\.collect|effectiveResources"),
    ("diagnostics sort/merge", r"Diagnostics\.merged|Diagnostic"),
    ("tear-down of the desired state", r"destroy for DesiredState|outlined destroy of DesiredState"),
    ("other desired-state building", r"BuildRun|DesiredStateBuilder"),
    ("SpecLoader (file loop, cache, relocate)", r"SpecLoader"),
    ("command line / output", r"ValidateCommand|ArgumentParser|ValidationReport"),
    ("process start-up and exit (ld.so, runtime init)", r"_dl_|do_lookup_x|dl_main|_dl_start|__libc_start|\bexit\b|_dl_fini|swift::threading|swift_once"),
]
COMPILED = [(p, re.compile(r)) for p, r in RULES]


HEADER = re.compile(r"\s*(\S+)\s+(?:\d+/)?(\d+)\s+([\d.]+):")


def samples(stream):
    """Yields (comm, thread, time in seconds, [frames leaf first]) for each sample of `perf script` output."""
    comm, thread, time, frames = None, "", 0.0, []
    for line in stream:
        line = line.rstrip("\n")
        if not line.strip():
            if comm is not None:
                yield comm, thread, time, frames
            comm, frames = None, []
            continue
        if not line.startswith((" ", "\t")):
            header = HEADER.match(line)
            comm = line.split()[0] if line.split() else ""
            thread, time = (header.group(2), float(header.group(3))) if header else ("", 0.0)
            frames = []
        else:
            parts = line.strip().split(None, 1)
            frames.append(parts[1] if len(parts) > 1 else parts[0])
    if comm is not None:
        yield comm, thread, time, frames


def phase_of(frames):
    for frame in frames:
        hit = next((p for p, r in COMPILED if r.search(frame)), None)
        if hit:
            return hit
    if any("kernel" in f for f in frames[:1]):
        return "kernel (page faults, mmap, I/O) outside a phase"
    return "unattributed (stack cut short)"


def timeline(stream, slice_ms):
    """Per slice of time, per thread: the phases its samples fell in."""
    slices = collections.defaultdict(lambda: collections.defaultdict(collections.Counter))
    start = None
    for comm, thread, time, frames in samples(stream):
        if comm in ("bash", "perf", "sh"):
            continue
        start = time if start is None else min(start, time)
        slices[time][thread][phase_of(frames)] += 1
    if start is None:
        sys.exit("profile_phases: no samples on standard input")
    rows = collections.defaultdict(lambda: collections.defaultdict(collections.Counter))
    for time, threads in slices.items():
        index = int((time - start) * 1000 / slice_ms)
        for thread, phases in threads.items():
            rows[index][thread].update(phases)
    for index in sorted(rows):
        cells = []
        for thread, phases in sorted(rows[index].items()):
            top = ", ".join(f"{p.split(' (')[0]} {n}" for p, n in phases.most_common(3))
            cells.append(f"{thread[-4:]}: {top}")
        print(f"{index * slice_ms:6.0f} ms  " + " | ".join(cells))


def symbol(frame):
    # "name+0x12 (/path/lib.so)" -> "name  [lib.so]"
    m = re.match(r"(.*?)(\+0x[0-9a-f]+)? \((.*)\)$", frame)
    if not m:
        return frame
    return f"{m.group(1)}  [{m.group(3).rsplit('/', 1)[-1]}]"


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--timeline":
        timeline(sys.stdin, float(sys.argv[2]))
        return
    phases = collections.Counter()
    leaves = collections.Counter()
    total = 0
    for comm, _, _, frames in samples(sys.stdin):
        if comm in ("bash", "perf", "sh"):
            continue
        total += 1
        if frames:
            leaves[symbol(frames[0])] += 1
        phases[phase_of(frames)] += 1
    if not total:
        sys.exit("profile_phases: no samples on standard input")
    print(f"{total} samples of trueup")
    print(f"{'share':>6}  phase (innermost recognised frame)")
    for phase, n in phases.most_common():
        print(f"{100 * n / total:5.1f}%  {phase}")
    print()
    print(f"{'self':>6}  top symbols by self time")
    for sym, n in leaves.most_common(25):
        print(f"{100 * n / total:5.1f}%  {sym[:150]}")


if __name__ == "__main__":
    main()
