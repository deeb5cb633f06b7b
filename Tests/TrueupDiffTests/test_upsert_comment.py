#!/usr/bin/env python3
"""Tests of examples/github/upsert_comment.py against recorded GitHub API responses.

    python3 Tests/TrueupDiffTests/test_upsert_comment.py

The HTTP layer is injected: a replay transport serves the responses in Fixtures/github/ and checks
each request; one test drives the real urllib transport against a local HTTP server that serves
the same responses. Ends with `upsert: N passed, M failed`; exit status 1 when anything failed.
"""

import copy
import importlib.util
import io
import json
import os
import sys
import tempfile
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(HERE, "Fixtures", "github")
SCRIPT = os.path.join(ROOT, "examples", "github", "upsert_comment.py")

spec = importlib.util.spec_from_file_location("upsert_comment", SCRIPT)
upsert_comment = importlib.util.module_from_spec(spec)
spec.loader.exec_module(upsert_comment)

API = "https://api.github.com"
REPO = "acme/ml-platform"
PR = "42"
TOKEN = "ghs_canaryT0ken8c1f2d9e4b7a6c5d3e2f1a0b9c8d7e6f"
MARKED_ID = 2487005555
PAGE2 = f"{API}/repositories/712345678/issues/42/comments?per_page=100&page=2"
LIST = f"{API}/repos/{REPO}/issues/{PR}/comments?per_page=100"
POST = f"{API}/repos/{REPO}/issues/{PR}/comments"
PATCH_MARKED = f"{API}/repos/{REPO}/issues/comments/{MARKED_ID}"


