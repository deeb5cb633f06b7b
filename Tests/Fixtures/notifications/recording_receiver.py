#!/usr/bin/env python3
"""A local HTTP receiver for notification tests: binds 127.0.0.1 on a free port, writes the port
to --port-file, appends every request it gets (method, path, headers, raw body) as one JSON line
to --record, and answers like GitHub, GitLab, Slack or a webhook would:

  POST .../deployments -> 201 {"id": n}; other POSTs -> 201 {}; GETs -> 200 {}.

--port binds a given port (a receiver restarted where the last one was).
--fail-first N answers the first N requests with --fail-status (503 by default, with Retry-After
when --retry-after is given); --hang accepts requests and never answers.
"""
import argparse, json, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

parser = argparse.ArgumentParser()
parser.add_argument("--record", required=True)
parser.add_argument("--port-file", required=True)
parser.add_argument("--fail-first", type=int, default=0)
parser.add_argument("--fail-status", type=int, default=503)
parser.add_argument("--retry-after")
parser.add_argument("--hang", action="store_true")
parser.add_argument("--port", type=int, default=0, help="the port to bind (default: a free one)")
args = parser.parse_args()

lock = threading.Lock()
state = {"requests": 0, "deployments": 0}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with lock:
            state["requests"] += 1
            n = state["requests"]
            with open(args.record, "a") as f:
                f.write(json.dumps({"method": self.command, "path": self.path, "headers": dict(self.headers.items()),
                                    "body": body.decode("utf-8", "replace"), "time": time.time()}) + "\n")
        if args.hang:
            time.sleep(3600)
            return
        if n <= args.fail_first:
            self.answer(args.fail_status, {"message": "unavailable"}, retry_after=args.retry_after)
            return
        if self.command == "POST" and self.path.endswith("/deployments"):
            with lock:
                state["deployments"] += 1
                self.answer(201, {"id": 1000 + state["deployments"]})
        elif self.command == "POST":
            self.answer(201, {})
        else:
            self.answer(200, {})

    def answer(self, status, payload, retry_after=None):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if retry_after is not None:
            self.send_header("Retry-After", retry_after)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = handle_any


server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
server.daemon_threads = True
with open(args.port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.replace(args.port_file + ".tmp", args.port_file)
server.serve_forever()
