"""One day of the event table, aggregated: pure, values in, values out.

The rows of one day partition, in RowKey (time) order, become one :class:`Tally` per
(kind, rule, outcome, severity) and the day's totals (:class:`DayFigures`):

- **MTTD** (time to detect): for a ``drift`` row, its recorded time (the row's
  ``Timestamp``) less the change time (``Time``), never below zero (clock skew).
- **MTTR** (time to restore): a drift incident of (resource, rule) opens at its first
  ``drift`` row and is restored by the next ``compliant`` row (by hand) or ``rolled-back``
  row (rolled back) of the same (resource, rule); an ``accepted`` row closes it without a
  restore. Incidents still open at the end of the day are carried to the next day
  (``carry``), so one opened yesterday and restored today counts today.
- **Rollbacks**: ``rolled-back`` / ``rollback-failed`` rows decided ``approved by ...`` or
  ``automatic ...`` (their ``ActorUpn``), ``rollback-skipped`` rows that say
  ``rollback rejected by``, and ``accepted`` rows.

A row whose ``Time`` cannot be read (a row changed behind driftkeeper's back: driftkeeper
writes ISO 8601 only) is left out of the day and counted in ``skipped``, so one bad row never
stops a day's summary; a carried opening time that cannot be read closes its incident
without a restore time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from .._time import parse_time
from ..store import encode_key
from ..store._keys import short_hash

__all__ = [
    "CountKey",
    "DayFigures",
    "DayResult",
    "EventRow",
    "RuleFigures",
    "Tally",
    "aggregate",
    "by_rule",
    "open_key",
]

CountKey = tuple[str, str, str, str]
"""(kind, rule, outcome, severity)."""


@dataclass(frozen=True)
class EventRow:
    """What a summary needs of one event-table row."""

    row_key: str
    time: str
    outcome: str
    kind: str = ""
    rule: str = ""
    severity: str = ""
    resource: str = ""
    message: str = ""
    actor: str = ""
    recorded: datetime | None = None
    """The row's ``Timestamp`` (when the service stored it)."""


