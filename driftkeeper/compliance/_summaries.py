"""The ``summaries`` and ``summariescounts`` tables: one day of the event table, aggregated,
recomputed whole.

Keys: PartitionKey = the day (``YYYYMMDD``, as the event table's). RowKey in the
``summariescounts`` table (the summaries table's name + ``counts``):

- ``c|<16 hex of SHA-256(kind, rule, outcome, severity)>``: one count (``Kind``, ``Rule``,
  ``Outcome``, ``Severity``, ``Count`` and the MTTD / MTTR sums of those rows), for tools
  that want the detail (Power BI, Storage Explorer). They live in a table of their own
  because there are thousands a day: beside the day rows, every read of a quarter's
  summaries would step over them (a whole-table scan on Azurite, the partitions' rows on
  Azure), which at 1,000,000 events cost the dashboard 650 ms.

RowKey in the ``summaries`` table:

- ``day``: the day's totals, and the drift incidents open at its end;
- ``r|000``, ``r|001`` ...: the same counts folded per (kind, rule), 400 rules a row
  (``Rules``: JSON), which is what ``/api/compliance`` reads: a quarter is 90 day rows and a
  few rule rows a day, whatever the number of events.

**Why recompute.** :func:`summarize` reads the day's partition of the event table and
upserts (replace) every row of the day's summary. It never increments anything, so a
retried or concurrent run cannot count an event twice: each run writes what the
partition held when it read it. Event rows are only ever added (a retry rewrites the same
row), so a later run's counts include an earlier's; a run that read earlier and wrote later
is corrected by the next run. The reconcile timer summarizes yesterday then today (late
events land in yesterday's partition); older days are closed and never change.

The day row carries the drift incidents still open at the end of the day (``Open``: JSON
``{hash of (resource, rule): opened at}``, split like long event columns), which the next
day's run starts from, so a drift opened yesterday and restored today counts today. Days are
therefore summarized oldest first (:func:`summarize_days`).

**Reading what may have been changed.** The table can be written by anyone holding a key, so
:meth:`Summaries.read` trusts no value: a day figure that is not a finite number at least 0
(a string, a negative, NaN, a bool) reads as 0, and a rule entry with such a value, or with
more compliant or drifted judgements than judgements, is skipped; both are logged. A report
never fails on them, and no share can leave 0..1.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, fields
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..store._keys import join_text, short_hash, split_columns
from ._aggregate import (
    RULE_FIELDS,
    CountKey,
    DayFigures,
    DayResult,
    EventRow,
    RuleFigures,
    Tally,
    aggregate,
    by_rule,
)

if TYPE_CHECKING:
    from azure.data.tables import TableClient

__all__ = [
    "SUMMARY_TABLE",
    "DaySummary",
    "Summaries",
    "day_key",
    "read_day_rows",
    "summarize",
    "summarize_days",
]

log = logging.getLogger(__name__)

SUMMARY_TABLE = "summaries"
COUNTS_SUFFIX = "counts"
"""The count rows' table is the summaries table's name with this suffix (``summariescounts``
would not follow a renamed summaries table)."""
DAY_ROW = "day"
_COUNT = "c|"
_RULES = "r|"
_RULES_PER_ROW = 400
MAX_OPEN = 6_000
"""Open drift incidents carried to the next day (about 50 characters each: well within an
entity's 1 MiB)."""
_BATCH = 100
_EVENT_COLUMNS = (
    "RowKey",
    "Time",
    "Outcome",
    "Kind",
    "Rule",
    "Severity",
    "Resource",
    "Message",
    "ActorUpn",
    "Timestamp",
)
_TALLY = {
    "count": "Count",
    "detect_seconds": "DetectSeconds",
    "detect_count": "DetectCount",
    "restore_seconds": "RestoreSeconds",
    "restore_count": "RestoreCount",
    "approved": "Approved",
    "automatic": "Automatic",
    "rejected": "Rejected",
}
_FIGURES = {f.name: "".join(p.title() for p in f.name.split("_")) for f in fields(DayFigures)}


def day_key(day: date) -> str:
    return day.strftime("%Y%m%d")


class DaySummary:
    """One day as the summaries table holds it."""

    def __init__(
        self,
        day: str,
        figures: DayFigures,
        rules: dict[tuple[str, str], list[Any]] | None = None,
    ) -> None:
        self.day = day
        self.figures = figures
        self.rules: dict[tuple[str, str], list[Any]] = rules if rules is not None else {}
        """(kind, rule) -> the values of :class:`RuleFigures` in field order (summed as
        lists: a quarter of hundreds of rules is tens of thousands of them)."""

    def rule(self, kind: str, rule: str) -> RuleFigures:
        return RuleFigures.from_list(self.rules[kind, rule])


def _recorded(entity: Mapping[str, Any]) -> datetime | None:
    stamp = getattr(entity, "metadata", {}).get("timestamp") or entity.get("Timestamp")
    if isinstance(stamp, datetime):
        return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    return None


def read_day_rows(events: TableClient, day: str) -> Iterator[EventRow]:
    """The main rows of one event-table partition (continuation rows skipped)."""
    for entity in events.query_entities(
        "PartitionKey eq @day", parameters={"day": day}, select=list(_EVENT_COLUMNS)
    ):
        outcome = entity.get("Outcome")
        if not outcome:  # a continuation row
            continue
        yield EventRow(
            row_key=str(entity["RowKey"]),
            time=str(entity.get("Time", "")),
            outcome=str(outcome),
            kind=str(entity.get("Kind") or ""),
            rule=str(entity.get("Rule") or ""),
            severity=str(entity.get("Severity") or ""),
            resource=str(entity.get("Resource") or ""),
            message=str(entity.get("Message") or "")[:200],
            actor=str(entity.get("ActorUpn") or ""),
            recorded=_recorded(entity),
        )


class Summaries:
    """The summaries table and its count rows' table, over injected
    ``azure.data.tables.TableClient`` objects."""

    def __init__(self, table_client: TableClient, counts_client: TableClient) -> None:
        self._table = table_client
        self._counts = counts_client

    def carry(self, day: str) -> dict[str, str]:
        """The drift incidents open at the end of ``day`` ({} when it was never summarized)."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            entity = self._table.get_entity(day, DAY_ROW)
        except ResourceNotFoundError:
            return {}
        return _joined(entity, "Open")

    def write(self, day: str, result: DayResult) -> None:
        """Replace the summary of ``day``: the counts first, then the rule rows, the day row
        last, in transactions of one partition of 100 rows at most."""
        counts = [_count_entity(day, key, tally) for key, tally in sorted(result.tallies.items())]
        _upsert(self._counts, counts)
        _upsert(self._table, [*_rule_entities(day, result), _day_entity(day, result)])

    def read(self, first: str, last: str) -> list[DaySummary]:
        """The summaries of the days ``first`` .. ``last`` (``YYYYMMDD``, inclusive), oldest
        first, per (kind, rule); days never summarized are absent. The count rows are not
        read."""
        days: dict[str, DaySummary] = {}
        for entity in self._table.query_entities(
            "PartitionKey ge @first and PartitionKey le @last and RowKey ge @day",
            parameters={"first": first, "last": last, "day": DAY_ROW},
        ):
            day = str(entity["PartitionKey"])
            summary = days.setdefault(day, DaySummary(day, DayFigures()))
            if entity["RowKey"] == DAY_ROW:
                summary.figures = _day_figures(day, entity)
            elif str(entity["RowKey"]).startswith(_RULES):
                bad = 0
                for kind, rule, *values in _joined_list(entity, "Rules"):
                    clean = _rule_values(values)
                    if clean is None:
                        bad += 1
                    else:
                        summary.rules[str(kind), str(rule)] = clean
                if bad:
                    log.warning("summaries %s: %d unreadable rule entries skipped", day, bad)
        return [days[d] for d in sorted(days)]

    def forget(self, day: str) -> None:
        """Delete the summary of ``day`` (``YYYYMMDD``) from both tables (retention)."""
        for table in (self._counts, self._table):
            keys = [
                str(e["RowKey"])
                for e in table.query_entities(
                    "PartitionKey eq @day", parameters={"day": day}, select=["RowKey"]
                )
            ]
            for start in range(0, len(keys), _BATCH):
                table.submit_transaction(
                    [
                        ("delete", {"PartitionKey": day, "RowKey": k})
                        for k in keys[start : start + _BATCH]
                    ]
                )

    def counts(self, day: str) -> dict[CountKey, Tally]:
        """The count rows of one day."""
        out: dict[CountKey, Tally] = {}
        for entity in self._counts.query_entities(
            "PartitionKey eq @day and RowKey ge @c and RowKey lt @d",
            parameters={"day": day, "c": _COUNT, "d": "c}"},
        ):
            key = (
                str(entity.get("Kind") or ""),
                str(entity.get("Rule") or ""),
                str(entity.get("Outcome") or ""),
                str(entity.get("Severity") or ""),
            )
            values: list[Any] = [
                _count(entity.get(column, 0), name) for name, column in _TALLY.items()
            ]
            if any(v is None for v in values):
                log.warning("summaries %s: an unreadable count row skipped", day)
                continue
            out[key] = Tally(**dict(zip(_TALLY, values, strict=True)))
        return out


def _upsert(table: TableClient, rows: Sequence[dict[str, Any]]) -> None:
    from azure.data.tables import TransactionOperation, UpdateMode

    replace = {"mode": UpdateMode.REPLACE}
    for start in range(0, len(rows), _BATCH):
        batch = rows[start : start + _BATCH]
        table.submit_transaction([(TransactionOperation.UPSERT, row, replace) for row in batch])


_FLOAT_FIELDS = frozenset(
    name for name in (*_FIGURES, *_TALLY, *RULE_FIELDS) if name.endswith("seconds")
)


def _count(value: Any, name: str) -> int | float | None:
    """A stored figure as a number at least 0 (a float for ``*_seconds``, else a whole
    number); None for anything else (a string, a bool, a negative, NaN, 1.5 events)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or value < 0:
        return None
    if name in _FLOAT_FIELDS:
        return float(value)
    return int(value) if float(value).is_integer() else None


def _day_figures(day: str, entity: Mapping[str, Any]) -> DayFigures:
    values: dict[str, Any] = {}
    bad = []
    for name, column in _FIGURES.items():
        value = _count(entity.get(column, 0), name)
        if value is None:
            bad.append(column)
        values[name] = value or 0
    if bad:
        log.warning("summaries %s: unreadable day figures read as 0: %s", day, ", ".join(bad))
    return DayFigures(**values)


def _rule_values(values: Sequence[Any]) -> list[Any] | None:
    """A rule entry's values, clean, or None when one is unreadable or they contradict
    each other (more compliant or drifted judgements than judgements)."""
    if len(values) != len(RULE_FIELDS):
        return None
    clean = [_count(v, name) for v, name in zip(values, RULE_FIELDS, strict=True)]
    if any(v is None for v in clean):
        return None
    figures = dict(zip(RULE_FIELDS, clean, strict=True))
    judged = figures["judged"] or 0
    if (figures["compliant"] or 0) > judged or (figures["drift"] or 0) > judged:
        return None
    return clean


def _count_entity(day: str, key: CountKey, tally: Tally) -> dict[str, Any]:
    kind, rule, outcome, severity = key
    entity: dict[str, Any] = {
        "PartitionKey": day,
        "RowKey": _COUNT + short_hash(*key),
        "Kind": kind,
        "Rule": rule,
        "Outcome": outcome,
        "Severity": severity,
    }
    entity.update({column: getattr(tally, name) for name, column in _TALLY.items()})
    return _floats(entity)


def _day_entity(day: str, result: DayResult) -> dict[str, Any]:
    entity: dict[str, Any] = {"PartitionKey": day, "RowKey": DAY_ROW}
    figures = asdict(result.figures)
    entity.update({column: figures[name] for name, column in _FIGURES.items()})
    entity["Counts"] = len(result.tallies)
    entity["SummarizedAt"] = datetime.now(UTC)
    carry = sorted(result.carry.items(), key=lambda item: item[1])
    if len(carry) > MAX_OPEN:  # the entity must stay under 1 MiB: keep the newest
        log.warning("day %s: %d open drift incidents, the oldest not carried", day, len(carry))
        carry = carry[-MAX_OPEN:]
    text = json.dumps(dict(sorted(carry)), separators=(",", ":"))
    entity.update(split_columns("Open", text))
    return _floats(entity)


def _rule_entities(day: str, result: DayResult) -> list[dict[str, Any]]:
    rules = sorted(by_rule(result.tallies).items())
    items = [[kind, rule, *figures.to_list()] for (kind, rule), figures in rules]
    rows = []
    for number, start in enumerate(range(0, max(len(items), 1), _RULES_PER_ROW)):
        entity: dict[str, Any] = {"PartitionKey": day, "RowKey": f"{_RULES}{number:03d}"}
        text = json.dumps(items[start : start + _RULES_PER_ROW], separators=(",", ":"))
        entity.update(split_columns("Rules", text))
        rows.append(entity)
    return rows


def _floats(entity: dict[str, Any]) -> dict[str, Any]:
    """Seconds as floats (Edm.Double), so a whole number is not stored as an Int32."""
    for column in list(entity):
        if column.endswith("Seconds"):
            entity[column] = float(entity[column])
    return entity


def _joined_list(entity: Mapping[str, Any], column: str) -> list[list[Any]]:
    text = join_text(entity, column)
    loaded = json.loads(text) if text else []
    return [item for item in loaded if isinstance(item, list)] if isinstance(loaded, list) else []


def _joined(entity: Mapping[str, Any], column: str) -> dict[str, str]:
    text = join_text(entity, column)
    loaded = json.loads(text) if text else {}
    return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}


def summarize(day: date, events: TableClient, summaries: Summaries) -> DayResult:
    """(Re)compute the summary of ``day`` from its event-table partition and the previous
    day's open drift incidents, and write it (idempotent)."""
    key = day_key(day)
    carry = summaries.carry(day_key(day - timedelta(days=1)))
    result = aggregate(read_day_rows(events, key), carry)
    summaries.write(key, result)
    log.info("summarized %s: %d events, %d counts", key, result.figures.events, len(result.tallies))
    return result


def summarize_days(
    days: Sequence[date], events: TableClient, summaries: Summaries
) -> list[DayResult]:
    """Summarize ``days`` oldest first (each starts from the previous one's open incidents)."""
    return [summarize(day, events, summaries) for day in sorted(set(days))]
