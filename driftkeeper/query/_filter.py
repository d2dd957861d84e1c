"""The OData filter of an :class:`~driftkeeper.query._params.EventQuery`.

The filter text is fixed: every value travels as an ``@name`` parameter that the SDK
substitutes and quotes (``query_entities(query_filter, parameters=...)``); nothing a caller
sends is ever spliced into it. The SDK finds parameters by splitting the text on spaces, so
every ``@name`` and parenthesis stands alone between spaces.

Table Storage allows at most 15 comparisons in one filter; the widest query here has
:data:`MAX_COMPARISONS` (13).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from ..store._keys import time_key
from ._params import EventQuery

__all__ = ["MAX_COMPARISONS", "SERVICE_LIMIT", "comparisons", "event_filter"]

SERVICE_LIMIT = 15
MAX_COMPARISONS = 13

_COLUMNS = {
    "kind": "Kind",
    "outcome": "Outcome",
    "severity": "Severity",
    "resource": "Resource",
    "baseline": "Rule",
}
_ACTOR_COLUMNS = ("ActorUpn", "ActorObjectId", "ActorAppId")
_COMPARISON = re.compile(r" (?:eq|ne|gt|ge|lt|le) ")


def _day(key: str) -> str:
    return key[:10].replace("-", "")


def event_filter(query: EventQuery, *, resume: str | None = None) -> tuple[str, dict[str, Any]]:
    """``(filter text, parameters)`` selecting the main rows of the events ``query`` asks for.

    The PartitionKey range bounds the partitions read; ``Parts ge 0`` leaves out the
    continuation rows of large values (they have no ``Parts``), so every row is one event.
    ``resume`` (a RowKey: time, then hash) starts the range at that row instead of at
    ``since``; RowKeys sort by time, so no comparison is added.
    """
    last = query.until - timedelta(microseconds=1)  # `to` is exclusive
    clauses = [
        "PartitionKey ge @fromDay",
        "PartitionKey le @toDay",
        "RowKey ge @from",
        "RowKey lt @to",
        "Parts ge 0",  # a constant: the SDK would send the parameter 0 as false
    ]
    params: dict[str, Any] = {
        "fromDay": _day(time_key(query.since)),
        "toDay": _day(time_key(last)),
        "from": time_key(query.since),
        "to": time_key(query.until),
    }
    if resume is not None and resume > params["from"]:
        params["from"], params["fromDay"] = resume, _day(resume)
    for name, column in _COLUMNS.items():
        value = getattr(query, name)
        if value is not None:
            clauses.append(f"{column} eq @{name}")
            params[name] = value
    if query.actor is not None:
        either = " or ".join(f"{column} eq @actor" for column in _ACTOR_COLUMNS)
        clauses.append(f"( {either} )")
        params["actor"] = query.actor
    return " and ".join(clauses), params


def comparisons(filter_text: str) -> int:
    """How many comparisons a filter makes (what the service's limit of 15 counts)."""
    return len(_COMPARISON.findall(f" {filter_text} "))
