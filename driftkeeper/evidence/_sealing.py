"""Sealing closed days of the event table, and verifying the seals.

A day (a PartitionKey ``YYYYMMDD`` of the event table) is sealed once it is closed (before
today, UTC). Days are sealed in order, every day that has rows, so a closed day without a
seal that is older than the newest seal had no rows when it was passed: any row it has now
was added after sealing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ._canon import ROW_HASH_CHARS, day_digest, list_digest, row_hash
from ._seals import Anchor, Seal, Seals

if TYPE_CHECKING:
    from azure.data.tables import TableClient

__all__ = [
    "TAMPERING",
    "DayCheck",
    "Verification",
    "day_key",
    "read_days",
    "seal_closed_days",
    "verify",
]

TAMPERING = ("changed", "added", "removed", "chain broken")
"""The findings that mean a sealed day is not as it was sealed."""


def day_key(day: date) -> str:
    return day.strftime("%Y%m%d")


def read_days(
    events: TableClient, first: str, last: str, *, select: list[str] | None = None
) -> dict[str, list[Any]]:
    """Every row (continuation rows included) of the days ``first`` .. ``last`` by day."""
    found: dict[str, list[Any]] = {}
    query = events.query_entities(
        "PartitionKey ge @first and PartitionKey le @last",
        parameters={"first": first, "last": last},
        select=select,
    )
    for entity in query:
        found.setdefault(str(entity["PartitionKey"]), []).append(entity)
    return found


def _days_after(events: TableClient, after: str, before: str, limit: int | None) -> list[str]:
    """Days with rows, ``after < day < before``, oldest first, at most ``limit``."""
    days: list[str] = []
    query = events.query_entities(
        "PartitionKey gt @after and PartitionKey lt @before",
        parameters={"after": after, "before": before},
        select=["PartitionKey"],
    )
    for entity in query:  # the service returns rows in key order
        day = str(entity["PartitionKey"])
        if days and days[-1] == day:
            continue
        if limit is not None and len(days) >= limit:
            break
        days.append(day)
    return sorted(set(days))


def _pairs(entities: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    return sorted((str(e["RowKey"]), row_hash(e)) for e in entities)


def seal_closed_days(
    events: TableClient,
    seals: Seals,
    *,
    today: date,
    through: date | None = None,
    max_days: int | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[Seal]:
    """Seal every closed day with rows after the newest seal, through ``through`` (default:
    yesterday; never today or later), oldest first, at most ``max_days`` of them.

    Returns the seals now in place for those days (another instance's where it won the race).
    """
    last = today - timedelta(days=1)
    if through is not None:
        last = min(last, through)
    existing = seals.all()
    anchor = seals.anchor()
    if existing:
        after, previous = existing[-1].day, existing[-1].chain
    elif anchor is not None:
        after, previous = anchor.day, anchor.chain
    else:
        after, previous = "", ""
    if anchor is not None and anchor.day > after:
        after, previous = anchor.day, anchor.chain
    before = day_key(last + timedelta(days=1))
    if after >= before:
        return []
    out: list[Seal] = []
    for day in _days_after(events, after, before, max_days):
        rows = read_days(events, day, day).get(day, [])
        full = _pairs(rows)
        short = [(key, digest[:ROW_HASH_CHARS]) for key, digest in full]
        at = clock().astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        seal = Seal.make(day, len(full), day_digest(full), list_digest(short), previous, at)
        stored, _ = seals.create(seal, short)
        previous = stored.chain
        out.append(stored)
    return out


@dataclass(frozen=True)
class DayCheck:
    """What verification found for one day."""

    day: str
    rows: int
    """Rows the day has now (continuation rows included)."""
    sealed_rows: int | None
    """Rows when it was sealed (None: not sealed)."""
    findings: tuple[str, ...]
    """Empty when the day is as sealed; else of ``changed``, ``added``, ``removed``,
    ``chain broken``, ``unsealed`` (closed, not sealed yet), ``open`` (today or later),
    ``pruned`` (older than the chain's anchor)."""
    changed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    note: str = ""

    @property
    def status(self) -> str:
        return ", ".join(self.findings) or "ok"

    @property
    def tampered(self) -> bool:
        return any(f in TAMPERING for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "status": self.status,
            "rows": self.rows,
            "sealedRows": self.sealed_rows,
            "changed": list(self.changed),
            "added": list(self.added),
            "removed": list(self.removed),
            "note": self.note,
        }


@dataclass(frozen=True)
class Verification:
    """The seals of a period, checked."""

    first: str
    last: str
    days: tuple[DayCheck, ...]
    anchor: Anchor | None = None
    head: Seal | None = None
    """The newest seal (export its ``chain`` elsewhere: it pins everything before it)."""
    timestamps: Mapping[tuple[str, str], datetime] = field(default_factory=dict)
    """When each row of the period was last written (the service's Timestamp)."""
    anchor_problem: str = ""
    """Why :attr:`anchor` was not trusted (``""``: it was, or there is none)."""

    @property
    def tampered(self) -> bool:
        return any(d.tampered for d in self.days)

    def summary(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for check in self.days:
            for finding in check.findings or ("ok",):
                counts[finding] = counts.get(finding, 0) + 1
        return {
            "from": self.first,
            "to": self.last,
            "result": "tampering found" if self.tampered else "verified",
            "days": counts,
            "anchor": None
            if self.anchor is None
            else {
                "day": self.anchor.day,
                "chain": self.anchor.chain,
                "trusted": not self.anchor_problem,
                "problem": self.anchor_problem,
            },
            "head": None if self.head is None else {"day": self.head.day, "chain": self.head.chain},
            "findings": [d.to_dict() for d in self.days if d.findings],
        }


def anchor_problem(all_seals: Sequence[Seal], anchor: Anchor | None, today: str) -> str:
    """Why ``anchor`` is not where the remaining chain starts (``""``: it is, or there is none).

    Pruning moves the anchor to a day's seal before deleting that day, so the anchor is
    either the seal just before the first remaining seal (its ``Previous`` is the anchor's
    chain) or, while a prune is cut short, the first remaining seal itself.
    """
    if anchor is None:
        return ""
    where = f"the retention anchor (day {anchor.day!r})"
    if not anchor.day or anchor.day >= today:
        return f"{where} is not a closed day: forged or altered"
    if not all_seals:
        return ""
    first = all_seals[0]
    if first.day == anchor.day:
        if first.chain == anchor.chain:
            return ""
        return f"{where} does not match the seal of its day: forged or altered"
    if first.day > anchor.day and first.previous == anchor.chain:
        return ""
    return (
        f"{where} is not the link before the first remaining seal ({first.day}): "
        "forged or altered, earlier days are not taken as pruned"
    )


def _chain_breaks(all_seals: Sequence[Seal], anchor: Anchor | None) -> dict[str, str]:
    """Broken links of the chain; ``anchor`` must be one :func:`anchor_problem` accepts."""
    breaks: dict[str, str] = {}
    previous = anchor.chain if anchor is not None else ""
    for seal in all_seals:
        if not seal.intact:
            breaks[seal.day] = "the seal's chained digest does not follow from its fields"
        elif anchor is not None and seal.day == anchor.day:
            pass  # a prune cut short: the anchor is this seal, its previous one is gone
        elif seal.previous != previous:
            breaks[seal.day] = (
                "the seal does not chain to the previous seal (one was removed or altered)"
            )
        previous = seal.chain
    return breaks


def verify(
    events: TableClient, seals: Seals, *, first: date, last: date, today: date
) -> Verification:
    """Recompute every day of ``first`` .. ``last`` and walk the whole chain."""
    lo, hi = day_key(first), day_key(last)
    all_seals = seals.all()
    stored_anchor = anchor = seals.anchor()
    by_day = {s.day: s for s in all_seals}
    problem = anchor_problem(all_seals, anchor, day_key(today))
    if problem:
        anchor = None  # not trusted: no day is taken as pruned
    breaks = _chain_breaks(all_seals, anchor)
    if problem:
        at = all_seals[0].day if all_seals else (stored_anchor.day if stored_anchor else "")
        breaks[at] = f"{problem}; {breaks[at]}" if at in breaks else problem
    newest = all_seals[-1].day if all_seals else ""
    rows_by_day = read_days(events, lo, hi)
    timestamps: dict[tuple[str, str], datetime] = {}
    for day_rows in rows_by_day.values():
        for entity in day_rows:
            stamp = getattr(entity, "metadata", {}).get("timestamp")
            if isinstance(stamp, datetime):
                timestamps[(str(entity["PartitionKey"]), str(entity["RowKey"]))] = stamp
    for day in breaks:  # a broken link outside the period: its day is checked too
        if not lo <= day <= hi:
            rows_by_day[day] = read_days(events, day, day).get(day, [])
    days = sorted(set(rows_by_day) | {d for d in by_day if lo <= d <= hi})
    checks = [
        _check(
            day,
            rows_by_day.get(day),
            by_day.get(day),
            seals,
            anchor=anchor,
            newest=newest,
            today=day_key(today),
            broken=breaks.get(day, ""),
        )
        for day in days
    ]
    head = all_seals[-1] if all_seals else None
    return Verification(lo, hi, tuple(checks), stored_anchor, head, timestamps, problem)


def _check(
    day: str,
    rows: list[Any] | None,
    seal: Seal | None,
    seals: Seals,
    *,
    anchor: Anchor | None,
    newest: str,
    today: str,
    broken: str,
) -> DayCheck:
    full = _pairs(rows or [])
    count = len(full)
    if broken and seal is None:  # an untrusted anchor's day, without a seal
        return DayCheck(day, count, None, ("chain broken",), note=broken)
    if anchor is not None and day <= anchor.day and seal is None:
        if full and seal is None:
            keys = tuple(k for k, _ in full)
            return DayCheck(
                day,
                count,
                None,
                ("pruned", "added"),
                added=keys,
                note="rows in a pruned day, written after it was sealed",
            )
        return DayCheck(day, count, None, ("pruned",), note="older than the retention anchor")
    if seal is None:
        if day >= today:
            return DayCheck(day, count, None, ("open",), note="not closed yet (today or later)")
        if newest and day < newest:
            keys = tuple(k for k, _ in full)
            return DayCheck(
                day,
                count,
                None,
                ("added",),
                added=keys,
                note="the day had no rows when later days were sealed",
            )
        return DayCheck(day, count, None, ("unsealed",), note="closed, not sealed yet")
    findings: list[str] = []
    changed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    note = broken
    if day_digest(full) != seal.digest or count != seal.rows:
        try:
            stored = seals.row_list(seal)
        except ValueError as exc:
            stored, note = None, str(exc)
        if stored is None or list_digest(stored) != seal.rows_digest:
            findings.append("chain broken")
            note = note or "the seal's row list was altered"
        else:
            was = dict(stored)
            now = {k: h[:ROW_HASH_CHARS] for k, h in full}
            changed = tuple(k for k in now if k in was and was[k] != now[k])
            added = tuple(k for k in now if k not in was)
            removed = tuple(k for k in was if k not in now)
            findings += [
                name
                for name, keys in (("changed", changed), ("added", added), ("removed", removed))
                if keys
            ]
            if not findings:  # the list matches but the digest does not: the seal was edited
                findings.append("chain broken")
                note = note or "the seal's digest does not match its row list"
    if anchor is not None and day == anchor.day and findings == ["removed"]:
        # a prune cut short: its rows are being deleted (a changed or added row still shows)
        findings = ["pruned"]
        note = note or f"pruning in progress: {len(removed)} row(s) deleted so far"
    if broken and "chain broken" not in findings:
        findings.append("chain broken")
    return DayCheck(day, count, seal.rows, tuple(findings), changed, added, removed, note)
