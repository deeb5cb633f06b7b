#!/usr/bin/env python3
"""Regenerate customers.csv, the synthetic churn dataset (deterministic).

    python3 generate.py > customers.csv

The same seed always gives the same bytes, so the sha256 pinned in
environments/base stays valid. Churn follows a logistic model of tenure,
monthly charges, support calls and contract type, plus noise, so that a
logistic regression can learn it (holdout AUC around 0.85).
"""
import math
import random
import sys

ROWS = 300
SEED = 20240611


def main():
    rng = random.Random(SEED)
    out = sys.stdout
    out.write("customer_id,tenure_months,monthly_charges,support_calls,contract,churned\n")
    for i in range(ROWS):
        customer_id = 10001 + i
        tenure = rng.randint(1, 72)
        # Long-tenure customers are more likely to be on a yearly contract.
        contract = "year" if rng.random() < 0.15 + 0.6 * tenure / 72 else "month"
        charges = round(rng.uniform(20.0, 120.0), 2)
        calls = min(9, int(rng.expovariate(1 / 1.6)))
        logit = (
            0.2
            - 0.045 * tenure
            + 0.022 * (charges - 70.0)
            + 0.42 * calls
            + 1.1 * (contract == "month")
            - 0.8
        )
        p = 1.0 / (1.0 + math.exp(-logit))
        churned = 1 if rng.random() < p else 0
        out.write(f"{customer_id},{tenure},{charges:.2f},{calls},{contract},{churned}\n")


if __name__ == "__main__":
    main()
