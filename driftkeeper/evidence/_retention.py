"""Retention: delete day partitions older than ``DRIFTKEEPER_RETENTION_DAYS``, sealed ones only.

For each sealed day older than the cutoff, oldest first: its rows are checked against its
seal (digest and row count; the seal intact and linked into the chain), then the chain's
anchor moves to that day's seal (so verification treats it, and every day before it, as
pruned rather than removed, and the next seal chains to the anchor), then its rows are
deleted, then whatever else was derived from it (``forget``: the day's compliance
summaries), then its seal. A day without a seal is never deleted, and neither is a day that
does not match its seal: pruning stops there (with a warning) so verification keeps
reporting it as tampered. The work per run is bounded by ``max_rows``; an interrupted day
is finished by the next run (the anchor already covers it; its remaining rows must still be
rows of its seal's row list).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from ._canon import ROW_HASH_CHARS, day_digest, list_digest
from ._sealing import _pairs, anchor_problem, day_key, read_days
from ._seals import Anchor, Seal, Seals

if TYPE_CHECKING:
    from azure.data.tables import TableClient

__all__ = ["Pruned", "prune"]

log = logging.getLogger(__name__)

_BATCH = 100  # deletes per transaction (service limit)


@dataclass(frozen=True)
class Pruned:
    days: tuple[str, ...]
    """Days deleted completely (rows and seal)."""
    rows: int
    """Rows deleted."""
    complete: bool
    """False when the row budget ran out (the next run goes on)."""
    kept: str = ""
    """Why pruning stopped before a day due for deletion (``""``: it did not)."""


def _mismatch(
    seal: Seal, rows: list[Any], seals: Seals, *, previous: str, following: Seal | None,
    resuming: bool,
) -> str:  # fmt: skip
    """Why the day's rows or its seal are not as sealed (``""``: they are)."""
    if not seal.intact:
        return "its seal's chained digest does not follow from its fields"
    if not resuming and seal.previous != previous:
        return "its seal does not chain to the previous seal or the anchor"
    if following is not None and following.previous != seal.chain:
        return "the next seal does not chain to its seal"
    full = _pairs(rows)
    if day_digest(full) == seal.digest and len(full) == seal.rows:
        return ""
    if not resuming:
        return "its rows do not match its seal's digest and row count"
    try:  # a prune cut short: what is left must be rows of the seal, unchanged
        stored = seals.row_list(seal)
    except ValueError as exc:
        return str(exc)
    if list_digest(stored) != seal.rows_digest:
        return "its seal's row list was altered"
    sealed = dict(stored)
    if any(sealed.get(key) != full_hash[:ROW_HASH_CHARS] for key, full_hash in full):
        return "rows left from an interrupted prune were changed or added"
    return ""


def prune(
    events: TableClient,
    seals: Seals,
    *,
    today: date,
    keep_days: int,
    max_rows: int = 2000,
    forget: Callable[[str], None] | None = None,
) -> Pruned:
    """Delete the sealed days older than ``today - keep_days`` (at most ``max_rows`` rows).
    ``forget(day)`` runs after a day's rows are gone and before its seal is deleted, so a
    run that fails in it is finished by the next run (the seal still names the day)."""
    if keep_days < 1:
        raise ValueError("keep_days must be at least 1")
    cutoff = day_key(today - timedelta(days=keep_days))
    anchor = seals.anchor()
    all_seals = seals.all()
    problem = anchor_problem(all_seals, anchor, day_key(today))
    if problem:
        log.warning("retention: nothing pruned: %s", problem)
        return Pruned((), 0, True, problem)
    done: list[str] = []
    deleted = 0
    previous = anchor.chain if anchor is not None else ""
    for index, seal in enumerate(all_seals):
        if seal.day >= cutoff:
            break
        resuming = anchor is not None and anchor.day == seal.day
        rows = read_days(events, seal.day, seal.day).get(seal.day, [])
        following = all_seals[index + 1] if index + 1 < len(all_seals) else None
        why = _mismatch(
            seal, rows, seals, previous=previous, following=following, resuming=resuming
        )
        if why:
            kept = f"{seal.day} kept, not as sealed: {why}"
            log.warning("retention: %s (verify reports it; pruning stops there)", kept)
            return Pruned(tuple(done), deleted, True, kept)
        if not resuming:
            anchor = Anchor(seal.day, seal.chain)
            seals.set_anchor(anchor)
        keys = [str(e["RowKey"]) for e in rows]
        while keys:
            room = min(_BATCH, max_rows - deleted)
            if room <= 0:
                return Pruned(tuple(done), deleted, False)
            batch, keys = keys[:room], keys[room:]
            events.submit_transaction(
                [("delete", {"PartitionKey": seal.day, "RowKey": key}) for key in batch]
            )
            deleted += len(batch)
        if forget is not None:
            forget(seal.day)
        seals.delete(seal)
        done.append(seal.day)
        previous = seal.chain
    return Pruned(tuple(done), deleted, True)
