#!/usr/bin/env python3
"""Validates `trueup diff --format json` outputs against schemas/diff-report.schema.json.

Usage: validate_report.py SCHEMA REPORT.json [REPORT.json ...]
Exit 0 when the schema is a valid draft 2020-12 schema with a description on every property and
every report validates; 1 otherwise, with one line per problem (JSON path and message).
Needs `jsonschema` (the repository's .venv: scripts/setup-deps --test).
"""
import json
import sys

from jsonschema import Draft202012Validator


def undocumented(node, path="#"):
    """Paths of properties (and $defs) whose schema has no description."""
    missing = []
    if isinstance(node, dict):
        for key in ("properties", "$defs"):
            for name, sub in (node.get(key) or {}).items():
                where = f"{path}/{key}/{name}"
                if not isinstance(sub, dict) or not sub.get("description"):
                    missing.append(where)
        for key, sub in node.items():
            # Conditional assertions (if/then/else/not) constrain declared properties; they declare none.
            if key in ("if", "then", "else", "not"):
                continue
            if isinstance(sub, (dict, list)):
                missing += undocumented(sub, f"{path}/{key}")
    elif isinstance(node, list):
        for i, sub in enumerate(node):
            missing += undocumented(sub, f"{path}/{i}")
    return missing


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as f:
        schema = json.load(f)
    Draft202012Validator.check_schema(schema)
    problems = [f"{argv[0]}: {where}: no description" for where in sorted(set(undocumented(schema)))]
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    for report_path in argv[1:]:
        with open(report_path, encoding="utf-8") as f:
            report = json.load(f)
        for error in sorted(validator.iter_errors(report), key=lambda e: list(e.absolute_path)):
            problems.append(f"{report_path}: {error.json_path}: {error.message[:300]}")
    for line in problems:
        print(line)
    print(f"validate_report: {len(argv) - 1} report(s), {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
