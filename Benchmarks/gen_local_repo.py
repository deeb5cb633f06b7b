#!/usr/bin/env python3
"""Generates a repository that the local backend can really apply: 3 environments (dev, staging,
prod) x about N resources each, every job a tiny shell script that writes what the job contract
asks for, every deployment a tiny Python server with /healthz.

It is what the plan, apply, diff and controller benchmarks run against (gen_repo.py's repository
names mlflow and ray backends and cannot be applied on one machine). Half of each environment's
resources come from environments/base, half are its own; variables make every environment's job
identities differ.

A "project" is 10 resources: Dataset raw (path + sha256) -> Job prepare -> Dataset features
(fromJob) -> Job train -> Model (fromJob, gated by Job evaluate) ; Prompt (inline, gated by Job
eval-prompt) ; Dataset labels (path) ; and a Job report, or, in one project of ten, a Deployment
serving the model.

Only the standard library is used. Output is deterministic for a given --resources.
Usage: gen_local_repo.py DEST [--resources N]
"""
import argparse
import hashlib
import os
import subprocess
import sys

ENVS = {
    "dev": {"sync": "auto", "selfHeal": "true", "prune": "true", "epochs": 2},
    "staging": {"sync": "auto", "selfHeal": "false", "prune": "false", "epochs": 5},
    "prod": {"sync": "manual", "selfHeal": "false", "prune": "false", "epochs": 9},
}

JOB_SCRIPT = """#!/bin/sh
# One script for every job of the project: $1 says which. Writes what DESIGN.md's job contract
# asks for under $TRUEUP_OUTPUT_DIR, deterministically, in a few milliseconds.
set -eu
out="$TRUEUP_OUTPUT_DIR"
case "$1" in
  prepare) mkdir -p "$out/data"; printf 'id,feature\\n1,0.5\\n2,0.7\\n' > "$out/data/features.csv" ;;
  train) mkdir -p "$out/model"; printf '{"weights": [0.1, 0.2], "epochs": "%s"}\\n' "${3:-1}" > "$out/model/model.json"
         printf '{"train_auc": 0.93}\\n' > "$out/metrics.json" ;;
  evaluate) printf '{"auc": 0.91, "latency_p95_ms": 4}\\n' > "$out/metrics.json" ;;
  eval-prompt) printf '{"accuracy": 0.95}\\n' > "$out/metrics.json" ;;
  report) printf '{"rows": 2}\\n' > "$out/metrics.json" ;;
  *) echo "unknown step $1" >&2; exit 2 ;;
esac
"""

SERVER = """import http.server, json, os

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"ok": True, "model": os.environ.get("TRUEUP_MODEL_URI", "")}).encode()
        self.send_response(200 if self.path in ("/healthz", "/") else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""


def write(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def project(repo, name, index):
    """The 10 resource documents of one project, and its code folder written under ml/."""
    code = f"ml/{name}"
    raw = f"id,tenure,spend,label\n" + "".join(f"{i},{(index * 7 + i) % 60},{(index * 13 + i) % 300},{i % 2}\n" for i in range(8))
    labels = f"id,label\n" + "".join(f"{i},{(index + i) % 2}\n" for i in range(8))
    write(repo, f"{code}/raw.csv", raw)
    write(repo, f"{code}/labels.csv", labels)
    write(repo, f"{code}/job.sh", JOB_SCRIPT)
    serving = index % 10 == 0
    if serving:
        write(repo, f"{code}/serve/serve.py", SERVER)
    sha = hashlib.sha256(raw.encode()).hexdigest()
    docs = [
        f"""kind: Dataset
metadata: {{name: {name}-raw, labels: {{project: {name}}}}}
spec:
  path: {code}/raw.csv
  sha256: {sha}
""",
        f"""kind: Job
metadata: {{name: {name}-prepare}}
spec:
  code: {code}
  command: [sh, job.sh, prepare]
  inputs: {{datasets: [{name}-raw]}}
  timeout: 1m
