#!/usr/bin/env python3
"""Generates the benchmark repository: 3 environments (dev, staging, prod) x 1,000 resources.

Layout (DESIGN §1-2), meant to look like a real team's repository rather than 3,000 copies of one
document:
  environments/base/<domain>/...          500 resources shared by every environment
  environments/<env>/environment.yaml     settings, variables; extends [base]
  environments/<env>/<domain>/...         500 resources of that environment's own projects
  environments/<env>/overrides*.yaml      deep-merge overrides of inherited resources
  ml/<domain>/<project>/...               the code folders, data files and prompt templates that
                                          `code`, `path` and `templateFile` point to

Each "model project" is 7 resources wired together (raw Dataset with path+sha256 -> prepare Job ->
features Dataset fromJob -> train Job -> Model fromJob with an evaluate gate Job -> Deployment);
each "prompt project" is 4 (Prompt with a gate Job, a Deployment, a uri Dataset). Half the projects
are one multi-document file, half a sub-folder with one file per kind. Variables (${vars.x},
${env.name}, ${git.shortCommit}) appear in commands, env and labels.

Only the standard library is used. Output is deterministic for a given --resources.
Usage: gen_repo.py DEST [--resources N]   (N = effective resources per environment, default 1000)
"""
import argparse
import hashlib
import os
import subprocess
import sys

ENVS = ["dev", "staging", "prod"]
DOMAINS = ["churn", "fraud", "ranking", "search", "support", "pricing", "forecast", "vision"]
SCHEMA_COMMENT = "# yaml-language-server: $schema={up}schemas/{kind}.schema.json\n"


