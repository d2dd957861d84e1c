"""The parameters of ``GET /api/events``: parsed and validated before any table request.

Every value is checked here, once; a bad one raises :class:`ParameterError` naming the
parameter and what was expected (the API answers 400 with both). Filter values reach the
table only as OData parameters (see :mod:`driftkeeper.query._filter`), so a value that
passes is matched exactly, whatever characters it holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import quote

from .._errors import InputError, TimeFormatError
from .._model import SEVERITIES
from .._time import parse_time
from ..store import OUTCOMES

__all__ = [
    "DEFAULT_DAYS",
    "DEFAULT_PAGE_SIZE",
    "FILTERS",
    "MAX_DAYS",
    "MAX_PAGE_SIZE",
    "MAX_VALUE_LENGTH",
    "PARAMETERS",
    "EventQuery",
    "Format",
    "ParameterError",
    "Request",
    "parse_request",
    "same_filters",
]

Format = Literal["json", "csv"]

DEFAULT_DAYS = 7
MAX_DAYS = 400
DEFAULT_PAGE_SIZE = 200
MAX_PAGE_SIZE = 1000
MAX_VALUE_LENGTH = 2048
"""Characters of a text filter (a resource id, a UPN, a baseline name)."""
MAX_ENCODED_LENGTH = 2048
"""Bytes of a text filter as it travels in the table query's URL (quotes doubled,
percent-encoded): ``actor`` appears three times in the filter, so a page's URL stays far
below what the service accepts."""
MAX_NEXT_LENGTH = 16_384

FILTERS = ("kind", "outcome", "severity", "resource", "actor", "baseline")
PARAMETERS = frozenset({"from", "to", *FILTERS, "pageSize", "format", "next"})

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_DIGITS = re.compile(r"[0-9]{1,4}")


class ParameterError(InputError):
    """A query parameter is unusable: ``parameter`` names it, ``expected`` says what it
    should have been (the message is ``"<parameter>: <expected>"``)."""

    def __init__(self, parameter: str, expected: str) -> None:
        self.parameter = parameter
        self.expected = expected
        super().__init__(f"{parameter}: {expected}")


@dataclass(frozen=True)
class EventQuery:
    """Which events: ``since <= time < until`` and every filter given (None: any)."""

    since: datetime
    until: datetime
    kind: str | None = None
    outcome: str | None = None
    severity: str | None = None
    resource: str | None = None
    actor: str | None = None
    """Matches ``ActorUpn``, ``ActorObjectId`` or ``ActorAppId`` exactly."""
    baseline: str | None = None
    """Matches the ``Rule`` column exactly."""

    def __post_init__(self) -> None:
        if self.since.tzinfo is None or self.until.tzinfo is None:
            raise ValueError("since and until must be timezone-aware")

    def to_json(self) -> dict[str, str]:
        """The query as strings (for the continuation token): times in fixed-width UTC."""
        out = {"from": _iso(self.since), "to": _iso(self.until)}
        for name in FILTERS:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    @classmethod
    def from_json(cls, data: object) -> EventQuery:
        """The inverse of :meth:`to_json`, every value validated again; ParameterError
        names ``next`` for anything that is not what :meth:`to_json` writes."""
        if not isinstance(data, dict) or not set(data) <= {"from", "to", *FILTERS}:
            raise ParameterError("next", "a token returned by this API")
        if not all(isinstance(v, str) for v in data.values()) or not {"from", "to"} <= set(data):
            raise ParameterError("next", "a token returned by this API")
        try:
            return _query(data, now=datetime.now(UTC))
        except ParameterError:
            raise ParameterError("next", "a token returned by this API") from None


@dataclass(frozen=True)
class Request:
    """One request of ``GET /api/events``, validated."""

    query: EventQuery
    page_size: int = DEFAULT_PAGE_SIZE
    format: Format = "json"
    next: str | None = None
    """The continuation token as sent (verified by :mod:`driftkeeper.query._cursor`)."""
    given: frozenset[str] = frozenset()
    """The names of the range and filter parameters the caller gave."""


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _time(name: str, text: str) -> datetime:
    try:
        return parse_time(text, table_range=True, what=name)
    except TimeFormatError:
        raise ParameterError(
            name, f"an ISO 8601 time such as 2026-07-01T00:00:00Z, got {text[:64]!r}"
        ) from None


def _text(name: str, value: str) -> str:
    if _CONTROL.search(value):
        raise ParameterError(name, "text without control characters")
    if len(value) > MAX_VALUE_LENGTH:
        raise ParameterError(name, f"at most {MAX_VALUE_LENGTH} characters")
    if len(quote(value.replace("'", "''"), safe="")) > MAX_ENCODED_LENGTH:
        raise ParameterError(
            name, f"at most {MAX_ENCODED_LENGTH} bytes once quoted and URL-encoded"
        )
    return value


def _filter(name: str, value: str) -> str:
    if name == "kind" and not _TOKEN.fullmatch(value):
        raise ParameterError(
            name, "a kind name (letters, digits, '.', '_', '-'; at most 64 characters)"
        )
    if name == "outcome" and value not in OUTCOMES:
        raise ParameterError(name, f"one of {', '.join(OUTCOMES)}")
    if name == "severity" and value not in SEVERITIES:
        raise ParameterError(name, f"one of {', '.join(SEVERITIES)}")
    return _text(name, value)


def _query(values: dict[str, str], *, now: datetime) -> EventQuery:
    given_since = _time("from", values["from"]) if "from" in values else None
    until = _time("to", values["to"]) if "to" in values else now
    since = given_since or until - timedelta(days=DEFAULT_DAYS)
    if since >= until:
        raise ParameterError("to", "a time later than from")
    if until - since > timedelta(days=MAX_DAYS):
        raise ParameterError("from", f"a range of at most {MAX_DAYS} days up to to")
    found = {name: _filter(name, values[name]) for name in FILTERS if name in values}
    return EventQuery(since=since, until=until, **found)


def _page_size(text: str) -> int:
    size = int(text) if _DIGITS.fullmatch(text) else 0
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ParameterError("pageSize", f"a whole number from 1 to {MAX_PAGE_SIZE}")
    return size


def _wants_csv(accept: str) -> bool:
    """Whether an ``Accept`` header prefers ``text/csv`` to JSON."""
    weights: dict[str, float] = {}
    for item in accept.split(","):
        media, *options = (part.strip() for part in item.split(";"))
        weight = 1.0
        for option in options:
            key, _, value = option.partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[media.lower()] = max(weight, weights.get(media.lower(), 0.0))
    csv = weights.get("text/csv", 0.0)
    return csv > 0 and csv > weights.get("application/json", 0.0)


def parse_request(
    pairs: Iterable[tuple[str, str]], *, accept: str = "", now: datetime | None = None
) -> Request:
    """Validate the query string (name, value pairs in order) of one request.

    Unknown, repeated or empty parameters raise :class:`ParameterError`, as does any value
    that is not what its parameter expects. ``accept`` is the ``Accept`` header: ``text/csv``
    chooses CSV unless ``format`` says otherwise.
    """
    now = now or datetime.now(UTC)
    values: dict[str, str] = {}
    for name, value in pairs:
        if name not in PARAMETERS:
            shown = _CONTROL.sub("?", name[:40])
            raise ParameterError(
                shown or "(empty name)", f"a known parameter: {', '.join(sorted(PARAMETERS))}"
            )
        if name in values:
            raise ParameterError(name, "given once")
        if not value:
            raise ParameterError(name, "a value")
        values[name] = value
    fmt = values.get("format", "csv" if _wants_csv(accept) else "json")
    if fmt not in ("json", "csv"):
        raise ParameterError("format", "json or csv")
    token = values.get("next")
    if token is not None and len(token) > MAX_NEXT_LENGTH:
        raise ParameterError("next", "a token returned by this API")
    given = frozenset(values) & {"from", "to", *FILTERS}
    return Request(
        query=_query(values, now=now),
        page_size=_page_size(values["pageSize"]) if "pageSize" in values else DEFAULT_PAGE_SIZE,
        format="csv" if fmt == "csv" else "json",
        next=token,
        given=given,
    )


def same_filters(request: Request, stored: EventQuery) -> bool:
    """Whether the parameters a caller gave with ``next`` agree with the token's query."""
    for f in fields(EventQuery):
        name = {"since": "from", "until": "to"}.get(f.name, f.name)
        if name in request.given and getattr(request.query, f.name) != getattr(stored, f.name):
            return False
    return True