def fixture(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as f:
        recorded = json.load(f)
    return recorded


def response(name, **body_changes):
    recorded = copy.deepcopy(fixture(name))
    if body_changes:
        recorded["body"].update(body_changes)
    return upsert_comment.Response(recorded["status"], recorded["headers"], json.dumps(recorded["body"]))


class Replay:
    """An injected transport: expects exactly these (method, url) requests, in order, and answers
    each with its recorded response. Keeps what was sent."""

    def __init__(self, test, exchanges):
        self.test = test
        self.exchanges = list(exchanges)
        self.sent = []

    def __call__(self, token):
        self.test.assertEqual(token, TOKEN, "the transport gets the token from GITHUB_TOKEN")

        def request(method, url, payload=None):
            self.test.assertTrue(self.exchanges, f"unexpected request {method} {url}")
            (want_method, want_url), answer = self.exchanges.pop(0)
            self.test.assertEqual((method, url), (want_method, want_url))
            self.sent.append((method, url, payload))
            if isinstance(answer, Exception):
                raise answer
            return answer

        return request

    def done(self):
        self.test.assertEqual(self.exchanges, [], "every recorded exchange was used")


class UpsertTests(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.body_file = os.path.join(self.tmp.name, "trueup-diff.md")
        self.body = "<!-- trueup-diff -->\n## trueup: what this pull request would do\n\n| environment | status |\n|---|---|\n| `prod` | changes |\n"
        with open(self.body_file, "w", encoding="utf-8") as f:
            f.write(self.body)

    def tearDown(self):
        self.tmp.cleanup()

    def run_main(self, replay, *extra, environ=None):
        out, err = io.StringIO(), io.StringIO()
        env = {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": REPO} if environ is None else environ
        code = upsert_comment.main(["--pr", PR, "--body-file", self.body_file, *extra], environ=env, transport=replay, out=out, err=err)
        self.assertNotIn(TOKEN, out.getvalue() + err.getvalue(), "the token is never printed")
        return code, out.getvalue(), err.getvalue()

    # -- the three ways an upsert goes

    def test_no_existing_comment_posts_a_new_one(self):
        replay = Replay(self, [(("GET", LIST), response("list-no-marker.json")), (("POST", POST), response("created.json"))])
        code, out, err = self.run_main(replay)
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(replay.sent[-1][2], {"body": self.body})
        self.assertIn("created comment 2487009999 on acme/ml-platform#42", out)
        replay.done()

    def test_no_comment_at_all_posts_a_new_one(self):
        replay = Replay(self, [(("GET", LIST), response("list-empty.json")), (("POST", POST), response("created.json"))])
        self.assertEqual(self.run_main(replay)[0], 0)
        replay.done()

    def test_marked_comment_on_page_two_is_patched_in_place(self):
        replay = Replay(self, [
            (("GET", LIST), response("list-page1.json")),
            (("GET", PAGE2), response("list-page2.json")),
            (("PATCH", PATCH_MARKED), response("updated.json")),
        ])
        code, out, err = self.run_main(replay)
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(replay.sent[-1], ("PATCH", PATCH_MARKED, {"body": self.body}))
        self.assertNotIn("POST", [method for method, _, _ in replay.sent])
        self.assertIn(f"updated comment {MARKED_ID}", out)
        replay.done()

    def test_other_bots_and_quotes_of_the_marker_are_ignored(self):
        # codecov[bot], another github-actions[bot] report, and a person quoting the marker mid-body.
        replay = Replay(self, [(("GET", LIST), response("list-others-only.json")), (("POST", POST), response("created.json"))])
        code, _, _ = self.run_main(replay)
        self.assertEqual(code, 0)
        self.assertEqual([m for m, _, _ in replay.sent], ["GET", "POST"], "nobody else's comment is edited")
        replay.done()

    def test_an_identical_body_is_not_sent_again(self):
        page2 = fixture("list-page2.json")
        page2["body"][-1]["body"] = self.body
        unchanged = upsert_comment.Response(200, page2["headers"], json.dumps(page2["body"]))
        replay = Replay(self, [(("GET", LIST), response("list-page1.json")), (("GET", PAGE2), unchanged)])
        code, out, _ = self.run_main(replay)
        self.assertEqual(code, 0)
        self.assertIn(f"unchanged comment {MARKED_ID}", out)
        replay.done()

    def test_a_body_without_the_marker_gets_it_so_the_next_run_finds_it(self):
        with open(self.body_file, "w", encoding="utf-8") as f:
            f.write("trueup diff failed: see the workflow log\n")
        replay = Replay(self, [(("GET", LIST), response("list-empty.json")), (("POST", POST), response("created.json"))])
        self.assertEqual(self.run_main(replay)[0], 0)
        self.assertTrue(replay.sent[-1][2]["body"].startswith("<!-- trueup-diff -->\n"))

    # -- failures: non-zero, clear, no token

    def test_forbidden_post_fails_with_a_clear_message(self):
        replay = Replay(self, [(("GET", LIST), response("list-no-marker.json")), (("POST", POST), response("error-403.json"))])
        code, out, err = self.run_main(replay)
        self.assertEqual(code, 1)
        self.assertEqual(out, "")
        self.assertIn("POST /repos/acme/ml-platform/issues/42/comments answered 403 (Resource not accessible by integration)", err)
        self.assertIn("pull-requests: write", err)

    def test_bad_credentials_fail_before_anything_is_written(self):
        replay = Replay(self, [(("GET", LIST), response("error-401.json"))])
        code, _, err = self.run_main(replay)
        self.assertEqual(code, 1)
        self.assertIn("answered 401 (Bad credentials)", err)
        self.assertEqual([m for m, _, _ in replay.sent], ["GET"])

    def test_unknown_pull_request_says_so(self):
        replay = Replay(self, [(("GET", LIST), response("error-404.json"))])
        code, _, err = self.run_main(replay)
        self.assertEqual(code, 1)
        self.assertIn("404 (Not Found): no such repository or pull request", err)

    def test_a_message_that_echoes_the_token_is_scrubbed(self):
        leaky = upsert_comment.Response(500, {}, json.dumps({"message": f"internal error for token {TOKEN}"}))
        code, _, err = self.run_main(Replay(self, [(("GET", LIST), leaky)]))
        self.assertEqual(code, 1)
        self.assertIn("internal error for token ***", err)

    def test_a_next_page_on_another_host_is_not_followed(self):
        page1 = fixture("list-page1.json")
        page1["headers"]["Link"] = '<https://evil.example/collect?page=2>; rel="next"'
        replay = Replay(self, [(("GET", LIST), upsert_comment.Response(200, page1["headers"], json.dumps(page1["body"])))])
        code, _, err = self.run_main(replay)
        self.assertEqual(code, 1)
        self.assertIn("another host (evil.example)", err)
        replay.done()

    def test_network_failure_through_the_real_transport(self):
        # Nothing listens on port 1: urllib fails to connect; the message names the call, not the token.
        code, _, err = self.run_main(upsert_comment.urllib_transport, "--api-url", "http://127.0.0.1:1")
        self.assertEqual(code, 1)
        self.assertIn("GET http://127.0.0.1:1/repos/acme/ml-platform/issues/42/comments?per_page=100: no answer from GitHub", err)

    def test_usage_errors_exit_2(self):
        for environ, extra, words in [
            ({"GITHUB_REPOSITORY": REPO}, [], "GITHUB_TOKEN is not set"),
            ({"GITHUB_TOKEN": TOKEN}, [], "must be owner/name"),
            ({"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": REPO}, ["--body-file", "/nonexistent/x.md"], "cannot read --body-file"),
        ]:
            out, err = io.StringIO(), io.StringIO()
            argv = ["--pr", PR, "--body-file", self.body_file, *extra]
            code = upsert_comment.main(argv, environ=environ, transport=lambda _t: self.fail("no request on a usage error"), out=out, err=err)
            self.assertEqual(code, 2, words)
            self.assertIn(words, err.getvalue())
            self.assertNotIn(TOKEN, err.getvalue())

    def test_pr_number_from_the_event_file(self):
        event = os.path.join(self.tmp.name, "event.json")
        with open(event, "w") as f:
            json.dump({"action": "synchronize", "number": 42, "pull_request": {"number": 42}}, f)
        replay = Replay(self, [(("GET", LIST), response("list-empty.json")), (("POST", POST), response("created.json"))])
        out, err = io.StringIO(), io.StringIO()
        code = upsert_comment.main(["--body-file", self.body_file],
                                   environ={"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": REPO, "GITHUB_EVENT_PATH": event},
                                   transport=replay, out=out, err=err)
        self.assertEqual(code, 0, err.getvalue())

    def test_link_header_parsing(self):
        link = fixture("list-page1.json")["headers"]["Link"]
        self.assertEqual(upsert_comment.next_link(link), PAGE2)
        self.assertIsNone(upsert_comment.next_link(fixture("list-page2.json")["headers"]["Link"]))
        self.assertIsNone(upsert_comment.next_link(None))


class FakeGitHub(BaseHTTPRequestHandler):
    """Serves the recorded responses over real HTTP, as GitHub would, and records the requests."""

    pages = {}
    seen = []

    def log_message(self, *args):
        pass

    def _answer(self, name, link=None):
        recorded = fixture(name)
        payload = json.dumps(recorded["body"]).encode()
        self.send_response(recorded["status"])
        self.send_header("Content-Type", "application/json; charset=utf-8")
        if link:
            self.send_header("Link", link)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _record(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        FakeGitHub.seen.append((self.command, self.path, dict(self.headers), body))

    def do_GET(self):
        self._record()
        base = f"http://127.0.0.1:{self.server.server_port}"
        if self.path == f"/repos/{REPO}/issues/{PR}/comments?per_page=100":
            self._answer("list-page1.json", f'<{base}/repositories/712345678/issues/42/comments?per_page=100&page=2>; rel="next"')
        elif self.path == "/repositories/712345678/issues/42/comments?per_page=100&page=2":
            self._answer("list-page2.json")
        else:
            self._answer("error-404.json")

    def do_PATCH(self):
        self._record()
        self._answer("updated.json" if self.path == f"/repos/{REPO}/issues/comments/{MARKED_ID}" else "error-404.json")

    def do_POST(self):
        self._record()
        self._answer("error-403.json")


class RealTransportTests(unittest.TestCase):
    def test_pages_and_patch_over_http(self):
        FakeGitHub.seen = []
        server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGitHub)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            with tempfile.NamedTemporaryFile("w", suffix=".md", delete=False) as f:
                f.write("<!-- trueup-diff -->\nhello\n")
            out, err = io.StringIO(), io.StringIO()
            code = upsert_comment.main(
                ["--pr", PR, "--body-file", f.name, "--api-url", f"http://127.0.0.1:{server.server_port}"],
                environ={"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": REPO}, out=out, err=err)
            os.unlink(f.name)
        finally:
            server.shutdown()
            server.server_close()
        self.assertEqual(code, 0, err.getvalue())
        self.assertEqual([(m, p) for m, p, _, _ in FakeGitHub.seen], [
            ("GET", f"/repos/{REPO}/issues/{PR}/comments?per_page=100"),
            ("GET", "/repositories/712345678/issues/42/comments?per_page=100&page=2"),
            ("PATCH", f"/repos/{REPO}/issues/comments/{MARKED_ID}"),
        ])
        for _, _, headers, _ in FakeGitHub.seen:
            self.assertEqual(headers.get("Authorization"), f"Bearer {TOKEN}")
            self.assertEqual(headers.get("Accept"), "application/vnd.github+json")
        self.assertEqual(FakeGitHub.seen[-1][3], {"body": "<!-- trueup-diff -->\nhello\n"})
        self.assertNotIn(TOKEN, out.getvalue() + err.getvalue())


if __name__ == "__main__":
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(verbosity=1, stream=sys.stderr).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = result.testsRun - failed - len(result.skipped)
    print(f"upsert: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
