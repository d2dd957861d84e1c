"""Retention: delete day partitions older than ``DRIFTKEEPER_RETENTION_DAYS``, sealed ones only.

For each sealed day older than the cutoff, oldest first: the chain's anchor moves to that
day's seal (so verification treats it, and every day before it, as pruned rather than
removed, and the next seal chains to the anchor), then its rows are deleted, then its seal.
A day without a seal is never deleted. The work per run is bounded by ``max_rows``; an
interrupted day is finished by the next run (the anchor already covers it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from ._sealing import day_key
from ._seals import Anchor, Seals

if TYPE_CHECKING:
    from azure.data.tables import TableClient

__all__ = ["Pruned", "prune"]

_BATCH = 100  # deletes per transaction (service limit)


@dataclass(frozen=True)
class Pruned:
    days: tuple[str, ...]
    """Days deleted completely (rows and seal)."""
    rows: int
    """Rows deleted."""
    complete: bool
    """False when the row budget ran out (the next run goes on)."""


def prune(
    events: TableClient, seals: Seals, *, today: date, keep_days: int, max_rows: int = 2000
) -> Pruned:
    """Delete the sealed days older than ``today - keep_days`` (at most ``max_rows`` rows)."""
    if keep_days < 1:
        raise ValueError("keep_days must be at least 1")
    cutoff = day_key(today - timedelta(days=keep_days))
    anchor = seals.anchor()
    done: list[str] = []
    deleted = 0
    for seal in seals.all():
        if seal.day >= cutoff:
            break
        if anchor is None or anchor.day < seal.day:
            anchor = Anchor(seal.day, seal.chain)
            seals.set_anchor(anchor)
        keys = [
            str(e["RowKey"])
            for e in events.query_entities(
                "PartitionKey eq @day", parameters={"day": seal.day}, select=["RowKey"]
            )
        ]
        while keys:
            room = min(_BATCH, max_rows - deleted)
            if room <= 0:
                return Pruned(tuple(done), deleted, False)
            batch, keys = keys[:room], keys[room:]
            events.submit_transaction(
                [("delete", {"PartitionKey": seal.day, "RowKey": key}) for key in batch]
            )
            deleted += len(batch)
        seals.delete(seal)
        done.append(seal.day)
    return Pruned(tuple(done), deleted, True)