""",
        f"""kind: Dataset
metadata: {{name: {name}-features}}
spec:
  fromJob: {name}-prepare
""",
        f"""kind: Job
metadata: {{name: {name}-train}}
spec:
  code: {code}
  command: [sh, job.sh, train, --epochs, "${{vars.epochs}}"]
  env: {{SEED: "{index % 97}"}}
  inputs: {{datasets: [{name}-features]}}
  timeout: 1m
  retries: 1
""",
        f"""kind: Job
metadata: {{name: {name}-evaluate}}
spec:
  code: {code}
  command: [sh, job.sh, evaluate]
  inputs: {{datasets: [{name}-features]}}
  trigger: manual
  timeout: 1m
""",
        f"""kind: Model
metadata: {{name: {name}}}
spec:
  fromJob: {name}-train
  gates:
    - job: {name}-evaluate
      metrics: {{auc: ">= 0.8", latency_p95_ms: "<= 50"}}
""",
        f"""kind: Job
metadata: {{name: {name}-eval-prompt}}
spec:
  code: {code}
  command: [sh, job.sh, eval-prompt]
  trigger: manual
  timeout: 1m
""",
        f"""kind: Prompt
metadata: {{name: {name}-answer}}
spec:
  template: "You answer questions about {name}. Context: {{{{context}}}} Question: {{{{question}}}}"
  type: text
  modelConfig: {{model: small-model, temperature: 0.{index % 9}}}
  gates:
    - job: {name}-eval-prompt
      metrics: {{accuracy: ">= 0.9"}}
""",
        f"""kind: Dataset
metadata: {{name: {name}-labels}}
spec:
  path: {code}/labels.csv
""",
    ]
    if serving:
        docs.append(f"""kind: Deployment
metadata: {{name: {name}-api}}
spec:
  model: {name}
  code: {code}/serve
  command: [python3, serve.py]
  config: {{threshold: 0.5}}
  health: {{path: /healthz, timeout: 20s}}
""")
    else:
        docs.append(f"""kind: Job
metadata: {{name: {name}-report}}
spec:
  code: {code}
  command: [sh, job.sh, report]
  inputs: {{datasets: [{name}-features, {name}-labels]}}
  timeout: 1m
""")
    return ["apiVersion: trueup/v1\n" + d for d in docs]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dest")
    ap.add_argument("--resources", type=int, default=1000, help="resources per environment (a multiple of 20)")
    args = ap.parse_args()
    repo = args.dest
    if os.path.exists(repo) and os.listdir(repo):
        sys.exit(f"gen_local_repo: {repo} exists and is not empty")
    projects = max(2, args.resources // 10)
    shared = projects // 2
    index = 0
    for p in range(shared):
        name = f"shared-{p:03d}"
        write(repo, f"environments/base/{name}.yaml", "---\n".join(project(repo, name, index)))
        index += 1
    for env, settings in ENVS.items():
        write(repo, f"environments/{env}/environment.yaml", f"""apiVersion: trueup/v1
kind: Environment
metadata: {{name: {env}}}
spec:
  extends: [base]
  sync: {settings["sync"]}
  selfHeal: {settings["selfHeal"]}
  prune: {settings["prune"]}
  interval: 10m
  variables:
    epochs: {settings["epochs"]}
""")
        for p in range(projects - shared):
            name = f"{env[:3]}-{p:03d}"
            write(repo, f"environments/{env}/{name}.yaml", "---\n".join(project(repo, name, index)))
            index += 1
    git = ["git", "-C", repo, "-c", "user.name=trueup bench", "-c", "user.email=bench@example.com",
           "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"]
    subprocess.run(git + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-q", "-m", "benchmark environments"], check=True)
    # Packed, as a clone or a fetched mirror is: thousands of loose objects would time the disk.
    subprocess.run(git + ["gc", "-q"], check=True)


if __name__ == "__main__":
    main()
