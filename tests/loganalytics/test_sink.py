"""The Log Analytics sink against the local receiver of the Logs Ingestion contract.

Rows arrive with the documented columns; an ingestion failure (500, 429) leaves the table
row and a marker and does not raise; the reconcile resend sends exactly the missing rows;
big batches go in calls under 1 MB.
"""

from __future__ import annotations

import gzip
import json
import time
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from driftkeeper._model import Change, EventRecord
from driftkeeper.loganalytics import (
    MAX_CALL_BYTES,
    STREAM_COLUMNS,
    LogsSink,
    MirroredLedger,
    Outbox,
)
from driftkeeper.store import Ledger, record_keys
from tests.fakes.logs_ingestion import MAX_BODY

from .conftest import STREAM, Setup


def _record(n: int, *, message: str = "", changes: tuple[Change, ...] = ()) -> EventRecord:
    return EventRecord(
        signal_id=f"sig-{n}",
        time=f"2026-07-01T12:{n // 60 % 60:02d}:{n % 60:02d}.{n:06d}Z",
        source="eventgrid",
        event_type="Microsoft.Resources.ResourceWriteSuccess",
        outcome="drift",
        resource=f"/subscriptions/s/rg/nsg-{n}",
        setting=f"nsg-{n}",
        kind="nsg",
        rule="nsg-web-prod",
        severity="high",
        message=message or f"drift {n}",
        actor_upn="alice@contoso.com",
        changes=changes,
    )


def _keys(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((r["PartitionKey"], r["RowKey"]) for r in rows)


def _record_both(setup: Setup, records: list[EventRecord]) -> None:
    MirroredLedger(setup.ledger, setup.sink).record(records)


def test_rows_arrive_with_the_documented_columns(setup: Setup) -> None:
    record = _record(1, changes=(Change("rules/ssh", None, {"port": 22}),))
    _record_both(setup, [record])

    (row,) = setup.receiver.rows()
    assert list(row) == [name for name, _ in STREAM_COLUMNS]
    assert (row["PartitionKey"], row["RowKey"]) == record_keys(record)
    assert row["TimeGenerated"] == row["EventTime"] == "2026-07-01T12:00:01.000001Z"
    assert row["Outcome"] == "drift"
    assert row["ActorUpn"] == "alice@contoso.com"
    assert json.loads(row["Changes"]) == [
        {"path": "rules/ssh", "expected": None, "actual": {"port": 22}}
    ]
    assert row["Truncated"] == ""
    (call,) = setup.receiver.calls
    assert call.gzip
    assert call.token == setup.credential.token
    # the Azure Monitor audience (SDK 1.1.0 asks for ".../.default"; the docs write "//")
    (scope,) = setup.credential.requested_scopes[0]
    assert scope in ("https://monitor.azure.com/.default", "https://monitor.azure.com//.default")
    assert setup.markers() == []  # sent: no marker left


def test_a_long_value_is_joined_then_cut_to_what_the_service_keeps(setup: Setup) -> None:
    record = _record(2, message="é" * 100_000)  # split over Message, Message1 ... in the table
    _record_both(setup, [record])
    (row,) = setup.receiver.rows()
    assert row["Truncated"] == "Message"
    assert 0 < len(row["Message"]) < 100_000
    assert set(row["Message"]) == {"é"}
    assert setup.ledger.query(since=_since(), until=None)[0].message == "é" * 100_000


def _since() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 7, 1, tzinfo=UTC)


def test_a_500_leaves_the_row_and_a_marker_and_does_not_raise(setup: Setup) -> None:
    records = [_record(n) for n in range(5)]
    setup.receiver.fail(500)

    _record_both(setup, records)  # no exception: the rows are safe in the table

    assert len(setup.ledger.query(since=_since())) == 5
    assert setup.receiver.rows() == []
    (marker,) = setup.markers()
    assert marker["Attempts"] == 1
    assert "500" in marker["LastError"]
    assert "static-test-token" not in marker["LastError"]


def test_a_429_stops_the_batch_and_every_row_is_marked(setup: Setup) -> None:
    setup.receiver.fail(429, retry_after=30)
    _record_both(setup, [_record(n) for n in range(3)])
    assert len(setup.receiver.calls) == 1  # one try: the trigger never sleeps on Retry-After
    (marker,) = setup.markers()
    assert "429" in marker["LastError"]


