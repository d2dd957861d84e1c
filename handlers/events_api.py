"""GET /api/events: the query API over the event table (thin adapter).

Anonymous at the Functions level on purpose: App Service Authentication signs the caller
in and sets ``X-MS-CLIENT-PRINCIPAL``; :func:`driftkeeper.access.caller` refuses (503, 401,
403) before anything else. Everything else is :func:`driftkeeper.query.respond`.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import azure.functions as func

bp = func.Blueprint()
log = logging.getLogger(__name__)


def _params(req: func.HttpRequest) -> str | list[tuple[str, str]]:
    """The raw query string (repeats kept, so they can be refused), else the parsed params."""
    return urlsplit(req.url).query or list(req.params.items())


@bp.function_name("events")
@bp.route(route="events", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def events(req: func.HttpRequest) -> func.HttpResponse:
    from driftkeeper import runtime
    from driftkeeper.query import ApiRequest, respond

    request = ApiRequest(
        method=req.method.upper(),
        params=_params(req),
        headers={k.lower(): v for k, v in req.headers.items()},
    )
    try:
        answer = respond(runtime.current(), request)
    except Exception:
        log.exception("events query failed")  # the boundary: the host answers 500
        raise
    return func.HttpResponse(
        answer.body,
        status_code=answer.status_code,
        headers=dict(answer.headers),
        mimetype=answer.mimetype,
        charset="utf-8",
    )
