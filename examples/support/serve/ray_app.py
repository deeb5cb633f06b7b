"""trueup deployment (ray backend): the support bot as a Ray Serve application.

The Deployment says `importPath: ray_app:app` (code: examples/support/serve). Its replicas get
TRUEUP_PROMPT_TEMPLATE (the prompt version's template) and the Deployment's `config` both as
TRUEUP_CONFIG and as Serve's user_config, e.g. {"minScore": 0.5}: a config change reconfigures the
replicas in place.

    GET  <route>/healthz  -> 200 "ok"
    POST <route>/answer   {"question": "How do I reset my password?"} -> as serve.py answers

The retrieval and rendering are serve.py's (the local server beside this file), so both answer alike.
"""
import importlib
import json

from ray import serve
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse

# serve.py, the local server; imported by name because `serve` here is Ray Serve.
local = importlib.import_module("serve")


@serve.deployment
class SupportAPI:
    def __init__(self):
        self.app = local.App()

    def reconfigure(self, config):
        min_score = float((config or {}).get("minScore", 0.5))
        if min_score < 0:
            raise ValueError(f"minScore must not be negative, not {min_score!r}")
        self.app.min_score = min_score

    async def __call__(self, request: Request):
        # Serve passes the full path; the route prefix (/<environment>/<name>) is root_path.
        path = request.url.path[len(request.scope.get("root_path", "")):] or "/"
        if request.method == "GET" and path == "/healthz":
            return PlainTextResponse("ok")
        if request.method == "POST" and path == "/answer":
            body = await request.body()
            if not 0 < len(body) <= local.MAX_BODY:
                return JSONResponse({"error": f"a JSON body of 1 to {local.MAX_BODY} bytes is required"}, status_code=400)
            try:
                question = json.loads(body).get("question")
            except (ValueError, AttributeError) as e:
                return JSONResponse({"error": f"invalid JSON object: {e}"}, status_code=400)
            if not isinstance(question, str) or not question.strip():
                return JSONResponse({"error": "expected {\"question\": \"...\"}"}, status_code=400)
            return JSONResponse(self.app.answer(question))
        return JSONResponse({"error": "not found"}, status_code=404)


app = SupportAPI.bind()
