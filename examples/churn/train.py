#!/usr/bin/env python3
"""trueup job: train a logistic-regression churn classifier by hand.

    python3 train.py --epochs 50 --learning-rate 0.1

Reads  TRUEUP_INPUT_FEATURES (features.csv from prepare.py); rows whose
       customer_id % 5 == 0 are held out for evaluate.py and not trained on
       SEED (environment, default 7): initial weights and shuffling
Writes $TRUEUP_OUTPUT_DIR/model/model.json  (the Model version)
       $TRUEUP_OUTPUT_DIR/metrics.json      ({train_auc, train_loss})
Deterministic: the same data, arguments and SEED give the same bytes.
"""
import argparse
import math
import os
import random

from churnlib import (FEATURES, auc, fail, input_file, load_features, log_loss, output_dir, predict,
                      split, write_json)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50, help="passes over the training rows")
    parser.add_argument("--learning-rate", type=float, default=0.1, help="SGD step size")
    parser.add_argument("--batch-size", type=int, default=16, help="rows per SGD step")
    args = parser.parse_args()
    if args.epochs < 1 or args.epochs > 100000:
        parser.error("--epochs must be between 1 and 100000")
    if not (0 < args.learning_rate <= 10) or math.isnan(args.learning_rate):
        parser.error("--learning-rate must be in (0, 10]")
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    return args


def main():
    args = parse_args()
    try:
        seed = int(os.environ.get("SEED", "7"))
    except ValueError:
        fail("SEED must be an integer")
    rng = random.Random(seed)

    ids, xs, ys = load_features(input_file("TRUEUP_INPUT_FEATURES", preferred="features.csv"))
    xs, ys = split(ids, xs, ys, holdout=False)
    n, d = len(xs), len(FEATURES)
    if n == 0:
        fail("no training rows")

    mean = [sum(x[j] for x in xs) / n for j in range(d)]
    std = [math.sqrt(sum((x[j] - mean[j]) ** 2 for x in xs) / n) or 1.0 for j in range(d)]
    zs = [[(x[j] - mean[j]) / std[j] for j in range(d)] for x in xs]

    weights = [rng.gauss(0.0, 0.01) for _ in range(d)]
    bias = 0.0
    order = list(range(n))
    for _ in range(args.epochs):
        rng.shuffle(order)
        for start in range(0, n, args.batch_size):
            batch = order[start:start + args.batch_size]
            grad_w = [0.0] * d
            grad_b = 0.0
            for i in batch:
                z = bias + sum(w * v for w, v in zip(weights, zs[i]))
                err = 1.0 / (1.0 + math.exp(-max(min(z, 35.0), -35.0))) - ys[i]
                grad_b += err
                for j in range(d):
                    grad_w[j] += err * zs[i][j]
            step = args.learning_rate / len(batch)
            bias -= step * grad_b
            weights = [w - step * g for w, g in zip(weights, grad_w)]

    model = {
        "format": "trueup-example-churn-logreg/v1",
        "features": FEATURES,
        "weights": [round(w, 10) for w in weights],
        "bias": round(bias, 10),
        "normalisation": {"mean": [round(m, 10) for m in mean], "std": [round(s, 10) for s in std]},
        "training": {"epochs": args.epochs, "learning_rate": args.learning_rate,
                     "batch_size": args.batch_size, "seed": seed, "rows": n},
    }
    probs = [predict(model, x) for x in xs]
    metrics = {"train_auc": round(auc(ys, probs), 6), "train_loss": round(log_loss(ys, probs), 6)}

    out = output_dir()
    write_json(os.path.join(out, "model", "model.json"), model)
    write_json(os.path.join(out, "metrics.json"), metrics)
    print(f"trained on {n} rows for {args.epochs} epochs: "
          f"train_auc={metrics['train_auc']:.4f} train_loss={metrics['train_loss']:.4f}")


if __name__ == "__main__":
    main()
