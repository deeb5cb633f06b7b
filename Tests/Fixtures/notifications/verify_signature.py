#!/usr/bin/env python3
"""Verifies X-Trueup-Signature-256 of recorded webhook requests the way a receiver would, with
Python's hmac module: reads JSON lines (as recording_receiver.py writes them) and the secret from
the environment variable TRUEUP_TEST_SECRET; prints "ok <delivery>" per request or exits 1."""
import hashlib, hmac, json, os, sys

secret = os.environ["TRUEUP_TEST_SECRET"].encode()
for line in open(sys.argv[1]):
    request = json.loads(line)
    headers = {k.lower(): v for k, v in request["headers"].items()}
    if "x-trueup-signature-256" not in headers:
        continue
    expected = "sha256=" + hmac.new(secret, request["body"].encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, headers["x-trueup-signature-256"]):
        print("bad signature for delivery", headers.get("x-trueup-delivery"))
        sys.exit(1)
    print("ok", headers.get("x-trueup-delivery"))
