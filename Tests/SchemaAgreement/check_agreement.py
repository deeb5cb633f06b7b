#!/usr/bin/env python3
"""Checks that trueup's schema validator agrees with an independent one (DESIGN.md section 2).

For every YAML document of cases/good/*.yaml and cases/bad/*.yaml, `trueup schema-instance FILE`
prints the document as trueup types it (schema-directed: `version: 1.10` is the string "1.10" where
the schema says string) with trueup's own verdict. That instance is validated again with
jsonschema's Draft202012Validator against schemas/<kind>.schema.json, read from disk (the files
users point their editors at, not trueup's built-in copy). A case fails when the two verdicts
differ, when a good document is invalid or when a bad document is valid.

Usage: check_agreement.py --trueup .build/debug/trueup [--cases DIR] [--schemas DIR]
Exit status: 0 when every document agrees, 1 otherwise.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def load_validators(schemas_dir):
    validators = {}
    for path in sorted(schemas_dir.glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator.check_schema(schema)
        validators[path.name] = jsonschema.Draft202012Validator(schema)
    return validators


def trueup_documents(trueup, path):
    """One record per document, as `trueup schema-instance` prints them."""
    result = subprocess.run([trueup, "schema-instance", str(path)], capture_output=True, text=True)
    records = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    if result.returncode != 0 or any("parseError" in r for r in records):
        detail = "; ".join(r.get("parseError", "") for r in records) or result.stderr.strip()
        raise RuntimeError(f"trueup could not read {path}: {detail}")
    return records


def document_count(path):
    """Non-empty documents, counted by a second YAML parser to catch a document trueup skipped."""
    with path.open(encoding="utf-8") as f:
        return sum(1 for d in yaml.safe_load_all(f) if d is not None)


def describe(record, index):
    instance = record.get("instance") or {}
    name = (instance.get("metadata") or {}).get("name") if isinstance(instance, dict) else None
    return f"document {index + 1} ({record.get('kind')}/{name})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trueup", required=True, help="the trueup binary")
    parser.add_argument("--cases", default=str(HERE / "cases"), help="folder holding good/ and bad/")
    parser.add_argument("--schemas", default=str(ROOT / "schemas"), help="folder holding <kind>.schema.json")
    args = parser.parse_args()

    validators = load_validators(Path(args.schemas))
    cases = Path(args.cases)
    passed, failures = 0, []
    counts = {"good": 0, "bad": 0}
    for expectation in ("good", "bad"):
        for path in sorted((cases / expectation).glob("*.yaml")):
            relative = path.relative_to(cases)
            try:
                records = trueup_documents(args.trueup, path)
            except RuntimeError as error:
                failures.append(str(error))
                continue
            try:
                expected_count = document_count(path)
            except yaml.YAMLError as error:
                failures.append(f"{relative}: PyYAML cannot count its documents ({error}): keep case files plain YAML")
                continue
            if len(records) != expected_count:
                failures.append(f"{relative}: trueup printed {len(records)} documents, the file has {expected_count}")
            for index, record in enumerate(records):
                counts[expectation] += 1
                where = f"{relative}: {describe(record, index)}"
                kind = record.get("kind")
                if kind is None:
                    failures.append(f"{where}: no known kind, so no schema to check against")
                    continue
                validator = validators[f"{kind.lower()}.schema.json"]
                errors = sorted(validator.iter_errors(record["instance"]), key=lambda e: list(e.absolute_path))
                independent = not errors
                problems = []
                if record["valid"] != independent:
                    problems.append(f"trueup says {'valid' if record['valid'] else 'invalid'}, "
                                    f"jsonschema says {'valid' if independent else 'invalid'}")
                if (expectation == "good") != independent:
                    problems.append(f"a {expectation} case must be {'valid' if expectation == 'good' else 'invalid'}")
                if problems:
                    lines = [f"{where}: " + "; ".join(problems)]
                    lines += [f"    trueup: {message}" for message in record["errors"]]
                    lines += [f"    jsonschema: {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors]
                    lines.append(f"    instance: {json.dumps(record['instance'], sort_keys=True)}")
                    failures.append("\n".join(lines))
                else:
                    passed += 1

    for failure in failures:
        print(failure)
    if counts["good"] == 0 or counts["bad"] == 0:
        failures.append("no cases found")
        print(f"no cases found under {cases}/good and {cases}/bad")
    print(f"agreement: {passed} passed, {len(failures)} failed")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
