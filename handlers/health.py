"""GET /api/health: the settings are usable and the baselines load (thin adapter).

Nothing is built: no Table client, no credential, no alert channel. A bad setting answers
503 naming the variable (never its value when it is a secret).
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import azure.functions as func

bp = func.Blueprint()
log = logging.getLogger(__name__)


@bp.function_name("health")
@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def health(req: func.HttpRequest) -> func.HttpResponse:
    from driftkeeper import DriftkeeperError, SettingsError, __version__
    from driftkeeper.baseline import load_baselines
    from driftkeeper.config import Settings
    from driftkeeper.runtime import rollback_warnings

    try:
        settings = Settings.from_env(os.environ)
        settings.require_table_storage()
        loaded = load_baselines(settings.baselines_dir)
    except DriftkeeperError as exc:
        log.error("driftkeeper is misconfigured: %s", exc)
        body: dict[str, Any] = {"status": "error", "version": __version__, "error": str(exc)}
        if isinstance(exc, SettingsError):
            body["variable"] = exc.variable
        return func.HttpResponse(json.dumps(body), status_code=503, mimetype="application/json")
    warnings = rollback_warnings(settings, loaded)
    body = {
        "status": "ok",
        "version": __version__,
        "baselines": len(loaded.baselines),
        "guardSettings": len(loaded.guards),
        "warnings": warnings,
    }
    return func.HttpResponse(json.dumps(body), status_code=200, mimetype="application/json")
