"""GET /api/dashboard: the compliance dashboard, one HTML page (thin adapter).

Anonymous at the Functions level on purpose: App Service Authentication signs the caller
in; :func:`driftkeeper.access.caller` decides (readers and approvers). Everything else is
:func:`driftkeeper.compliance._web.dashboard_answer`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import azure.functions as func

bp = func.Blueprint()
log = logging.getLogger(__name__)


@bp.function_name("dashboard")
@bp.route(route="dashboard", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def dashboard(req: func.HttpRequest) -> func.HttpResponse:
    from driftkeeper import runtime
    from driftkeeper.compliance._web import dashboard_answer

    headers = {k.lower(): v for k, v in req.headers.items()}
    try:
        page = dashboard_answer(runtime.current(), headers, dict(req.params), datetime.now(UTC))
    except Exception:
        log.exception("dashboard failed")
        raise
    return func.HttpResponse(
        page.body,
        status_code=page.status_code,
        headers=dict(page.headers),
        mimetype="text/html",
        charset="utf-8",
    )
