"""The Entra audit poll: new directoryAudit records since a stored cursor, into the pipeline.

Each :meth:`AuditPoller.poll`:

1. loads the cursor (``since`` = its time, or ``now - first_lookback`` the first time);
2. lists the records from ``since - overlap`` on (rounded down to the second): audit records
   can reach Graph minutes after their ``activityDateTime``, and the overlap lets a poll see
   the ones that arrived after the previous poll had read past their time;
3. skips the records the previous poll already processed (their ids are kept in the cursor)
   and any id repeated in this read, and hands the rest, oldest first, to
   ``pipeline.process`` (which re-reads the setting each record touches and judges it);
4. only then stores the new cursor: the time of the newest record seen (never earlier than
   the stored one) and the ids of the records the next poll will read again. If reading or
   processing raises, the cursor is left as it was, so the next poll reads the same window.

A record the pipeline cannot read (no id, a bogus time, a field of the wrong type) is recorded
``invalid`` and acknowledged like any other: the cursor moves past it. Only a transient failure
(Graph or the store unavailable) leaves the cursor where it was. A record time later than
``now + FUTURE_SLACK`` (the pipeline refuses those too) never moves the cursor, or one bogus
record would make every later poll read past everything; nor does an id longer than an
Azure id can be (``intake.MAX_LENGTHS``) go into the cursor.

A record that reaches Graph later than ``overlap`` after a newer record was polled is not
seen; the reconcile timer is the backstop. Re-processing a record is harmless (the event
table and the incident book are idempotent on the record id), but the ids make sure a poll
neither re-runs nor re-alerts one.

The cursor value is JSON::

    {"time": "2026-11-22T02:58:13Z", "ids": ["IPCGraph_c0a1...", "Directory_..."]}

``time`` is ISO 8601 in UTC; ``ids`` are the records whose ``activityDateTime`` is at or after
``time - overlap`` (rounded down to the second). A bare ISO timestamp is accepted too (no ids),
so an operator can set where the poll starts. At most :data:`MAX_CURSOR_CHARS` characters are
stored (a Table Storage string holds 32K): past that the ids nearest the window's start are
dropped, with a warning, and those records may be processed a second time.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from ._errors import InputError, TimeFormatError
from ._time import parse_time
from .intake import MAX_LENGTHS, Parsed, parse_event
from .live import AUDIT_CATEGORIES
from .pipeline import FUTURE_SLACK, SignalResult

__all__ = [
    "MAX_CURSOR_CHARS",
    "AuditCursor",
    "AuditPoller",
    "AuditSource",
    "CursorStore",
    "PollResult",
    "SignalProcessor",
]

_log = logging.getLogger(__name__)

MAX_CURSOR_CHARS = 30_000
"""The longest cursor value stored (a Table Storage string property holds 32K characters)."""


class AuditSource(Protocol):
    """Lists directoryAudit records (:class:`~driftkeeper.live.AuditLogReader`)."""

    def list_since(
        self, since: datetime, *, categories: Sequence[str] = ...
    ) -> list[dict[str, Any]]: ...


class CursorStore(Protocol):
    """Named watermarks (:class:`~driftkeeper.store.Cursors`)."""

    def get(self, name: str) -> str | None: ...

    def set(self, name: str, value: str) -> None: ...


class SignalProcessor(Protocol):
    """Judges parsed signals (:class:`~driftkeeper.pipeline.Pipeline`)."""

    def process(self, parsed: Iterable[Parsed]) -> list[SignalResult]: ...


@dataclass(frozen=True)
class AuditCursor:
    """How far the poll has read: the newest record time seen, and the ids at that edge."""

    time: datetime
    ids: frozenset[str] = frozenset()

    def to_json(self) -> str:
        return json.dumps({"time": _iso(self.time), "ids": sorted(self.ids)}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> AuditCursor:
        """Read a stored value (the JSON above, or a bare ISO timestamp).

        Raises :class:`~driftkeeper.InputError` when it is neither.
        """
        stripped = text.strip()
        if not stripped.startswith("{"):
            return cls(parse_time(stripped, what="cursor time"))
        try:
            value = json.loads(stripped)
        except ValueError as exc:  # json.JSONDecodeError
            raise InputError(f"not JSON ({exc})") from None
        if not isinstance(value, dict) or not isinstance(value.get("time"), str):
            raise InputError('expected {"time": "<ISO timestamp>", "ids": [...]}')
        ids = value.get("ids", [])
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise InputError('"ids" must be a list of strings')
        return cls(parse_time(value["time"], what="cursor time"), frozenset(ids))


@dataclass(frozen=True)
class PollResult:
    """What one poll did."""

    records_read: int
    """Records Graph returned (skipped ones included)."""
    signals: list[SignalResult]
    """What the pipeline made of each record it was given."""
    cursor_before: AuditCursor | None
    cursor_after: AuditCursor | None
    """The cursor stored after the poll (the same as before when nothing newer was read)."""
    records_skipped: int = 0
    """Records already processed by the previous poll, or repeated in this read."""


class AuditPoller:
    """Polls directoryAudit records into the pipeline (see the module notes)."""

    def __init__(
        self,
        reader: AuditSource,
        cursors: CursorStore,
        pipeline: SignalProcessor,
        *,
        overlap: timedelta = timedelta(minutes=10),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        cursor_name: str = "directoryAudits",
        first_lookback: timedelta = timedelta(hours=1),
        categories: Sequence[str] = AUDIT_CATEGORIES,
    ) -> None:
        if overlap < timedelta(0) or first_lookback < timedelta(0):
            raise ValueError("overlap and first_lookback must not be negative")
        if not cursor_name:
            raise ValueError("a cursor needs a name")
        self.reader = reader
        self.cursors = cursors
        self.pipeline = pipeline
        self.overlap = overlap
        self.clock = clock
        self.cursor_name = cursor_name
        self.first_lookback = first_lookback
        self.categories = tuple(categories)

    def poll(self) -> PollResult:
        """Read, skip what was processed, process the rest, then advance the cursor.

        Raises whatever the reader, the pipeline or the cursor store raises (the cursor is
        then unchanged); :class:`~driftkeeper.InputError` when the stored cursor is unreadable.
        """
        before = self._load()
        now = _aware_now(self.clock())
        start = before.time if before is not None else now - self.first_lookback
        since = _whole_second(start - self.overlap)
        records = self.reader.list_since(since, categories=self.categories)

        read: list[tuple[str, datetime | None, Parsed]] = []
        latest = now + FUTURE_SLACK
        for record in records:
            when = _activity_time(record)
            if when is not None and when > latest:
                when = None  # recorded invalid by the pipeline; never where the cursor goes
            read.append((_record_id(record), when, parse_event(record)))
        read.sort(key=lambda entry: entry[1] or since)  # oldest first; stable

        fresh: list[Parsed] = []
        taken: set[str] = set()
        done = before.ids if before is not None else frozenset()
        for ident, _, parsed in read:
            if ident and (ident in done or ident in taken):
                continue
            if ident:
                taken.add(ident)
            fresh.append(parsed)
        results = self.pipeline.process(fresh) if fresh else []

        after = self._advance(before, read)
        if after is not None and after != before:
            self.cursors.set(self.cursor_name, after.to_json())
        _log.info(
            "audit poll since %s: %d records read, %d processed; cursor %s -> %s",
            _iso(since),
            len(records),
            len(fresh),
            _iso(before.time) if before is not None else "none",
            _iso(after.time) if after is not None else "none",
            extra={"cursor": self.cursor_name},
        )
        return PollResult(len(records), results, before, after, len(read) - len(fresh))

    def _load(self) -> AuditCursor | None:
        text = self.cursors.get(self.cursor_name)
        if text is None:
            return None
        try:
            return AuditCursor.from_json(text)
        except InputError as exc:
            raise InputError(f"cursor {self.cursor_name!r} is unreadable: {exc}") from exc

    def _advance(
        self, before: AuditCursor | None, read: Sequence[tuple[str, datetime | None, Parsed]]
    ) -> AuditCursor | None:
        times = [when for _, when, _ in read if when is not None]
        if not times:
            return before
        newest = max(times) if before is None else max(before.time, *times)
        edge = _whole_second(newest - self.overlap)  # where the next poll starts reading
        newest_first = {
            ident: when
            for ident, when, _ in reversed(read)
            if ident and when is not None and when >= edge
        }
        at_edge = sorted(((when, ident) for ident, when in newest_first.items()), reverse=True)
        kept: list[str] = []
        size = len(AuditCursor(newest).to_json())
        for _, ident in at_edge:
            size += len(json.dumps(ident)) + 1
            if size > MAX_CURSOR_CHARS:
                _log.warning(
                    "cursor %r is full: %d of %d record ids at its edge are not kept; "
                    "those records may be processed again",
                    self.cursor_name,
                    len(at_edge) - len(kept),
                    len(at_edge),
                    extra={"cursor": self.cursor_name},
                )
                break
            kept.append(ident)
        return AuditCursor(newest, frozenset(kept))


def _record_id(record: Any) -> str:
    """The record's id when it is one an audit record can have (else "": not deduplicated)."""
    ident = record.get("id") if isinstance(record, dict) else None
    return ident if isinstance(ident, str) and len(ident) <= MAX_LENGTHS["id"] else ""


def _activity_time(record: Any) -> datetime | None:
    when = record.get("activityDateTime") if isinstance(record, dict) else None
    if not isinstance(when, str):
        return None
    try:
        return parse_time(when)
    except TimeFormatError:
        return None


def _aware_now(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError(f"the clock must give timezone-aware datetimes, got {now!r}")
    return now.astimezone(UTC)


def _whole_second(when: datetime) -> datetime:
    return when.replace(microsecond=0)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")
