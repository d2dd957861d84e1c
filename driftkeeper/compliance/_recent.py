"""The latest drift rows: one bounded query of the last days' partitions (the last day
first; the last week only when the day holds fewer than asked for)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..store._keys import time_key

if TYPE_CHECKING:
    from azure.data.tables import TableClient

__all__ = ["RecentDrift", "recent_drift"]

_COLUMNS = [
    "RowKey",
    "Time",
    "Outcome",
    "Resource",
    "Kind",
    "Rule",
    "Severity",
    "ActorUpn",
    "ActorAppId",
    "ActorObjectId",
    "Operation",
]
WINDOWS = (timedelta(days=1), timedelta(days=7))


@dataclass(frozen=True)
class RecentDrift:
    time: str
    resource: str
    kind: str
    rule: str
    severity: str
    actor: str
    operation: str


def recent_drift(events: TableClient, now: datetime, limit: int = 20) -> list[RecentDrift]:
    """The ``limit`` latest drift rows within the last week, newest first."""
    found: list[tuple[str, RecentDrift]] = []
    for window in WINDOWS:
        since = now - window
        rows = events.query_entities(
            "PartitionKey ge @first and PartitionKey le @last and RowKey ge @since"
            " and Outcome eq @drift",
            parameters={
                "first": since.strftime("%Y%m%d"),
                "last": now.strftime("%Y%m%d"),
                "since": time_key(since),
                "drift": "drift",
            },
            select=_COLUMNS,
        )
        found = [
            (
                str(e["RowKey"]),
                RecentDrift(
                    time=str(e.get("Time") or ""),
                    resource=str(e.get("Resource") or ""),
                    kind=str(e.get("Kind") or ""),
                    rule=str(e.get("Rule") or ""),
                    severity=str(e.get("Severity") or ""),
                    actor=str(
                        e.get("ActorUpn") or e.get("ActorAppId") or e.get("ActorObjectId") or ""
                    ),
                    operation=str(e.get("Operation") or ""),
                ),
            )
            for e in rows
        ]
        if len(found) >= limit:
            break
    found.sort(key=lambda pair: pair[0], reverse=True)
    return [row for _, row in found[:limit]]
