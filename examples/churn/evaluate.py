#!/usr/bin/env python3
"""trueup gate job: evaluate a candidate churn model on the holdout rows.

Reads  TRUEUP_CANDIDATE_MODEL (the candidate model version's folder, holding
       model.json) and TRUEUP_INPUT_FEATURES (features.csv; rows whose
       customer_id % 5 == 0 form the holdout)
Writes $TRUEUP_OUTPUT_DIR/metrics.json  ({auc, accuracy, latency_p95_ms})
Exits 0 when it could evaluate: the thresholds are the gate's business.
"""
import json
import os
import time

from churnlib import (FEATURES, auc, fail, input_file, load_features, output_dir, predict, require_env,
                      split, strip_file_uri, write_json)


def load_model():
    path = strip_file_uri(require_env("TRUEUP_CANDIDATE_MODEL"))
    if os.path.isdir(path):
        path = os.path.join(path, "model.json")
    try:
        with open(path) as f:
            model = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"cannot load the candidate model {path}: {e}")
    if model.get("features") != FEATURES:
        fail(f"{path}: model features {model.get('features')} do not match {FEATURES}")
    return model


def main():
    model = load_model()
    ids, xs, ys = load_features(input_file("TRUEUP_INPUT_FEATURES", preferred="features.csv"))
    xs, ys = split(ids, xs, ys, holdout=True)
    if not xs:
        fail("the holdout is empty")

    probs, latencies = [], []
    for x in xs:
        start = time.perf_counter()
        probs.append(predict(model, x))
        latencies.append((time.perf_counter() - start) * 1000.0)
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    accuracy = sum(1 for p, y in zip(probs, ys) if (p >= 0.5) == (y == 1)) / len(ys)

    metrics = {"auc": round(auc(ys, probs), 6), "accuracy": round(accuracy, 6),
               "latency_p95_ms": round(p95, 6), "holdout_rows": len(ys)}
    write_json(os.path.join(output_dir(), "metrics.json"), metrics)
    print(f"holdout of {len(ys)} rows: auc={metrics['auc']:.4f} accuracy={metrics['accuracy']:.4f} "
          f"latency_p95_ms={metrics['latency_p95_ms']:.4f}")


if __name__ == "__main__":
    main()
