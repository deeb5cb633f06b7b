"""trueup deployment (ray backend): the churn classifier as a Ray Serve application.

The Deployment says `importPath: ray_app:app` (code: examples/churn/serve). Its replicas get
TRUEUP_MODEL_URI (the model version's folder, in the shared artifact store every node mounts, or
with an MLflow registry a URI that MLflow's client downloads, MLFLOW_TRACKING_URI beside it) and the Deployment's `config` as Serve's user_config, e.g. {"threshold": 0.5}: a config change
reconfigures the replicas in place.

    GET  <route>/healthz  -> 200 "ok"
    GET  <route>/         -> the model's features and the threshold
    POST <route>/predict  -> {"churn_probability": 0.87, "churn": true, "threshold": 0.5}

The model code is serve.py's (the local server beside this file), so both score alike.
"""
import importlib
import json

from ray import serve
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse

# serve.py, the local server; imported by name because `serve` here is Ray Serve.
local = importlib.import_module("serve")


@serve.deployment
class ChurnAPI:
    def __init__(self):
        local.MODEL = local.load_model()
        self.threshold = local.load_threshold()

    def reconfigure(self, config):
        threshold = (config or {}).get("threshold", 0.5)
        threshold = float(threshold)
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be between 0 and 1, not {threshold!r}")
        self.threshold = threshold

    async def __call__(self, request: Request):
        # Serve passes the full path; the route prefix (/<environment>/<name>) is root_path.
        path = request.url.path[len(request.scope.get("root_path", "")):] or "/"
        if request.method == "GET" and path == "/healthz":
            return PlainTextResponse("ok")
        if request.method == "GET" and path == "/":
            return JSONResponse({"model": local.MODEL.get("format"), "features": local.MODEL["features"], "threshold": self.threshold})
        if request.method == "POST" and path == "/predict":
            try:
                p = local.predict(local.feature_vector(json.loads(await request.body())))
            except ValueError as e:
                return JSONResponse({"error": str(e)}, status_code=400)
            return JSONResponse({"churn_probability": round(p, 6), "churn": p >= self.threshold, "threshold": self.threshold})
        return JSONResponse({"error": "not found"}, status_code=404)


app = ChurnAPI.bind()