def test_the_resend_sends_exactly_the_missing_rows(setup: Setup) -> None:
    # a batch of three calls (each row ~400 KB): the second fails
    big = [_record(n, message="x" * 30_000 + str(n)) for n in range(60)]
    setup.receiver.fail(500)  # the first call fails
    _record_both(setup, big)
    failed = [c for c in setup.receiver.calls if c.status == 500]
    sent_first = _keys(setup.receiver.rows())
    assert failed
    assert sent_first
    (_marker,) = setup.markers()

    nothing = setup.sink.resend()  # too young: may belong to a recording still sending
    assert nothing.markers == 0

    setup.later()
    done = setup.sink.resend()

    all_keys = sorted(record_keys(r) for r in big)
    resent = _keys(setup.receiver.rows())
    assert done.rows == len(all_keys) - len(sent_first)
    assert done.pending == 0
    assert resent == all_keys  # every row once: none lost, none doubled
    assert len(set(resent)) == len(resent)
    assert setup.markers() == []


def test_a_resend_that_fails_again_keeps_the_marker(setup: Setup) -> None:
    setup.receiver.fail(503, times=2)
    _record_both(setup, [_record(1)])
    setup.later()
    again = setup.sink.resend()
    assert again.pending == 1
    assert again.rows == 0
    (marker,) = setup.markers()
    assert marker["Attempts"] == 2
    setup.later()
    assert setup.sink.resend().rows == 1
    assert _keys(setup.receiver.rows()) == [record_keys(_record(1))]


def test_a_row_deleted_before_the_resend_is_dropped(setup: Setup) -> None:
    setup.receiver.fail(500)
    _record_both(setup, [_record(1), _record(2)])
    partition, row = record_keys(_record(1))
    setup.events.delete_entity(partition, row)  # retention, say
    setup.later()
    done = setup.sink.resend()
    assert (done.rows, done.gone) == (1, 1)
    assert setup.markers() == []


def test_a_marker_is_written_before_the_rows_are_sent(setup: Setup) -> None:
    """The write-ahead order: a worker dying mid-send leaves a marker, not a lost row."""
    markers = setup.outbox.add([record_keys(_record(1))])  # as if it died right after
    setup.ledger.record([_record(1)])
    setup.later()
    done = setup.sink.resend()
    assert done.rows == 1
    assert done.markers == len(markers) == 1


def test_big_batches_go_in_calls_under_1_mb(setup: Setup) -> None:
    records = [_record(n, message="m" * 3_000) for n in range(1_200)]  # ~4 MB of rows
    started = time.perf_counter()
    _record_both(setup, records)
    elapsed = time.perf_counter() - started

    calls = setup.receiver.calls
    assert len(calls) >= 4
    assert all(c.status == 204 for c in calls)
    assert all(c.size <= MAX_CALL_BYTES <= MAX_BODY for c in calls)
    assert len(setup.receiver.rows()) == 1_200
    print(f"\nLog Analytics sink: {1_200 / elapsed:,.0f} rows/s recorded and uploaded")


def test_many_small_rows_never_pass_1_mb_counting_the_separators(setup: Setup) -> None:
    """The SDK's own split counts rows but not the ", " between them: ours does."""
    from driftkeeper.loganalytics import calls, log_row
    from driftkeeper.store import record_entities

    rows = []
    for n in range(4_000):
        entities = record_entities(_record(n))
        rows.append(log_row(entities[-1], entities[:-1]))
    for group in calls(rows):
        body = json.dumps(group).encode()
        assert len(body) <= MAX_CALL_BYTES
        assert len(gzip.compress(body)) < len(body)


# --- the order of writes: the marker, then the table, then the upload ------------------------
class WritesFail:
    """A TableClient wrapping a real (Azurite) one whose writes raise ``error``, as a storage
    outage or a worker dying mid-write leaves them; reads go through."""

    def __init__(self, inner: Any, error: BaseException) -> None:
        self.inner, self.error = inner, error
        self.writes = 0

    def upsert_entity(self, *args: Any, **kwargs: Any) -> Any:
        self.writes += 1
        raise self.error

    def submit_transaction(self, *args: Any, **kwargs: Any) -> Any:
        self.writes += 1
        raise self.error

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class WorkerDied(BaseException):
    """The host killing the worker between two writes (not an Exception: nothing catches it)."""


