"""GET /api/health: the app is up and its baselines load (thin adapter)."""

from __future__ import annotations

import json
import logging
import os

import azure.functions as func

bp = func.Blueprint()
log = logging.getLogger(__name__)


@bp.function_name("health")
@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def health(req: func.HttpRequest) -> func.HttpResponse:
    from driftkeeper import DriftkeeperError, __version__
    from driftkeeper.baseline import load_baselines
    from driftkeeper.runtime import build_alerts

    directory = os.environ.get("DRIFTKEEPER_BASELINES_DIR", "baselines")
    try:
        loaded = load_baselines(directory)
        build_alerts(os.environ)  # the alert settings are usable (nothing is sent)
    except DriftkeeperError as exc:
        log.error("driftkeeper is misconfigured: %s", exc)
        body: dict[str, object] = {"status": "error", "version": __version__, "error": str(exc)}
        return func.HttpResponse(json.dumps(body), status_code=503, mimetype="application/json")
    body = {
        "status": "ok",
        "version": __version__,
        "baselines": len(loaded.baselines),
        "guardSettings": len(loaded.guards),
    }
    return func.HttpResponse(json.dumps(body), status_code=200, mimetype="application/json")
