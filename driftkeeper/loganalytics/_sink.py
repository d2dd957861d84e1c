"""Every event-table row also sent to Log Analytics (the Logs Ingestion API), never lost.

The order, in :meth:`MirroredLedger.record`:

1. an outbox marker lists the rows' keys (:meth:`LogsSink.mark`,
   :class:`~driftkeeper.loganalytics._outbox.Outbox`), *before* anything else is written;
2. the rows go to the event table (the source of truth);
3. the rows go up in calls of at most 1 MB (:meth:`LogsSink.upload`,
   :func:`~driftkeeper.loganalytics._rows.calls`);
4. the marker is removed, or keeps only the rows of the calls that failed.

So no row is ever in the table without a marker: a worker that dies, or a marker write that
fails, between the table write and the upload would otherwise leave rows the reconcile timer
never sends. A marker may instead list rows that do not exist (the table write failed, or
the worker died before it): the resend takes only markers older than :data:`GRACE` (longer
than a function may run, 10 minutes), reads the marked rows from the table, sends those it
finds and drops the others as ``gone`` without an error. A row written a moment after its
marker is therefore never missed: by the time the marker is resent the row is in the table
(or never will be: its recording failed, and the trigger's retry writes a marker of its own).

An ingestion failure (a 5xx, a 429, a refused token, no answer) is logged and left to the
marker: it never fails the trigger. The row is safe in the table, and failing the trigger
would make Event Grid deliver the batch again, re-read every resource and judge it again,
all for a copy. The reconcile timer (:meth:`LogsSink.resend`) re-reads the marked rows from
the event table and sends them; a throttled (429) run stops there and the next run goes on.
A failure to write the marker itself is a Table Storage failure and propagates before any row
is written, as every store failure does; so does a failure of the table write after it (the
marker stays: what the table holds by then is sent by the resend; the retry writes the rows
again, idempotently).

At least once, not exactly once: a worker that dies after a call succeeded but before its
marker was settled leaves the marker, and the rows are sent again; a call that timed out may
also have been ingested. The rows carry the table's ``PartitionKey`` and ``RowKey``: KQL
dedupes on them (``summarize arg_max(TimeGenerated, *) by PartitionKey, RowKey``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .._model import EventRecord
from ..store._ledger import PART_MARK
from ._outbox import EventKey, Marker, Outbox
from ._rows import calls, log_row, record_row

if TYPE_CHECKING:
    from ..pipeline import RecordSink

__all__ = ["GRACE", "LogsSink", "MirroredLedger", "Pending", "Sent", "logs_client"]

log = logging.getLogger(__name__)

GRACE = timedelta(minutes=10)
"""A marker younger than this may belong to a recording still sending: not resent yet."""


@dataclass(frozen=True)
class Pending:
    """A marker written for rows not yet uploaded, and those rows."""

    marker: Marker
    rows: list[dict[str, Any]]


@dataclass(frozen=True)
class Sent:
    """What one send or resend did."""

    rows: int = 0
    """Rows accepted by the service (204)."""
    pending: int = 0
    """Rows left to a marker."""
    gone: int = 0
    """Marked rows no longer in the event table (retention deleted them): dropped."""
    markers: int = 0
    throttled: bool = False

    def __add__(self, other: Sent) -> Sent:
        return Sent(
            self.rows + other.rows,
            self.pending + other.pending,
            self.gone + other.gone,
            self.markers + other.markers,
            self.throttled or other.throttled,
        )


def logs_client(endpoint: str, credential: Any, *, connection_verify: str | bool = True) -> Any:
    """A ``LogsIngestionClient`` (imported here) that tries each call once: a failure is
    the outbox's to retry, so a trigger never sleeps on a Retry-After."""
    from azure.monitor.ingestion import LogsIngestionClient

    return LogsIngestionClient(
        endpoint,
        credential,
        connection_verify=connection_verify,
        retry_total=0,
        connection_timeout=10,
        read_timeout=30,
    )


def _problem(exc: BaseException) -> tuple[str, bool]:
    """A short description (no token, no body) and whether it was a throttle (429)."""
    status = getattr(exc, "status_code", None)
    if status is None:
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
    first = " ".join(str(getattr(exc, "message", "") or exc).split())[:200]
    return f"{type(exc).__name__} {status or ''}: {first}".strip(), status == 429


