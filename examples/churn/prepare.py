#!/usr/bin/env python3
"""trueup job: turn the raw customers table into numeric features.

Reads  TRUEUP_INPUT_CUSTOMERS (customers.csv: customer_id, tenure_months,
       monthly_charges, support_calls, contract month|year, churned 0/1)
Writes $TRUEUP_OUTPUT_DIR/data/features.csv  (the Dataset version)
       $TRUEUP_OUTPUT_DIR/metrics.json       ({rows, churn_rate})
"""
import csv
import os

from churnlib import FEATURES, LABEL, fail, input_file, output_dir, write_json


def main():
    source = input_file("TRUEUP_INPUT_CUSTOMERS", preferred="customers.csv")
    out = output_dir()
    rows = []
    with open(source, newline="") as f:
        for line, r in enumerate(csv.DictReader(f), start=2):
            try:
                contract = r["contract"].strip()
                if contract not in ("month", "year"):
                    raise ValueError(f"contract must be month or year, not {contract!r}")
                churned = int(r["churned"])
                if churned not in (0, 1):
                    raise ValueError(f"churned must be 0 or 1, not {churned}")
                rows.append({
                    "customer_id": int(r["customer_id"]),
                    "tenure_months": int(r["tenure_months"]),
                    "monthly_charges": float(r["monthly_charges"]),
                    "support_calls": int(r["support_calls"]),
                    "contract_monthly": 1 if contract == "month" else 0,
                    LABEL: churned,
                })
            except (KeyError, ValueError) as e:
                fail(f"{source}:{line}: {e}")
    if not rows:
        fail(f"{source}: no rows")

    data_dir = os.path.join(out, "data")
    os.makedirs(data_dir, exist_ok=True)
    with open(os.path.join(data_dir, "features.csv"), "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["customer_id", *FEATURES, LABEL])
        for r in rows:
            writer.writerow([r["customer_id"], r["tenure_months"], f"{r['monthly_charges']:.2f}",
                             r["support_calls"], r["contract_monthly"], r[LABEL]])

    churn_rate = sum(r[LABEL] for r in rows) / len(rows)
    write_json(os.path.join(out, "metrics.json"), {"rows": len(rows), "churn_rate": round(churn_rate, 6)})
    print(f"prepared {len(rows)} rows from {source} (churn rate {churn_rate:.3f})")


if __name__ == "__main__":
    main()
