"""Run an :class:`~driftkeeper.query._params.EventQuery` one page at a time.

Table Storage answers at most 1,000 rows per request and may answer fewer, even none, with
a continuation token (at partition boundaries, after five seconds, on a server move). One
page of the API is built from as many service requests as it takes to gather ``page_size``
events, each asking for exactly the rows still missing, so the service's continuation after
the last request is exactly where the next page starts. Empty answers are followed, up to
:data:`MAX_REQUESTS` requests per page: then the page is returned shorter (possibly empty)
with its ``next``. Only main rows are selected (``Parts ge 0``), so each event comes once;
the continuation rows of a large event are read by key and joined into it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from ..store._ledger import PART_MARK
from ._filter import event_filter
from ._params import EventQuery
from ._rows import event_row

if TYPE_CHECKING:
    from azure.data.tables import TableClient

__all__ = ["MAX_PAGE_BYTES", "MAX_REQUESTS", "EventPage", "read_page"]

MAX_REQUESTS = 25
"""Service requests (query pages) one API page may make before it answers."""
MAX_PAGE_BYTES = 4_000_000
"""JSON bytes of the events of one page: a page stops before the event that would pass it
(a first event larger than this is sent alone), and ``next`` resumes at that event."""


@dataclass(frozen=True)
class EventPage:
    """One page of events, where the next one starts (None: the last) and what it cost."""

    events: list[dict[str, Any]]
    continuation: dict[str, str | None] | None
    requests: int
    """Query requests sent to the service (point reads of continuation rows not counted)."""
    part_reads: int = 0
    resume: str | None = None
    """The RowKey of the first event left out by the byte limit (then ``continuation`` is
    None): the next page starts there."""


def read_page(
    table: TableClient,
    query: EventQuery,
    *,
    page_size: int,
    continuation: Mapping[str, str | None] | None = None,
    resume: str | None = None,
    max_requests: int = MAX_REQUESTS,
    max_bytes: int = MAX_PAGE_BYTES,
) -> EventPage:
    """Up to ``page_size`` events of ``query`` from ``continuation`` (or from the RowKey
    ``resume``) on, in time order, within ``max_bytes`` of JSON."""
    if not 1 <= page_size <= 1000:
        raise ValueError("page_size must be between 1 and 1000")
    text, params = event_filter(query, resume=resume)
    mains: list[Mapping[str, Any]] = []
    token: Mapping[str, str | None] | None = continuation
    requests = 0
    while len(mains) < page_size and requests < max_requests:
        found = table.query_entities(
            text, parameters=params, results_per_page=page_size - len(mains)
        )
        # the SDK's token for entities is a dict ({"PartitionKey", "RowKey"}), typed as str
        pages: Any = found.by_page(continuation_token=cast(Any, dict(token) if token else None))
        answer: list[Mapping[str, Any]] = list(next(pages, []))
        requests += 1
        mains.extend(e for e in answer if PART_MARK not in e["RowKey"])
        token = pages.continuation_token
        if not token:
            break
    events: list[dict[str, Any]] = []
    part_reads = used = 0
    for main in mains:
        parts = []
        for number in range(1, int(main.get("Parts") or 0) + 1):
            key = f"{main['RowKey']}{PART_MARK}{number:03d}"
            parts.append(table.get_entity(main["PartitionKey"], key))
            part_reads += 1
        event = event_row(main, parts)
        used += len(json.dumps(event)) + 1  # ASCII-escaped: at least its UTF-8 size
        if events and used > max_bytes:
            return EventPage(events, None, requests, part_reads, resume=str(main["RowKey"]))
        events.append(event)
    return EventPage(events, dict(token) if token else None, requests, part_reads)
