#!/usr/bin/env python3
"""Posts the trueup diff report on a pull request as ONE comment, updated in place.

    GITHUB_TOKEN=... python3 upsert_comment.py --pr 42 --body-file trueup-diff.md

The comment is found by the hidden marker its body starts with (`<!-- trueup-diff -->`, the
first line of `trueup diff --format markdown`): every page of the pull request's comments is
read; the first comment whose body starts with the marker is edited (PATCH), and only when no
such comment exists is a new one created (POST). Comments of people and other bots are never
touched. An unchanged body is not re-sent.

Environment: GITHUB_TOKEN (required; read only from the environment, never printed),
GITHUB_REPOSITORY (owner/name; or --repo), GITHUB_API_URL (GitHub Enterprise; default
https://api.github.com), GITHUB_EVENT_PATH (the pull request number when --pr is not given).
Exit status: 0 done, 1 the GitHub API refused or failed, 2 wrong usage.
Python standard library only.
"""

import argparse
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

MARKER = "<!-- trueup-diff -->"
# GitHub refuses comment bodies over 65,536 characters.
MAX_BODY = 65536
USER_AGENT = "trueup-upsert-comment"


class Response:
    """What the HTTP layer returns: the status, the headers (lower-case names) and the body text."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}
        self.body = body

    def json(self):
        return json.loads(self.body) if self.body else None


class GitHubError(Exception):
    """An API call that failed: says which call, the status, and GitHub's own message."""


def urllib_transport(token, timeout=30):
    """The real HTTP layer: request(method, url, payload) -> Response. Holds the token; never shows it."""

    def request(method, url, payload=None):
        data = None if payload is None else json.dumps(payload).encode("utf-8")
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Accept", "application/vnd.github+json")
        req.add_header("X-GitHub-Api-Version", "2022-11-28")
        req.add_header("User-Agent", USER_AGENT)
        req.add_header("Authorization", "Bearer " + token)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return Response(resp.status, dict(resp.headers.items()), resp.read().decode("utf-8"))
        except urllib.error.HTTPError as err:
            return Response(err.code, dict(err.headers.items()) if err.headers else {}, err.read().decode("utf-8", "replace"))
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise GitHubError(f"{method} {url}: no answer from GitHub ({reason}): check GITHUB_API_URL and the network")

    return request


def next_link(link_header):
    """The rel="next" URL of a Link header, or None."""
    for part in (link_header or "").split(","):
        match = re.match(r'\s*<([^>]+)>\s*;(.*)', part)
        if match and re.search(r'\brel="?next"?', match.group(2)):
            return match.group(1)
    return None


def _check(response, method, url, expected):
    if response.status in expected:
        return
    message = ""
    try:
        body = response.json()
        if isinstance(body, dict):
            message = str(body.get("message", ""))
    except ValueError:
        message = response.body[:200]
    hint = {
        401: "the token is missing, expired or invalid",
        403: "the token may not write comments: give the workflow `permissions: pull-requests: write` "
        "(a pull request from a fork gets a read-only token)",
        404: "no such repository or pull request, or the token cannot see it",
        422: "GitHub rejected the comment (too long?)",
    }.get(response.status, "GitHub failed; try again later" if response.status >= 500 else "unexpected answer")
    path = urllib.parse.urlsplit(url).path
    raise GitHubError(f"{method} {path} answered {response.status}" + (f" ({message})" if message else "") + f": {hint}")


def find_marked_comment(request, api_url, repo, pr, marker=MARKER):
    """The first comment of the pull request whose body starts with the marker, following every page."""
    url = f"{api_url}/repos/{repo}/issues/{pr}/comments?per_page=100"
    api_host = urllib.parse.urlsplit(api_url).netloc
    pages = 0
    while url:
        pages += 1
        if pages > 1000:
            raise GitHubError("more than 1000 pages of comments: giving up")
        response = request("GET", url)
        _check(response, "GET", url, (200,))
        comments = response.json()
        if not isinstance(comments, list):
            raise GitHubError(f"GET {urllib.parse.urlsplit(url).path} did not return a list of comments")
        for comment in comments:
            if (comment.get("body") or "").lstrip().startswith(marker):
                return comment
        url = next_link(response.headers.get("link"))
        # The token goes with every request: never follow a link to another host.
        if url and urllib.parse.urlsplit(url).netloc != api_host:
            raise GitHubError(f"the next page is on another host ({urllib.parse.urlsplit(url).netloc}): refusing to follow it")
    return None