class LogsSink:
    """Sends event rows to one data collection rule's stream, through an outbox."""

    def __init__(
        self,
        client: Any,
        outbox: Outbox,
        *,
        rule_id: str,
        stream: str,
        events: Any = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._client = client
        self._outbox = outbox
        self._rule_id = rule_id
        self._stream = stream
        self._events = events
        """The event table's TableClient (:meth:`resend` reads the marked rows from it)."""
        self._clock = clock

    # --- the recording path ---------------------------------------------------------------
    def mark(self, records: Sequence[EventRecord]) -> list[Pending]:
        """Write the outbox markers of the rows ``records`` become, before the table write
        (see the module notes); what :meth:`upload` sends. A Table Storage failure
        propagates."""
        unique: dict[EventKey, dict[str, Any]] = {}
        for record in records:
            row = record_row(record)
            unique[_key(row)] = row
        if not unique:
            return []
        rows = list(unique.values())
        pending = []
        for marker in self._outbox.add(list(unique)):
            wanted = set(marker.keys)
            pending.append(Pending(marker, [r for r in rows if _key(r) in wanted]))
        return pending

    def upload(self, pending: Sequence[Pending]) -> Sent:
        """Send the marked rows (now in the table) and settle their markers. Never raises
        for an ingestion failure: the marker keeps what was not sent."""
        total = Sent()
        for item in pending:
            total += self._attempt(item.marker, item.rows)
        return total

    def send(self, records: Sequence[EventRecord]) -> Sent:
        """:meth:`mark` then :meth:`upload`: for rows already in the table."""
        return self.upload(self.mark(records))

    # --- the reconcile path ---------------------------------------------------------------
    def resend(self, *, limit: int = 50) -> Sent:
        """Send the rows of the oldest markers again (reading them from the event table);
        stops at a 429 (the next run goes on)."""
        if self._events is None:
            raise TypeError("LogsSink.resend needs the event table (events=)")
        total = Sent()
        for marker in self._outbox.pending(older_than=self._clock() - GRACE, limit=limit):
            rows, gone = self._read(marker.keys)
            done = self._attempt(marker, rows)
            total += done + Sent(gone=gone, markers=1)
            if done.throttled:
                break
        return total

    def _attempt(self, marker: Marker, rows: Sequence[dict[str, Any]]) -> Sent:
        from azure.core.exceptions import AzureError

        missing: list[EventKey] = []
        sent, error, throttled = 0, "", False
        for group in calls(rows):
            if throttled:
                missing.extend(_key(r) for r in group)
                continue
            try:
                self._client.upload(self._rule_id, self._stream, group)
            except (AzureError, OSError) as exc:  # the sink's boundary: see the module notes
                error, throttled = _problem(exc)
                missing.extend(_key(r) for r in group)
                log.warning(
                    "Log Analytics: %d row(s) not ingested (%s); kept for the reconcile timer",
                    len(group),
                    error,
                    extra={"marker": marker.id},
                )
                continue
            sent += len(group)
        try:
            self._outbox.settle(marker, missing, error)
        except AzureError:  # the marker still lists every row: at worst some are sent twice
            log.exception("Log Analytics outbox marker %s not updated", marker.id)
        return Sent(rows=sent, pending=len(missing), throttled=throttled)

    def _read(self, keys: Sequence[EventKey]) -> tuple[list[dict[str, Any]], int]:
        """The rows of ``keys`` as the event table holds them now; how many are gone."""
        by_partition: dict[str, set[str]] = {}
        for partition, row in keys:
            by_partition.setdefault(partition, set()).add(row)
        rows: list[dict[str, Any]] = []
        gone = 0
        for partition, wanted in by_partition.items():
            found = self._partition_rows(partition, min(wanted), max(wanted) + PART_MARK + "~")
            for row in sorted(wanted):
                main = found.get(row)
                if main is None:
                    gone += 1
                    continue
                count = main.get("Parts", 0)
                count = count if isinstance(count, int) and 0 <= count < 1000 else 0
                parts = [found.get(f"{row}{PART_MARK}{n:03d}") for n in range(1, count + 1)]
                if any(p is None for p in parts):
                    gone += 1  # a row whose parts are missing is not sent half
                    continue
                rows.append(log_row(main, [p for p in parts if p is not None]))
        return rows, gone

    def _partition_rows(self, partition: str, low: str, high: str) -> dict[str, Mapping[str, Any]]:
        entities: Iterable[Mapping[str, Any]] = self._events.query_entities(
            "PartitionKey eq @pk and RowKey ge @low and RowKey le @high",
            parameters={"pk": partition, "low": low, "high": high},
        )
        return {str(e["RowKey"]): e for e in entities}


def _key(row: Mapping[str, Any]) -> EventKey:
    return str(row["PartitionKey"]), str(row["RowKey"])


class MirroredLedger:
    """A :class:`~driftkeeper.pipeline.RecordSink` that writes the event table and sends the
    same rows to Log Analytics: the outbox marker first, then the table, then the upload (see
    the module notes). A Table Storage failure (marker or rows) propagates: the trigger is
    retried; an ingestion failure never does."""

    def __init__(self, ledger: RecordSink, sink: LogsSink) -> None:
        self.ledger = ledger
        self.sink = sink

    def record(self, records: Sequence[EventRecord]) -> None:
        pending = self.sink.mark(records)
        self.ledger.record(records)
        self.sink.upload(pending)
