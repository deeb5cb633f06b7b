"""Helpers shared by the churn jobs (standard library only)."""
import csv
import json
import math
import os
import sys

FEATURES = ["tenure_months", "monthly_charges", "support_calls", "contract_monthly"]
LABEL = "churned"
HOLDOUT_MODULUS = 5  # customers whose id % 5 == 0 are held out for evaluation


def fail(message, code=2):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


def require_env(name):
    value = os.environ.get(name)
    if not value:
        fail(f"environment variable {name} is not set (run this program as a trueup job)")
    return value


def strip_file_uri(value):
    return value[len("file://"):] if value.startswith("file://") else value


def input_file(env_name, preferred=None):
    """Resolve TRUEUP_INPUT_<NAME> to a file: the dataset file itself, or a
    folder holding it (a single file, or `preferred`)."""
    path = strip_file_uri(require_env(env_name))
    if os.path.isdir(path):
        candidates = sorted(
            f for f in os.listdir(path) if os.path.isfile(os.path.join(path, f)) and not f.startswith(".")
        )
        if preferred in candidates:
            return os.path.join(path, preferred)
        if len(candidates) == 1:
            return os.path.join(path, candidates[0])
        fail(f"{env_name}={path} is a folder without a single data file")
    if not os.path.isfile(path):
        fail(f"{env_name}={path} does not exist")
    return path


def output_dir():
    path = require_env("TRUEUP_OUTPUT_DIR")
    os.makedirs(path, exist_ok=True)
    return path


def write_json(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(value, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def load_features(path):
    """Read features.csv -> (ids, rows of floats in FEATURES order, labels)."""
    ids, xs, ys = [], [], []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ["customer_id", *FEATURES, LABEL] if c not in (reader.fieldnames or [])]
        if missing:
            fail(f"{path}: missing columns {', '.join(missing)}")
        for line, row in enumerate(reader, start=2):
            try:
                ids.append(int(row["customer_id"]))
                xs.append([float(row[c]) for c in FEATURES])
                ys.append(int(row[LABEL]))
            except ValueError as e:
                fail(f"{path}:{line}: {e}")
    if not ids:
        fail(f"{path}: no rows")
    return ids, xs, ys


def is_holdout(customer_id):
    return customer_id % HOLDOUT_MODULUS == 0


def split(ids, xs, ys, holdout):
    keep = [i for i, cid in enumerate(ids) if is_holdout(cid) == holdout]
    return [xs[i] for i in keep], [ys[i] for i in keep]


def sigmoid(z):
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def predict(model, x):
    mean = model["normalisation"]["mean"]
    std = model["normalisation"]["std"]
    z = model["bias"]
    for w, v, m, s in zip(model["weights"], x, mean, std):
        z += w * (v - m) / s
    return sigmoid(z)


def auc(labels, scores):
    """Area under the ROC curve (Mann-Whitney U, ties count one half)."""
    pairs = sorted(zip(scores, labels))
    pos = sum(labels)
    neg = len(labels) - pos
    if pos == 0 or neg == 0:
        return 0.5
    rank_sum = 0.0
    i = 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        avg_rank = (i + 1 + j) / 2.0  # ranks i+1..j
        rank_sum += avg_rank * sum(1 for k in range(i, j) if pairs[k][1] == 1)
        i = j
    return (rank_sum - pos * (pos + 1) / 2.0) / (pos * neg)


def log_loss(labels, probs):
    eps = 1e-12
    total = 0.0
    for y, p in zip(labels, probs):
        p = min(max(p, eps), 1 - eps)
        total -= y * math.log(p) + (1 - y) * math.log(1 - p)
    return total / len(labels)