def upsert(request, api_url, repo, pr, body, marker=MARKER):
    """Creates or updates the marked comment. Returns (action, comment id, html url); action is
    'created', 'updated' or 'unchanged'."""
    if not body.lstrip().startswith(marker):
        body = marker + "\n" + body
    if len(body) > MAX_BODY:
        raise GitHubError(f"the comment has {len(body)} characters, over GitHub's limit of {MAX_BODY}: shorten it")
    existing = find_marked_comment(request, api_url, repo, pr, marker)
    if existing is not None:
        if existing.get("body") == body:
            return "unchanged", existing["id"], existing.get("html_url")
        url = f"{api_url}/repos/{repo}/issues/comments/{existing['id']}"
        response = request("PATCH", url, {"body": body})
        _check(response, "PATCH", url, (200,))
        return "updated", existing["id"], (response.json() or {}).get("html_url")
    url = f"{api_url}/repos/{repo}/issues/{pr}/comments"
    response = request("POST", url, {"body": body})
    _check(response, "POST", url, (201,))
    created = response.json() or {}
    return "created", created.get("id"), created.get("html_url")


def pr_number_from_event(path):
    try:
        with open(path, encoding="utf-8") as f:
            event = json.load(f)
    except (OSError, ValueError):
        return None
    number = (event.get("pull_request") or {}).get("number") or event.get("number")
    return str(number) if number else None


def main(argv=None, environ=None, transport=urllib_transport, out=sys.stdout, err=sys.stderr):
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(description="Create or update the trueup diff comment of a pull request.")
    parser.add_argument("--repo", default=environ.get("GITHUB_REPOSITORY"), help="owner/name (default: $GITHUB_REPOSITORY)")
    parser.add_argument("--pr", help="pull request number (default: from $GITHUB_EVENT_PATH)")
    parser.add_argument("--body-file", required=True, help="the Markdown to post (trueup diff --format markdown)")
    parser.add_argument("--marker", default=MARKER, help=f"the hidden marker that identifies the comment (default: {MARKER})")
    parser.add_argument("--api-url", default=environ.get("GITHUB_API_URL") or "https://api.github.com")
    args = parser.parse_args(argv)

    token = environ.get("GITHUB_TOKEN", "")

    def fail(message, code):
        # Belt and braces: whatever a message holds, the token never reaches the log.
        print("upsert_comment: " + (message.replace(token, "***") if token else message), file=err)
        return code

    if not token:
        return fail("GITHUB_TOKEN is not set: pass it as `env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}`", 2)
    if not args.repo or not re.fullmatch(r"[\w.-]+/[\w.-]+", args.repo):
        return fail(f"--repo (or GITHUB_REPOSITORY) must be owner/name, got {args.repo!r}", 2)
    pr = args.pr or (pr_number_from_event(environ["GITHUB_EVENT_PATH"]) if environ.get("GITHUB_EVENT_PATH") else None)
    if not pr or not str(pr).isdigit():
        return fail(f"the pull request number must be given with --pr (got {pr!r}); this runs on pull_request events", 2)
    try:
        with open(args.body_file, encoding="utf-8") as f:
            body = f.read()
    except OSError as error:
        return fail(f"cannot read --body-file {args.body_file}: {error.strerror}", 2)
    if not body.strip():
        return fail(f"{args.body_file} is empty: did trueup diff fail? See the step before", 2)

    try:
        action, comment_id, html_url = upsert(transport(token), args.api_url.rstrip("/"), args.repo, pr, body, args.marker)
    except GitHubError as error:
        return fail(str(error), 1)
    print(f"{action} comment {comment_id} on {args.repo}#{pr}" + (f": {html_url}" if html_url else ""), file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
