"""What the reconcile timer does for the evidence: seal the closed days, then apply the
retention, both bounded per run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from ._retention import Pruned, prune
from ._sealing import seal_closed_days
from ._seals import Seal, Seals

if TYPE_CHECKING:
    from azure.data.tables import TableClient

__all__ = ["MAX_PRUNED_ROWS", "MAX_SEALED_DAYS", "Upkeep", "keep_evidence"]

MAX_SEALED_DAYS = 62
"""Days sealed per timer run (a backlog is worked off over the following runs)."""
MAX_PRUNED_ROWS = 2_000
"""Rows deleted per timer run."""


@dataclass(frozen=True)
class Upkeep:
    sealed: tuple[Seal, ...]
    pruned: Pruned | None
    """None: no retention configured (keep forever)."""


def keep_evidence(
    events: TableClient,
    seals: Seals,
    *,
    today: date,
    retention_days: int | None,
    forget: Callable[[str], None] | None = None,
) -> Upkeep:
    """Seal up to :data:`MAX_SEALED_DAYS` closed days, then prune sealed days older than
    ``retention_days`` (up to :data:`MAX_PRUNED_ROWS` rows). Sealing runs first, so a day
    is never pruned before it could be sealed; an unsealed day is never pruned. ``forget(day)``
    deletes what was derived from a pruned day (its summaries)."""
    sealed = seal_closed_days(events, seals, today=today, max_days=MAX_SEALED_DAYS)
    pruned = None
    if retention_days is not None:
        pruned = prune(
            events,
            seals,
            today=today,
            keep_days=retention_days,
            max_rows=MAX_PRUNED_ROWS,
            forget=forget,
        )
    return Upkeep(tuple(sealed), pruned)
