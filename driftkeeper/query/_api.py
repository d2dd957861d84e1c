"""``GET /api/events`` without the Functions types: a request in, an :class:`Answer` out.

In order, before anything else is looked at:

1. the access check (:func:`driftkeeper.access.caller`, role ``read``): 503, 401 or 403;
2. only GET (405);
3. the query string (:func:`~driftkeeper.query._params.parse_request`): 400 naming the
   parameter, for an unknown, repeated, empty or bad one;
4. the ``next`` token, when given: 400 unless this API signed it for the same query.

Then one page is read (:func:`~driftkeeper.query._events.read_page`) and answered as JSON
(``{"events": [...], "next": "..." | null}``) or CSV (``format=csv`` or ``Accept:
text/csv``; the token in the ``X-Next-Token`` header).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from ..access import Refusal, caller
from ._csv import render_csv
from ._cursor import Cursor, derive_key, read_token, write_token
from ._events import read_page
from ._params import ParameterError, parse_request, same_filters

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["NEXT_HEADER", "Answer", "ApiRequest", "respond"]

log = logging.getLogger(__name__)

NEXT_HEADER = "X-Next-Token"
MAX_FIELDS = 32
_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
_JSON = "application/json"


@dataclass(frozen=True)
class ApiRequest:
    """What the API needs of an HTTP request; ``headers`` with lower-case names."""

    method: str
    params: Sequence[tuple[str, str]] | str
    """The query string's (name, value) pairs in order, or the raw query string."""
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Answer:
    """The HTTP answer: status, body, media type and extra headers."""

    status_code: int
    body: str
    mimetype: str = _JSON
    headers: Mapping[str, str] = field(default_factory=dict)


def _error(status: int, message: str, **extra: str) -> Answer:
    body = json.dumps({"error": message, **extra}, ensure_ascii=False)
    return Answer(status, body, headers=dict(_HEADERS))


def _pairs(params: Sequence[tuple[str, str]] | str) -> Sequence[tuple[str, str]]:
    if not isinstance(params, str):
        return params
    try:
        return parse_qsl(params, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:
        raise ParameterError("(query string)", f"at most {MAX_FIELDS} parameters") from None


def _signing_key(runtime: Runtime) -> bytes:
    """Shared by every instance: the configured approval key, else the approvals table's."""
    key = runtime.settings.approval_key
    secret = key.encode("utf-8") if key else runtime.approvals().form_key()
    return derive_key(secret)


def respond(runtime: Runtime, request: ApiRequest, *, now: datetime | None = None) -> Answer:
    """The answer to one request of the ``events`` route."""
    who = caller(request.headers, runtime.settings, "read")
    if isinstance(who, Refusal):
        return _error(who.status_code, who.reason)
    if request.method != "GET":
        return _error(405, "Only GET is answered here.")
    try:
        pairs = _pairs(request.params)
        parsed = parse_request(pairs, accept=request.headers.get("accept", ""), now=now)
        key = _signing_key(runtime) if parsed.next is not None else b""
        query, start, resume = parsed.query, None, None
        if parsed.next is not None:
            cursor = read_token(key, parsed.next, now=now)
            if not same_filters(parsed, cursor.query):
                raise ParameterError("next", "the same query as the page it came from")
            query, start, resume = cursor.query, cursor.continuation(), cursor.resume
    except ParameterError as exc:
        return _error(400, str(exc), parameter=exc.parameter, expected=exc.expected)
    page = read_page(
        runtime.table(runtime.settings.events_table),
        query,
        page_size=parsed.page_size,
        continuation=start,
        resume=resume,
    )
    token = None
    if page.resume is not None:
        key = key or _signing_key(runtime)
        token = write_token(key, Cursor(query, "", None, resume=page.resume), now=now)
    elif page.continuation is not None:
        key = key or _signing_key(runtime)
        pk, rk = page.continuation.get("PartitionKey"), page.continuation.get("RowKey")
        token = write_token(key, Cursor(query, str(pk or ""), rk), now=now)
    log.info(
        "events: %d rows in %d requests for %s",
        len(page.events),
        page.requests,
        who.object_id,
    )
    headers = dict(_HEADERS)
    if parsed.format == "csv":
        if token:
            headers[NEXT_HEADER] = token
        return Answer(200, render_csv(page.events), "text/csv", headers)
    body = json.dumps({"events": page.events, "next": token}, ensure_ascii=False)
    return Answer(200, body, _JSON, headers)