@dataclass
class Tally:
    """One (kind, rule, outcome, severity) of one day."""

    count: int = 0
    detect_seconds: float = 0.0
    detect_count: int = 0
    restore_seconds: float = 0.0
    restore_count: int = 0
    approved: int = 0
    automatic: int = 0
    rejected: int = 0

    def add(self, other: Tally) -> None:
        for name in (
            "count",
            "detect_seconds",
            "detect_count",
            "restore_seconds",
            "restore_count",
            "approved",
            "automatic",
            "rejected",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class DayFigures:
    """The day's totals (sums over its tallies)."""

    events: int = 0
    compliant: int = 0
    drift: int = 0
    errors: int = 0
    detect_seconds: float = 0.0
    detect_count: int = 0
    restored_by_rollback_seconds: float = 0.0
    restored_by_rollback: int = 0
    restored_by_hand_seconds: float = 0.0
    restored_by_hand: int = 0
    approved: int = 0
    rejected: int = 0
    automatic: int = 0
    failed: int = 0
    accepted: int = 0
    skipped: int = 0
    """Rows left out: their ``Time`` could not be read."""


@dataclass(frozen=True)
class DayResult:
    tallies: Mapping[CountKey, Tally]
    figures: DayFigures
    carry: Mapping[str, str] = field(default_factory=dict)
    """Drift incidents open at the end of the day: :func:`open_key` -> opened-at time."""


def open_key(resource: str, rule: str) -> str:
    """The carry key of a (resource, rule): ARM ids compare case-insensitively."""
    return short_hash(encode_key(resource.lower()), rule)


def _seconds(later: datetime, earlier: datetime) -> float:
    return max(0.0, (later - earlier).total_seconds())


_RESTORING = ("compliant", "rolled-back")


def _time(text: str) -> datetime | None:
    """``text`` as a time, or None when it cannot be read (a hand-edited row)."""
    try:
        return parse_time(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _decided(row: EventRow) -> str:
    who = row.actor.casefold()
    if who.startswith("approved by"):
        return "approved"
    if who.startswith("automatic"):
        return "automatic"
    return ""


def aggregate(rows: Iterable[EventRow], carry_in: Mapping[str, str] | None = None) -> DayResult:
    """Aggregate one day's rows (any order; they are sorted by RowKey) given the drift
    incidents open at the start of the day."""
    tallies: dict[CountKey, Tally] = {}
    figures = DayFigures()
    opened: dict[str, str] = dict(carry_in or {})
    for row in sorted(rows, key=lambda r: r.row_key):
        when = _time(row.time)
        if when is None:
            figures.skipped += 1
            continue
        tally = tallies.setdefault((row.kind, row.rule, row.outcome, row.severity), Tally())
        tally.count += 1
        figures.events += 1
        key = open_key(row.resource, row.rule) if row.rule else ""
        if row.outcome == "compliant":
            figures.compliant += 1
        elif row.outcome == "drift":
            figures.drift += 1
            if row.recorded is not None:
                took = _seconds(row.recorded, when)
                tally.detect_seconds += took
                tally.detect_count += 1
                figures.detect_seconds += took
                figures.detect_count += 1
            if key and key not in opened:
                opened[key] = row.time
        elif row.outcome == "error":
            figures.errors += 1
        since = _time(opened.pop(key)) if key in opened and row.outcome in _RESTORING else None
        if since is not None:
            took = _seconds(when, since)
            tally.restore_seconds += took
            tally.restore_count += 1
            if row.outcome == "rolled-back":
                figures.restored_by_rollback_seconds += took
                figures.restored_by_rollback += 1
            else:
                figures.restored_by_hand_seconds += took
                figures.restored_by_hand += 1
        if row.outcome == "accepted":
            opened.pop(key, None)
            figures.accepted += 1
        if row.outcome in ("rolled-back", "rollback-failed"):
            decided = _decided(row)
            if decided == "approved":
                tally.approved += 1
                figures.approved += 1
            elif decided == "automatic":
                tally.automatic += 1
                figures.automatic += 1
            if row.outcome == "rollback-failed":
                figures.failed += 1
        if row.outcome == "rollback-skipped" and "rollback rejected by" in row.message[:200]:
            tally.rejected += 1
            figures.rejected += 1
    return DayResult(tallies, figures, opened)


@dataclass
class RuleFigures:
    """One (kind, rule) of one day or period: what the compliance report shows of it."""

    judged: int = 0
    compliant: int = 0
    drift: int = 0
    errors: int = 0
    detect_seconds: float = 0.0
    detect_count: int = 0
    rolled_back_seconds: float = 0.0
    rolled_back: int = 0
    by_hand_seconds: float = 0.0
    by_hand: int = 0
    approved: int = 0
    automatic: int = 0
    rejected: int = 0
    failed: int = 0
    accepted: int = 0

    def add(self, other: RuleFigures) -> None:
        for name in RULE_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def add_tally(self, outcome: str, tally: Tally) -> None:
        if outcome in ("compliant", "drift"):
            self.judged += tally.count
        if outcome == "compliant":
            self.compliant += tally.count
            self.by_hand_seconds += tally.restore_seconds
            self.by_hand += tally.restore_count
        elif outcome == "drift":
            self.drift += tally.count
        elif outcome == "error":
            self.errors += tally.count
        elif outcome == "rolled-back":
            self.rolled_back_seconds += tally.restore_seconds
            self.rolled_back += tally.restore_count
        elif outcome == "rollback-failed":
            self.failed += tally.count
        elif outcome == "accepted":
            self.accepted += tally.count
        self.detect_seconds += tally.detect_seconds
        self.detect_count += tally.detect_count
        self.approved += tally.approved
        self.automatic += tally.automatic
        self.rejected += tally.rejected

    def to_list(self) -> list[float | int]:
        return [getattr(self, name) for name in RULE_FIELDS]

    @classmethod
    def from_list(cls, values: list[Any]) -> RuleFigures:
        return cls(**dict(zip(RULE_FIELDS, values, strict=True)))


RULE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(RuleFigures))


def by_rule(tallies: Mapping[CountKey, Tally]) -> dict[tuple[str, str], RuleFigures]:
    """The tallies folded per (kind, rule)."""
    out: dict[tuple[str, str], RuleFigures] = {}
    for (kind, rule, outcome, _severity), tally in tallies.items():
        out.setdefault((kind, rule), RuleFigures()).add_tally(outcome, tally)
    return out
