"""GET|POST /api/approvals/{token}: the approval pages (thin adapter).

Anonymous at the Functions level on purpose: App Service Authentication signs the caller
in and sets ``X-MS-CLIENT-PRINCIPAL``; the pages refuse to serve (503) unless it is on.
Everything else is :func:`driftkeeper.rollback._web.respond`.
"""

from __future__ import annotations

import logging

import azure.functions as func

bp = func.Blueprint()
log = logging.getLogger(__name__)


@bp.function_name("approvals")
@bp.route(route="approvals/{token}", methods=["GET", "POST"], auth_level=func.AuthLevel.ANONYMOUS)
def approvals(req: func.HttpRequest) -> func.HttpResponse:
    from driftkeeper import runtime
    from driftkeeper.rollback._web import WebRequest, respond

    request = WebRequest(
        method=req.method.upper(),
        url=req.url,
        token=req.route_params.get("token", ""),
        headers={k.lower(): v for k, v in req.headers.items()},
        body=req.get_body() or b"",
    )
    try:
        page = respond(runtime.current(), request)
    except Exception:
        # the boundary: log and re-raise (the host answers 500); the token is not logged
        log.exception("approval request (%s) failed", request.method)
        raise
    return func.HttpResponse(
        page.body,
        status_code=page.status_code,
        headers=dict(page.headers),
        mimetype="text/html",
        charset="utf-8",
    )
