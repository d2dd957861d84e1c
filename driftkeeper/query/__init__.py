"""The query API over the event table (``GET /api/events``).

- :mod:`._params`  parse and validate the query string (400 naming the parameter);
- :mod:`._filter`  the OData filter, values only as SDK parameters (at most 13 comparisons);
- :mod:`._events`  one page of events, following the service's continuation tokens;
- :mod:`._cursor`  the signed, opaque ``next`` token;
- :mod:`._rows`    an event row in camelCase, large values joined;
- :mod:`._csv`     CSV (RFC 4180) with spreadsheet formulas neutralised;
- :mod:`._api`     the route without the Functions types (access check first).

Importing it does not import the Azure SDK.
"""

from __future__ import annotations

from ._api import NEXT_HEADER, Answer, ApiRequest, respond
from ._csv import neutralise, render_csv
from ._cursor import Cursor, derive_key, read_token, write_token
from ._events import MAX_REQUESTS, EventPage, read_page
from ._filter import MAX_COMPARISONS, comparisons, event_filter
from ._params import (
    DEFAULT_PAGE_SIZE,
    MAX_DAYS,
    MAX_PAGE_SIZE,
    EventQuery,
    ParameterError,
    Request,
    parse_request,
)
from ._rows import FIELDS, event_row

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "FIELDS",
    "MAX_COMPARISONS",
    "MAX_DAYS",
    "MAX_PAGE_SIZE",
    "MAX_REQUESTS",
    "NEXT_HEADER",
    "Answer",
    "ApiRequest",
    "Cursor",
    "EventPage",
    "EventQuery",
    "ParameterError",
    "Request",
    "comparisons",
    "derive_key",
    "event_filter",
    "event_row",
    "neutralise",
    "parse_request",
    "read_page",
    "read_token",
    "render_csv",
    "respond",
    "write_token",
]
