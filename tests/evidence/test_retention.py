"""Retention: only sealed days older than the retention are deleted, in bounded runs, and a
later verification reports them as pruned, never as removed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import azure.functions as func
import pytest
from azure.data.tables import TableClient, TableServiceClient

from driftkeeper import runtime
from driftkeeper.config import Settings
from driftkeeper.evidence import Seals, prune, seal_closed_days, seals_table_name, verify
from driftkeeper.runtime import Runtime
from driftkeeper.store import Ledger

from .helpers import TODAY, ledger_table, record

RECORDS = [
    record("a1", "2026-10-01T10:00:00Z"),
    record("a2", "2026-10-01T11:00:00Z"),
    record("b", "2026-10-05T10:00:00Z"),
    record("c", "2026-10-10T10:00:00Z"),
    record("d", "2026-11-20T10:00:00Z"),
]


@pytest.fixture
def events(make_table: Callable[..., TableClient]) -> TableClient:
    return ledger_table(make_table, RECORDS)


def days_of(events: TableClient) -> list[str]:
    return sorted({e["PartitionKey"] for e in events.list_entities(select=["PartitionKey"])})


def statuses(events: TableClient, seals: Seals) -> dict[str, str]:
    result = verify(events, seals, first=date(2026, 9, 1), last=TODAY, today=TODAY)
    assert not result.tampered, result.summary()
    return {d.day: d.status for d in result.days}


def test_only_sealed_days_older_than_the_retention_are_deleted(
    events: TableClient, seals: Seals
) -> None:
    seal_closed_days(events, seals, today=TODAY, through=date(2026, 10, 1))
    pruned = prune(events, seals, today=TODAY, keep_days=30)
    assert (pruned.days, pruned.rows, pruned.complete) == (("20261001",), 2, True)
    # 20261005 and 20261010 are old but unsealed: kept; 20261120 is recent: kept
    assert days_of(events) == ["20261005", "20261010", "20261120"]
    assert statuses(events, seals) == {
        "20261005": "unsealed", "20261010": "unsealed", "20261120": "unsealed",
    }  # fmt: skip
    assert seals.anchor() is not None
    assert seals.anchor().day == "20261001"


def test_pruning_is_bounded_and_the_chain_goes_on_from_the_anchor(
    events: TableClient, seals: Seals
) -> None:
    seal_closed_days(events, seals, today=TODAY)
    first = prune(events, seals, today=TODAY, keep_days=30, max_rows=1)
    assert (first.days, first.rows, first.complete) == ((), 1, False)
    assert statuses(events, seals)["20261001"] == "pruned"  # half deleted: not "removed"
    rest = prune(events, seals, today=TODAY, keep_days=30, max_rows=10)
    assert (rest.days, rest.rows, rest.complete) == (("20261001", "20261005", "20261010"), 3, True)
    assert days_of(events) == ["20261120"]
    assert statuses(events, seals) == {"20261120": "ok"}
    # a later day chains on; pruning everything still leaves a verifiable chain
    Ledger(events).record([record("e", "2026-11-21T10:00:00Z")])
    seal_closed_days(events, seals, today=TODAY)
    assert statuses(events, seals) == {"20261120": "ok", "20261121": "ok"}
    later = TODAY + timedelta(days=60)
    assert prune(events, seals, today=later, keep_days=30).days == ("20261120", "20261121")
    Ledger(events).record([record("f", "2027-01-05T10:00:00Z")])
    (sealed,) = seal_closed_days(events, seals, today=later)
    anchor = seals.anchor()
    assert anchor is not None
    assert sealed.previous == anchor.chain
    result = verify(events, seals, first=date(2026, 9, 1), last=later, today=later)
    assert not result.tampered
    assert {d.day: d.status for d in result.days} == {"20270105": "ok"}


def test_a_retention_below_one_day_is_refused(events: TableClient, seals: Seals) -> None:
    with pytest.raises(ValueError, match="keep_days"):
        prune(events, seals, today=TODAY, keep_days=0)


# --- the reconcile timer ------------------------------------------------------------------


@pytest.fixture
def timer_runtime(azurite: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    import uuid

    name = f"ev{uuid.uuid4().hex[:12]}"
    settings = Settings(storage_connection=azurite, events_table=name, retention_days=30)
    service = TableServiceClient.from_connection_string(azurite)
    rt = Runtime(settings, table_service=service, summaries_table=f"sum{name}")
    monkeypatch.setattr(rt, "reconcile", lambda run_id: [])
    runtime.install(rt)
    yield rt
    runtime.install(None)
    for table in (name, seals_table_name(name), f"sum{name}", f"sum{name}counts"):
        service.delete_table(table)
    service.close()


def test_the_reconcile_timer_seals_closed_days_and_applies_the_retention(
    functions: dict[str, Any], timer_runtime: Runtime
) -> None:
    from azure.functions.timer import TimerRequest

    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    old, yesterday = today - timedelta(days=60), today - timedelta(days=1)
    events = timer_runtime.table(timer_runtime.settings.events_table)
    Ledger(events).record(
        [record("old", old.isoformat()), record("y", yesterday.isoformat()),
         record("t", today.isoformat())]
    )  # fmt: skip
    timer_runtime.summarize([old.date(), yesterday.date()])
    timer: func.TimerRequest = TimerRequest(past_due=False)
    functions["reconcile"].get_user_function()(timer)
    assert days_of(events) == [yesterday.strftime("%Y%m%d"), today.strftime("%Y%m%d")]
    summaries = timer_runtime.summaries()
    kept = [s.day for s in summaries.read("20000101", "29991231")]
    assert old.strftime("%Y%m%d") not in kept  # the pruned day's summary went with it
    assert yesterday.strftime("%Y%m%d") in kept
    assert summaries.counts(old.strftime("%Y%m%d")) == {}
    assert summaries.counts(yesterday.strftime("%Y%m%d")) != {}
    seals = timer_runtime.seals()
    assert [s.day for s in seals.all()] == [yesterday.strftime("%Y%m%d")]
    result = verify(events, seals, first=old.date(), last=today.date(), today=today.date())
    assert not result.tampered
    assert {d.status for d in result.days} == {"ok", "open"}
