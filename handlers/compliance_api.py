"""GET /api/compliance?from&to: the compliance report as JSON (thin adapter).

Anonymous at the Functions level on purpose: App Service Authentication signs the caller
in; :func:`driftkeeper.access.caller` decides (readers and approvers). Everything else is
:func:`driftkeeper.compliance._web.compliance_answer`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import azure.functions as func

bp = func.Blueprint()
log = logging.getLogger(__name__)


@bp.function_name("compliance")
@bp.route(route="compliance", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def compliance(req: func.HttpRequest) -> func.HttpResponse:
    from driftkeeper import runtime
    from driftkeeper.compliance._web import compliance_answer

    headers = {k.lower(): v for k, v in req.headers.items()}
    try:
        answer = compliance_answer(runtime.current(), headers, dict(req.params), datetime.now(UTC))
    except Exception:
        log.exception("compliance report failed")
        raise
    return func.HttpResponse(
        answer.body,
        status_code=answer.status_code,
        headers=dict(answer.headers),
        mimetype="application/json",
        charset="utf-8",
    )
