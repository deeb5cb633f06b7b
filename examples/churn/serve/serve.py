#!/usr/bin/env python3
"""trueup deployment (local backend): serve the churn classifier over HTTP.

Environment: PORT, TRUEUP_MODEL_URI (the model version's folder holding
model.json, or a file:// URI of it), TRUEUP_CONFIG (JSON, e.g.
{"threshold": 0.5}).

    GET  /healthz  -> 200 "ok"
    POST /predict  {"tenure_months": 3, "monthly_charges": 95.5,
                    "support_calls": 4, "contract": "month"}
                -> {"churn_probability": 0.87, "churn": true, "threshold": 0.5}
       (contract may also be given as "contract_monthly": 0|1)

Binds 127.0.0.1 only; exits cleanly on SIGTERM. Standard library only.
"""
import json
import math
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 64 * 1024


def log(message):
    print(f"churn-api: {message}", file=sys.stderr, flush=True)


def load_model():
    uri = os.environ.get("TRUEUP_MODEL_URI", "")
    if not uri:
        sys.exit("churn-api: TRUEUP_MODEL_URI is not set")
    path = uri[len("file://"):] if uri.startswith("file://") else uri
    if uri.startswith(("mlflow-artifacts:", "models:", "runs:")):
        # On a cluster with an MLflow registry the model stays on the tracking server
        # (MLFLOW_TRACKING_URI is set beside the URI): MLflow's client fetches it.
        import mlflow

        path = mlflow.artifacts.download_artifacts(artifact_uri=uri)
    if os.path.isdir(path):
        path = os.path.join(path, "model.json")
    with open(path) as f:
        model = json.load(f)
    for key in ("features", "weights", "bias", "normalisation"):
        if key not in model:
            sys.exit(f"churn-api: {path} has no {key!r}: not a churn model")
    return model


def load_threshold():
    raw = os.environ.get("TRUEUP_CONFIG") or "{}"
    try:
        config = json.loads(raw)
    except ValueError as e:
        sys.exit(f"churn-api: TRUEUP_CONFIG is not JSON: {e}")
    threshold = config.get("threshold", 0.5) if isinstance(config, dict) else 0.5
    if isinstance(threshold, str):
        threshold = float(threshold)
    if not isinstance(threshold, (int, float)) or not 0.0 <= threshold <= 1.0:
        sys.exit(f"churn-api: threshold must be a number between 0 and 1, not {threshold!r}")
    return float(threshold)


MODEL = None
THRESHOLD = 0.5


def feature_vector(body):
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object of features")
    body = dict(body)
    if "contract_monthly" not in body and "contract" in body:
        contract = body["contract"]
        if contract not in ("month", "year"):
            raise ValueError("contract must be \"month\" or \"year\"")
        body["contract_monthly"] = 1 if contract == "month" else 0
    values = []
    for name in MODEL["features"]:
        if name not in body:
            raise ValueError(f"missing feature {name!r}")
        value = body[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"feature {name!r} must be a finite number")
        values.append(float(value))
    return values


def predict(x):
    norm = MODEL["normalisation"]
    z = MODEL["bias"]
    for w, v, m, s in zip(MODEL["weights"], x, norm["mean"], norm["std"]):
        z += w * (v - m) / (s or 1.0)
    z = max(min(z, 35.0), -35.0)
    return 1.0 / (1.0 + math.exp(-z))


class Handler(BaseHTTPRequestHandler):
    server_version = "trueup-churn-api/1"

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
        elif self.path == "/":
            self.send(200, {"model": MODEL.get("format"), "features": MODEL["features"], "threshold": THRESHOLD})
        else:
            self.send(404, {"error": "not found"})

    def do_POST(self):
        if self.path != "/predict":
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
            p = predict(feature_vector(json.loads(self.rfile.read(length))))
        except ValueError as e:  # includes JSON decode errors
            self.send(400, {"error": str(e)})
            return
        self.send(200, {"churn_probability": round(p, 6), "churn": p >= THRESHOLD, "threshold": THRESHOLD})

    def log_message(self, fmt, *args):
        log(f"{self.address_string()} {fmt % args}")


def main():
    global MODEL, THRESHOLD
    MODEL = load_model()
    THRESHOLD = load_threshold()
    port = int(os.environ.get("PORT", "8000"))
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    log(f"serving on 127.0.0.1:{port} (threshold {THRESHOLD})")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        log("stopping")
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