def write(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def up(rel_file):
    """The ../ prefix from a spec file back to the repository root (for the $schema comment)."""
    return "../" * (rel_file.count("/"))


class Folder:
    """Resources of one folder under environments/, grouped into files."""

    def __init__(self, name, root):
        self.name = name
        self.root = root
        self.count = 0

    def emit(self, rel_file, docs):
        parts = []
        for kind, body in docs:
            parts.append(SCHEMA_COMMENT.format(up=up(rel_file), kind=kind) + body)
        write(self.root, rel_file, "---\n".join(parts))
        self.count += sum(1 for kind, _ in docs if kind != "environment")


def csv_for(project):
    lines = ["customer_id,tenure_months,monthly_spend,support_tickets,plan,label"]
    h = int(hashlib.sha256(project.encode()).hexdigest()[:8], 16)
    for i in range(12):
        h = (h * 1103515245 + 12345) & 0x7FFFFFFF
        lines.append(f"{project[:3]}-{i:04d},{h % 72},{(h >> 7) % 400}.{h % 100:02d},{(h >> 3) % 9},"
                     f"{['basic', 'plus', 'pro'][h % 3]},{h % 2}")
    return "\n".join(lines) + "\n"


def model_project(repo, folder, domain, project, idx, labels_env):
    """7 resources. Returns the list of (kind, yaml) documents and writes the code folder."""
    code = f"ml/{domain}/{project}"
    data_path = f"{code}/data/raw.csv"
    data = csv_for(project)
    write(repo, data_path, data)
    sha = hashlib.sha256(data.encode()).hexdigest()
    write(repo, f"{code}/prepare.py", f"# prepare features for {project}\nimport os\nprint(os.environ['TRUEUP_OUTPUT_DIR'])\n")
    write(repo, f"{code}/train.py", f"# train {project}\nimport json, os, sys\nprint(sys.argv)\n")
    write(repo, f"{code}/evaluate.py", f"# evaluate {project}\nimport json\nprint(json.dumps({{'auc': 0.9}}))\n")
    write(repo, f"{code}/serve/serve.py", f"# serve {project}\nfrom http.server import HTTPServer\napp = None\n")
    team = ["growth", "risk", "discovery", "platform"][idx % 4]
    labels = f"{{team: {team}, domain: {domain}{labels_env}}}"
    n = project
    gpu = idx % 5 == 0
    docs = []
    docs.append(("dataset", f"""apiVersion: trueup/v1
kind: Dataset
metadata:
  name: {n}-raw
  labels: {labels}
spec:
  description: Raw table for {n}, versioned in this repository and pinned by content hash.
  path: {data_path}
  sha256: {sha}
"""))
    docs.append(("job", f"""apiVersion: trueup/v1
kind: Job
metadata:
  name: {n}-prepare
  labels: {labels}
spec:
  code: {code}
  command: [python3, prepare.py, --seed, "${{vars.seed}}"]
  inputs:
    datasets: [{n}-raw]
  timeout: 5m
"""))
    docs.append(("dataset", f"""apiVersion: trueup/v1
kind: Dataset
metadata:
  name: {n}-features
  labels: {labels}
spec:
  description: "Numeric features of {n}: whatever {n}-prepare writes to data/."
  fromJob: {n}-prepare
"""))
    resources = ("  resources: {cpus: 4, memoryMB: 16384, gpus: 1}\n" if gpu
                 else f"  resources:\n    cpus: {1 + idx % 3}\n    memoryMB: {512 * (1 + idx % 4)}\n    gpus: 0\n")
    docs.append(("job", f"""apiVersion: trueup/v1
kind: Job
metadata:
  name: {n}-train
  labels: {labels}
  annotations:
    trueup.dev/owner: {team}-ml@example.com
    trueup.dev/runbook: "https://wiki.example.com/ml/{domain}/{n}#training"
spec:
  code: {code}
  command:
    - python3
    - train.py
    - --epochs
    - "${{vars.epochs}}"
    - --learning-rate
    - "${{vars.learningRate}}"
  env:
    SEED: "{idx % 97}"
    TRUEUP_TRACKING_TAG: "${{env.name}}-${{git.shortCommit}}"
  inputs:
    datasets: [{n}-features]
  trigger: {"onChange" if idx % 7 else '{schedule: "0 2 * * *"}'}
  timeout: {30 + idx % 90}m
  retries: {idx % 3}
{resources}"""))
    docs.append(("job", f"""apiVersion: trueup/v1
kind: Job
metadata:
  name: {n}-evaluate
  labels: {labels}
spec:
  code: {code}
  command: [python3, evaluate.py]
  inputs:
    datasets: [{n}-features]
  trigger: manual
  timeout: 10m
"""))
    docs.append(("model", f"""apiVersion: trueup/v1
kind: Model
metadata:
  name: {n}
  labels: {labels}
spec:
  description: >-
    Classifier for {domain}, trained from the commit's code in every
    environment that does not pin a version.
  fromJob: {n}-train
  gates:
    - job: {n}-evaluate
      metrics:
        auc: ">= 0.{70 + idx % 25}"
        latency_p95_ms: "<= {80 + idx % 100}"
"""))
    docs.append(("deployment", f"""apiVersion: trueup/v1
kind: Deployment
metadata:
  name: {n}-api
  labels: {labels}
spec:
  model: {n}
  code: {code}/serve
  command: [python3, serve.py]
  importPath: serve:app
  replicas: 1
  config:
    threshold: 0.{5 + idx % 4}
    features: [tenure_months, monthly_spend, support_tickets]
    cache: {{enabled: true, ttlSeconds: {60 * (1 + idx % 5)}}}
  health:
    path: /healthz
    timeout: 30s
  resources: {{cpus: 0.5}}
  dependsOn: [Dataset/{n}-features]
"""))
    return docs


def prompt_project(repo, folder, domain, project, idx, labels_env):
    """4 resources."""
    code = f"ml/{domain}/{project}"
    template = f"{code}/prompts/answer.txt"
    write(repo, template, f"You answer questions about {domain} for {project}.\nContext:\n{{{{context}}}}\nQuestion: {{{{question}}}}\n")
    write(repo, f"{code}/eval_prompt.py", f"# evaluate prompt {project}\nimport os\nprint(os.environ.get('TRUEUP_CANDIDATE_PROMPT'))\n")
    write(repo, f"{code}/serve/serve.py", f"# serve prompt {project}\napp = None\n")
    labels = f"{{team: support, domain: {domain}{labels_env}}}"
    n = project
    sha = hashlib.sha256(f"external {n}".encode()).hexdigest()
    inline = idx % 3 == 0
    source = (f"""  template: |
    You are the {domain} assistant for {n}.
    Answer in at most three sentences, citing the FAQ entry.

    FAQ:
    {{{{context}}}}

    Question: {{{{question}}}}
""" if inline else f"  templateFile: {template}\n")
    return [
        ("prompt", f"""apiVersion: trueup/v1
kind: Prompt
metadata:
  name: {n}
  labels: {labels}
spec:
  description: Answers {domain} questions from retrieved FAQ entries.
{source}  type: {"chat" if idx % 4 == 0 else "text"}
  modelConfig:
    model: gpt-4o-mini
    temperature: 0.{idx % 9}
    max_tokens: {256 * (1 + idx % 4)}
  gates:
    - job: {n}-eval
      metrics:
        accuracy: ">= 0.8"
        refusal_rate: "<= 0.05"
"""),
        ("job", f"""apiVersion: trueup/v1
kind: Job
metadata:
  name: {n}-eval
  labels: {labels}
spec:
  code: {code}
  command: [python3, eval_prompt.py, --questions, "${{vars.evalQuestions}}"]
  inputs:
    datasets: [{n}-faq]
  trigger: manual
  timeout: 5m
"""),
        ("dataset", f"""apiVersion: trueup/v1
kind: Dataset
metadata:
  name: {n}-faq
  labels: {labels}
spec:
  uri: "s3://example-ml-data/{domain}/{n}/faq-2026-11.jsonl"
  sha256: {sha}
"""),
        ("deployment", f"""apiVersion: trueup/v1
kind: Deployment
metadata:
  name: {n}-api
  labels: {labels}
spec:
  prompt: {n}
  code: {code}/serve
  command: ["python3", "serve.py"]
  importPath: "serve:app"
  replicas: 1
  env: {{LOG_LEVEL: info, RATE_LIMIT: "50"}}
  health: {{path: /healthz, timeout: 20s}}
"""),
    ]


def fill_folder(repo, folder, prefix, target, labels_env, counter):
    """Adds projects to `folder` until it holds exactly `target` resources. Returns the names of
    the model projects (for overrides)."""
    models = []
    spec_dir = f"environments/{folder.name}"
    while folder.count < target:
        remaining = target - folder.count
        idx = counter[0]
        counter[0] += 1
        domain = DOMAINS[idx % len(DOMAINS)]
        is_prompt = remaining < 7 or idx % 5 == 4
        if remaining < 4:
            # Top up with standalone external datasets.
            n = f"{prefix}{domain}-{idx:04d}-extra"
            sha = hashlib.sha256(n.encode()).hexdigest()
            docs = [("dataset", f"""apiVersion: trueup/v1
kind: Dataset
metadata:
  name: {n}-{i}
spec:
  uri: "file:///srv/data/{domain}/{n}-{i}.parquet"
  sha256: {sha}
""") for i in range(remaining)]
            folder.emit(f"{spec_dir}/{domain}/extras-{idx:04d}.yaml", docs)
            continue
        project = f"{prefix}{domain}-{idx:04d}"
        if is_prompt:
            docs = prompt_project(repo, folder, domain, project, idx, labels_env)
        else:
            docs = model_project(repo, folder, domain, project, idx, labels_env)
            models.append(project)
        if (idx // len(DOMAINS)) % 2 == 0:
            # One multi-document file per project.
            folder.emit(f"{spec_dir}/{domain}/{project}.yaml", docs)
        else:
            # A sub-folder per project, one file per kind (several documents when a kind repeats).
            by_kind = {}
            for kind, body in docs:
                by_kind.setdefault(kind, []).append((kind, body))
            for kind, kdocs in by_kind.items():
                folder.emit(f"{spec_dir}/{domain}/{project}/{kind}s.yaml", kdocs)
    return models


ENV_SETTINGS = {
    "dev": """apiVersion: trueup/v1
kind: Environment
metadata:
  name: dev
  labels: {tier: development}
spec:
  extends: [base]
  sync: auto
  selfHeal: true
  prune: true
  interval: 5m
  backends:
    registry: {type: local}
    jobs: {type: local}
    serving: {type: local}
    data: {type: local}
  variables:
    epochs: 5
    learningRate: 0.1
    seed: 7
    evalQuestions: 50
""",
    "staging": """apiVersion: trueup/v1
kind: Environment
metadata:
  name: staging
  labels: {tier: pre-production}
spec:
  extends: [base]
  sync: auto
  selfHeal: false
  prune: false
  interval: 10m
  backends:
    registry: {type: mlflow, url: "http://127.0.0.1:5000", tokenFromEnv: MLFLOW_TOKEN}
    jobs: {type: local}
    serving: {type: local}
  variables:
    epochs: 200
    learningRate: 0.05
    seed: 7
    evalQuestions: 500
""",
    "prod": """apiVersion: trueup/v1
kind: Environment
metadata:
  name: prod
  labels: {tier: production}
spec:
  extends: [base]
  sync: manual
  selfHeal: false
  prune: false
  interval: 10m
  promotion:
    from: staging
  windows:
    - {kind: deny, schedule: "0 17 * * 5", duration: 64h}
    - kind: deny
      schedule: "0 0 24 12 *"
      duration: 48h
  backends:
    registry: {type: mlflow, url: "http://127.0.0.1:5000", tokenFromEnv: MLFLOW_TOKEN}
    jobs: {type: ray, url: "http://127.0.0.1:8265"}
    serving: {type: ray, url: "http://127.0.0.1:8265"}
    data: {type: local}
  variables:
    epochs: 200
    learningRate: 0.05
    seed: 7
    evalQuestions: 2000
    pinnedVersion: "12"
""",
}


def overrides(env, base_models, count):
    """Deep-merge overrides of inherited resources; they add no resources."""
    docs = []
    for i, m in enumerate(base_models[:count]):
        up_ = "../../"
        if env == "prod" and i % 2 == 0:
            docs.append(f"""{SCHEMA_COMMENT.format(up=up_, kind="model")}# prod serves a version promoted from staging instead of training its own.
apiVersion: trueup/v1
kind: Model
metadata:
  name: {m}
spec:
  fromJob: null
  version: "${{vars.pinnedVersion}}"
  alias: production
""")
        elif i % 3 == 0:
            docs.append(f"""{SCHEMA_COMMENT.format(up=up_, kind="job")}apiVersion: trueup/v1
kind: Job
metadata:
  name: {m}-train
spec:
  resources: {{cpus: 8, memoryMB: 32768, gpus: {1 if env == "prod" else 0}}}
  env:
    SEED: "{i}"
""")
        else:
            docs.append(f"""{SCHEMA_COMMENT.format(up=up_, kind="deployment")}apiVersion: trueup/v1
kind: Deployment
metadata:
  name: {m}-api
  labels: {{owner: {env}-oncall}}
spec:
  replicas: {dict(dev=1, staging=1, prod=4)[env]}
  config:
    threshold: 0.65
    cache: null
""")
    return docs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dest")
    ap.add_argument("--resources", type=int, default=1000, help="effective resources per environment")
    args = ap.parse_args()
    repo = args.dest
    if os.path.exists(repo) and os.listdir(repo):
        sys.exit(f"gen_repo: {repo} exists and is not empty")
    os.makedirs(repo, exist_ok=True)
    total = args.resources
    base_n = total // 2
    own_n = total - base_n
    counter = [0]

    base = Folder("base", repo)
    base_models = fill_folder(repo, base, "", base_n, "", counter)
    for env in ENV_SETTINGS:
        folder = Folder(env, repo)
        folder.emit(f"environments/{env}/environment.yaml", [("environment", ENV_SETTINGS[env])])
        fill_folder(repo, folder, f"{env[:3]}-", own_n, ", stage: \"${env.name}\"", counter)
        docs = overrides(env, base_models, 60)
        half = len(docs) // 2
        write(repo, f"environments/{env}/overrides.yaml", "---\n".join(docs[:half]))
        write(repo, f"environments/{env}/tuning/overrides-2.yaml", "---\n".join(docs[half:]))
        assert folder.count == own_n, (env, folder.count)
    write(repo, "README.md", "Generated by trueup Benchmarks/gen_repo.py: 3 environments x %d resources.\n" % total)

    git = ["git", "-C", repo, "-c", "user.name=trueup bench", "-c", "user.email=bench@example.com",
           "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"]
    subprocess.run(git + ["init", "-q"], check=True)
    # No automatic gc: a background gc started by `commit` races the explicit one below and fails
    # it with "gc is already running".
    subprocess.run(git + ["config", "gc.auto", "0"], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-q", "-m", "benchmark environments"], check=True,
                   env={**os.environ, "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z"})
    # A cloned repository is packed: measure reads from a pack, not from thousands of loose objects.
    subprocess.run(git + ["gc", "-q", "--aggressive", "--prune=now"], check=True)


if __name__ == "__main__":
    main()
