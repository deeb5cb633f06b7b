#!/usr/bin/env python3
"""trueup deployment (local backend): answer support questions over HTTP.

Environment: PORT, TRUEUP_PROMPT_TEMPLATE (the prompt version's template
text, with {{question}} and {{context}}), TRUEUP_CONFIG (JSON; optional
"minScore", the retrieval score below which the bot says it does not know).

    GET  /healthz  -> 200 "ok"
    POST /answer   {"question": "How do I reset my password?"}
                -> {"answer": "...", "faq_id": "reset-password", "score": 2.9,
                    "prompt": "<the template rendered with the question and
                               the matched FAQ entry as context>"}

The answer comes from faq.json (next to this file) by keyword overlap; the
rendered prompt is what an LLM would be sent. Binds 127.0.0.1 only; exits
cleanly on SIGTERM. Standard library only.
"""
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from faqlib import Retriever, find_faq_file, load_faq, missing_placeholders, render  # noqa: E402

MAX_BODY = 16 * 1024
FALLBACK = "Sorry, I do not know. I can open a ticket with our support team for you."


def log(message):
    print(f"support-api: {message}", file=sys.stderr, flush=True)


class App:
    def __init__(self):
        self.template = os.environ.get("TRUEUP_PROMPT_TEMPLATE", "")
        if not self.template:
            sys.exit("support-api: TRUEUP_PROMPT_TEMPLATE is not set")
        missing = missing_placeholders(self.template)
        if missing:
            log("warning: the template lacks " + ", ".join("{{%s}}" % p for p in missing))
        try:
            config = json.loads(os.environ.get("TRUEUP_CONFIG") or "{}")
        except ValueError as e:
            sys.exit(f"support-api: TRUEUP_CONFIG is not JSON: {e}")
        if not isinstance(config, dict):
            config = {}
        self.min_score = float(config.get("minScore", 0.5))
        faq_path = config.get("faqFile") or find_faq_file([HERE, os.path.dirname(HERE)])
        data = load_faq(faq_path)
        self.retriever = Retriever(data["faq"])
        log(f"loaded {len(data['faq'])} FAQ entries from {faq_path}")

    def answer(self, question):
        entry, score = self.retriever.best(question)
        if entry is None or score < self.min_score:
            context = "(no matching reference material)"
            result = {"answer": FALLBACK, "faq_id": None}
        else:
            context = f"Q: {entry['question']}\nA: {entry['answer']}"
            result = {"answer": entry["answer"], "faq_id": entry["id"]}
        result["score"] = round(score, 4)
        result["prompt"] = render(self.template, {"question": question, "context": context})
        return result


APP = None


class Handler(BaseHTTPRequestHandler):
    server_version = "trueup-support-api/1"

    def send(self, status, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else (json.dumps(body) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/healthz":
            self.send(200, b"ok", "text/plain; charset=utf-8")
        else:
            self.send(404, {"error": "not found"})

    def do_POST(self):
        if self.path != "/answer":
            self.send(404, {"error": "not found"})
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length <= 0 or length > MAX_BODY:
            self.send(400 if length <= 0 else 413, {"error": f"a JSON body of 1 to {MAX_BODY} bytes is required"})
            return
        try:
            body = json.loads(self.rfile.read(length))
        except ValueError as e:
            self.send(400, {"error": f"invalid JSON: {e}"})
            return
        question = body.get("question") if isinstance(body, dict) else None
        if not isinstance(question, str) or not question.strip():
            self.send(400, {"error": "expected {\"question\": \"...\"}"})
            return
        self.send(200, APP.answer(question))

    def log_message(self, fmt, *args):
        log(f"{self.address_string()} {fmt % args}")


def main():
    global APP
    APP = App()
    port = int(os.environ.get("PORT", "8000"))
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    log(f"serving on 127.0.0.1:{port}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        log("stopping")
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
