#!/usr/bin/env python3
"""trueup gate job: score a candidate support prompt template.

Reads  TRUEUP_CANDIDATE_PROMPT (a file holding the candidate template text)
       faq.json (this folder)
Writes $TRUEUP_OUTPUT_DIR/metrics.json  ({accuracy, template_tokens, cases})

The template must contain the {{question}} and {{context}} placeholders
(otherwise: accuracy 0 and exit 1). Each FAQ question and paraphrase is
rendered through the template (context: the product description) and given
to a deterministic keyword-retrieval responder, the stand-in for the LLM;
accuracy is the share of cases answered with the right FAQ entry. Noise in
the template lowers it, so the gate catches templates that drown the question.
"""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "serve"))

from faqlib import Retriever, load_faq, missing_placeholders, render  # noqa: E402


def fail(message, code=2):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


def read_candidate():
    path = os.environ.get("TRUEUP_CANDIDATE_PROMPT")
    if not path:
        fail("TRUEUP_CANDIDATE_PROMPT is not set (run this program as a trueup gate job)")
    if path.startswith("file://"):
        path = path[len("file://"):]
    if os.path.isdir(path):
        files = sorted(f for f in os.listdir(path) if os.path.isfile(os.path.join(path, f)))
        if len(files) != 1:
            fail(f"TRUEUP_CANDIDATE_PROMPT={path} is a folder without a single template file")
        path = os.path.join(path, files[0])
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        fail(f"cannot read the candidate template {path}: {e}")


def write_metrics(metrics):
    out = os.environ.get("TRUEUP_OUTPUT_DIR")
    if not out:
        fail("TRUEUP_OUTPUT_DIR is not set")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2, sort_keys=True)
        f.write("\n")


def main():
    template = read_candidate()
    template_tokens = len(re.findall(r"\S+", template))
    try:
        data = load_faq(os.path.join(HERE, "faq.json"))
    except (OSError, ValueError) as e:
        fail(str(e))
    entries = data["faq"]

    missing = missing_placeholders(template)
    if missing:
        write_metrics({"accuracy": 0, "template_tokens": template_tokens, "cases": 0})
        print("error: the template lacks " + ", ".join("{{%s}}" % p for p in missing), file=sys.stderr)
        sys.exit(1)

    retriever = Retriever(entries)
    context = data.get("description", "")
    cases = correct = 0
    for entry in entries:
        for question in [entry["question"], *entry.get("paraphrases", [])]:
            prompt = render(template, {"question": question, "context": context})
            answer, _ = retriever.best(prompt)
            cases += 1
            if answer is not None and answer["id"] == entry["id"]:
                correct += 1
            else:
                got = answer["id"] if answer else "nothing"
                print(f"miss: {question!r} -> {got} (expected {entry['id']})", file=sys.stderr)

    accuracy = correct / cases
    write_metrics({"accuracy": round(accuracy, 6), "template_tokens": template_tokens, "cases": cases})
    print(f"{correct}/{cases} cases answered correctly: accuracy={accuracy:.4f}, "
          f"template_tokens={template_tokens}")


if __name__ == "__main__":
    main()