def test_a_failed_marker_write_writes_no_row(setup: Setup) -> None:
    # once: the table first, then a marker write that failed left rows no resend would send
    failing = Outbox(WritesFail(setup.outbox_table, HttpResponseError("503 ServerBusy")))  # type: ignore[arg-type]
    sink = LogsSink(setup.client, failing, rule_id=setup.receiver.rule_id, stream=STREAM)

    with pytest.raises(HttpResponseError):
        MirroredLedger(setup.ledger, sink).record([_record(1), _record(2)])

    assert setup.ledger.query(since=_since()) == []
    assert setup.receiver.rows() == []


def test_a_failed_table_write_propagates_and_loses_nothing(setup: Setup) -> None:
    records = [_record(n) for n in range(3)]
    failing = Ledger(WritesFail(setup.events, HttpResponseError("503 ServerBusy")))  # type: ignore[arg-type]

    with pytest.raises(HttpResponseError):  # the trigger fails and is retried
        MirroredLedger(failing, setup.sink).record(records)
    assert len(setup.markers()) == 1  # written before the table write
    assert setup.receiver.rows() == []

    _record_both(setup, records)  # the trigger's retry
    setup.later()
    done = setup.sink.resend()  # the first marker: its rows exist now, sent again (at least once)

    assert done.markers == 1
    assert done.gone == 0
    assert set(_keys(setup.receiver.rows())) == {record_keys(r) for r in records}
    assert setup.markers() == []


def test_an_upload_failure_after_the_table_write_is_resent_exactly(setup: Setup) -> None:
    records = [_record(n) for n in range(4)]
    setup.receiver.fail(500)

    _record_both(setup, records)

    assert len(setup.ledger.query(since=_since())) == 4
    assert len(setup.markers()) == 1
    setup.later()
    done = setup.sink.resend()
    assert (done.rows, done.pending, done.gone) == (4, 0, 0)
    assert _keys(setup.receiver.rows()) == sorted(record_keys(r) for r in records)
    assert setup.markers() == []


def test_a_worker_dying_between_the_marker_and_the_table_leaves_a_marker_the_resend_drops(
    setup: Setup,
) -> None:
    records = [_record(n) for n in range(3)]
    dying = WritesFail(setup.events, WorkerDied())
    with pytest.raises(WorkerDied):
        MirroredLedger(Ledger(dying), setup.sink).record(records)  # type: ignore[arg-type]
    assert dying.writes == 1
    assert len(setup.markers()) == 1

    young = setup.sink.resend()  # within the grace: the row may still be written
    assert young.markers == 0
    setup.later()
    done = setup.sink.resend()  # the rows never existed: skipped, no error

    assert (done.rows, done.gone, done.pending, done.markers) == (0, 3, 0, 1)
    assert setup.receiver.rows() == []
    assert setup.markers() == []


def test_a_row_written_just_after_its_marker_is_sent_by_the_resend(setup: Setup) -> None:
    # the marker first; the row lands a moment later (inside the grace): never missed
    pending = setup.sink.mark([_record(7)])
    setup.later(minutes=1)
    assert setup.sink.resend().markers == 0
    setup.ledger.record([_record(7)])
    setup.later()
    done = setup.sink.resend()
    assert (done.rows, done.gone) == (1, 0)
    assert len(pending) == 1


@pytest.mark.parametrize("missing", [(), (("p", "r2"),)], ids=["all sent", "one still owed"])
def test_a_marker_another_worker_settled_first_is_left_as_that_worker_left_it(
    setup: Setup, missing: tuple[tuple[str, str], ...]
) -> None:
    # given a marker two workers both read (the same ETag), when the first keeps one key
    # owed and the second then settles from its stale copy, then the first's marker stands
    [marker] = setup.outbox.add([("p", "r1"), ("p", "r2")])
    setup.outbox.settle(marker, [("p", "r2")], "first")
    setup.outbox.settle(marker, missing, "second")
    [left] = setup.outbox.pending()
    assert (left.keys, left.attempts) == ((("p", "r2"),), 1)
