"""Keyword retrieval over the FAQ and prompt rendering (standard library only).

Used by serve.py and, from the folder above, by eval_prompt.py, so the gate
scores exactly the retrieval code that is deployed.
"""
import json
import math
import os
import re

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
REQUIRED_PLACEHOLDERS = ("question", "context")

STOPWORDS = frozenset("""
a about above after again all am an and any are as at be been being below between both but by can could did
do does doing down during each few for from further had has have having he her here hers him his how i if in
into is it its itself just me more most my myself no nor not now of off on once only or other our ours out
over own same she should so some such than that the their them then there these they this those through to
too under until up very was we were what when where which while who whom why will with would you your yours
yourself please want need get got way there's i'm it's don't can't
""".split())


def stem(word):
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def tokens(text):
    return [stem(w) for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOPWORDS]


def load_faq(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    entries = data.get("faq") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{path}: expected an object with a non-empty 'faq' list")
    for e in entries:
        if not isinstance(e, dict) or not all(isinstance(e.get(k), str) for k in ("id", "question", "answer")):
            raise ValueError(f"{path}: every FAQ entry needs string id, question and answer")
    return data


def find_faq_file(start_dirs):
    for d in start_dirs:
        path = os.path.join(d, "faq.json")
        if os.path.isfile(path):
            return path
    raise FileNotFoundError("faq.json not found in " + ", ".join(start_dirs))


class Retriever:
    """Scores FAQ entries by IDF-weighted overlap between the query's keywords
    and each entry's question keywords. Deterministic: ties go to the first entry."""

    def __init__(self, entries):
        self.entries = entries
        self.keys = [set(tokens(" ".join([e["question"], *e.get("keywords", [])]))) for e in entries]
        n = len(entries)
        df = {}
        for keys in self.keys:
            for t in keys:
                df[t] = df.get(t, 0) + 1
        self.idf = {t: math.log((n + 1) / (c + 0.5)) for t, c in df.items()}

    def best(self, text):
        query = set(tokens(text))
        best_i, best_score = None, 0.0
        for i, keys in enumerate(self.keys):
            score = sum(self.idf[t] for t in query & keys)
            if score > best_score + 1e-12:
                best_i, best_score = i, score
        if best_i is None:
            return None, 0.0
        return self.entries[best_i], best_score


def placeholders(template):
    return set(PLACEHOLDER.findall(template))


def missing_placeholders(template):
    found = placeholders(template)
    return [p for p in REQUIRED_PLACEHOLDERS if p not in found]


def render(template, values):
    """Replace {{name}} with values[name]; unknown placeholders are left as they are."""
    return PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), template)
