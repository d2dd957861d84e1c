"""Sealing closed days, and verification finding rows changed, added or removed behind
driftkeeper's back, and seals tampered with."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date

import pytest
from azure.data.tables import TableClient, UpdateMode

from driftkeeper.evidence import Seals, seal_closed_days, verify
from driftkeeper.store import Ledger, record_keys

from .helpers import NOW, TODAY, ledger_table, record

RECORDS = [
    record("a", "2026-11-19T10:00:00Z"),
    record("b", "2026-11-19T11:00:00Z", "compliant"),
    record("c", "2026-11-20T08:00:00Z", kind="directory-role"),
    record("d", "2026-11-21T23:59:59Z"),
    record("e", "2026-11-22T01:00:00Z"),  # today: not sealed
]


@pytest.fixture
def events(make_table: Callable[..., TableClient]) -> TableClient:
    return ledger_table(make_table, RECORDS)


def check(events: TableClient, seals: Seals) -> dict[str, str]:
    result = verify(events, seals, first=date(2026, 11, 1), last=TODAY, today=TODAY)
    return {d.day: d.status for d in result.days}


def test_closed_days_are_sealed_once_and_verify(events: TableClient, seals: Seals) -> None:
    sealed = seal_closed_days(events, seals, today=TODAY, clock=lambda: NOW)
    assert [(s.day, s.rows) for s in sealed] == [("20261119", 2), ("20261120", 1), ("20261121", 1)]
    assert sealed[0].previous == ""
    assert [s.previous for s in sealed[1:]] == [s.chain for s in sealed[:-1]]
    assert seal_closed_days(events, seals, today=TODAY) == []  # nothing left to seal
    assert check(events, seals) == {
        "20261119": "ok", "20261120": "ok", "20261121": "ok", "20261122": "open",
    }  # fmt: skip
    result = verify(events, seals, first=date(2026, 11, 19), last=TODAY, today=TODAY)
    assert not result.tampered
    assert result.head is not None
    assert result.head.day == "20261121"


def test_seal_through_a_date_stops_there(events: TableClient, seals: Seals) -> None:
    sealed = seal_closed_days(events, seals, today=TODAY, through=date(2026, 11, 19))
    assert [s.day for s in sealed] == ["20261119"]
    assert check(events, seals)["20261120"] == "unsealed"
    assert [s.day for s in seal_closed_days(events, seals, today=TODAY, max_days=1)] == ["20261120"]


def test_a_message_changed_behind_driftkeepers_back_is_flagged(
    events: TableClient, seals: Seals
) -> None:
    seal_closed_days(events, seals, today=TODAY)
    day, row = record_keys(RECORDS[1])
    entity = events.get_entity(day, row)
    entity["Message"] = "nothing to see here"
    events.update_entity(entity, mode=UpdateMode.MERGE)
    result = verify(events, seals, first=date(2026, 11, 19), last=TODAY, today=TODAY)
    assert result.tampered
    (flagged,) = [d for d in result.days if d.tampered]
    assert (flagged.day, flagged.status, flagged.changed) == ("20261119", "changed", (row,))


def test_a_deleted_row_is_removed(events: TableClient, seals: Seals) -> None:
    seal_closed_days(events, seals, today=TODAY)
    day, row = record_keys(RECORDS[2])
    events.delete_entity(day, row)
    result = verify(events, seals, first=date(2026, 11, 19), last=TODAY, today=TODAY)
    (flagged,) = [d for d in result.days if d.tampered]
    assert (flagged.day, flagged.status, flagged.removed, flagged.rows) == (
        "20261120", "removed", (row,), 0,
    )  # fmt: skip


def test_a_row_inserted_into_a_sealed_day_is_added(events: TableClient, seals: Seals) -> None:
    seal_closed_days(events, seals, today=TODAY)
    late = record("late", "2026-11-21T12:00:00Z")
    Ledger(events).record([late])  # a late write: driftkeeper's own, after sealing
    Ledger(events).record([record("gap", "2026-11-20T09:00:00Z")])
    result = verify(events, seals, first=date(2026, 11, 19), last=TODAY, today=TODAY)
    found = {d.day: (d.status, d.added) for d in result.days if d.tampered}
    assert found == {
        "20261120": ("added", (record_keys(record("gap", "2026-11-20T09:00:00Z"))[1],)),
        "20261121": ("added", (record_keys(late)[1],)),
    }


def test_rows_in_a_skipped_empty_day_are_added_after_sealing(
    events: TableClient, seals: Seals
) -> None:
    seal_closed_days(events, seals, today=TODAY)
    Ledger(events).record([record("old", "2026-11-10T09:00:00Z")])  # no row that day before
    statuses = check(events, seals)
    assert statuses["20261110"] == "added"


@pytest.mark.parametrize(
    ("column", "value"),
    [("Digest", "0" * 64), ("Previous", "f" * 64), ("Rows", 7), ("Chain", "e" * 64)],
)
def test_a_tampered_seal_breaks_the_chain(
    events: TableClient, seals: Seals, column: str, value: object
) -> None:
    seal_closed_days(events, seals, today=TODAY)
    table: TableClient = seals._table
    entity = table.get_entity("seal", "20261120")
    entity[column] = value
    table.update_entity(entity, mode=UpdateMode.MERGE)
    result = verify(events, seals, first=date(2026, 11, 19), last=TODAY, today=TODAY)
    assert result.tampered
    assert "chain broken" in {d.day: d.status for d in result.days}["20261120"] or (
        column == "Chain" and "chain broken" in {d.day: d.status for d in result.days}["20261121"]
    )


def test_a_deleted_seal_breaks_the_chain_of_the_next(events: TableClient, seals: Seals) -> None:
    seal_closed_days(events, seals, today=TODAY)
    seals._table.delete_entity("seal", "20261120")
    statuses = check(events, seals)
    assert statuses["20261120"] == "added"  # rows of a day passed over by the chain
    assert statuses["20261121"] == "chain broken"


def test_a_resealed_day_with_a_forged_row_list_is_caught(events: TableClient, seals: Seals) -> None:
    seal_closed_days(events, seals, today=TODAY)
    day, row = record_keys(RECORDS[0])
    entity = events.get_entity(day, row)
    entity["ActorUpn"] = "mallory@contoso.com"
    events.update_entity(entity, mode=UpdateMode.MERGE)
    part = next(iter(seals._table.query_entities("PartitionKey eq 'rows'")))
    part["List0"] = part["List0"].replace(row, row[:-1] + "0")
    seals._table.update_entity(part, mode=UpdateMode.MERGE)
    statuses = check(events, seals)
    assert statuses["20261119"] == "chain broken"


def test_two_instances_sealing_at_once_write_one_seal(
    events: TableClient, seals: Seals, make_table: Callable[..., TableClient]
) -> None:
    barrier = threading.Barrier(4)
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def seal() -> None:
        try:
            barrier.wait()
            results.append([s.chain for s in seal_closed_days(events, seals, today=TODAY)])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=seal) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    stored = list(seals._table.query_entities("PartitionKey eq 'seal'"))
    assert sorted(e["RowKey"] for e in stored) == ["20261119", "20261120", "20261121"]
    assert all(chains == results[0] for chains in results)
    assert set(check(events, seals).values()) == {"ok", "open"}


def test_a_broken_link_before_the_period_is_reported(events: TableClient, seals: Seals) -> None:
    seal_closed_days(events, seals, today=TODAY)
    table: TableClient = seals._table
    entity = table.get_entity("seal", "20261119")
    entity["Digest"] = "0" * 64
    table.update_entity(entity, mode=UpdateMode.MERGE)
    result = verify(events, seals, first=date(2026, 11, 20), last=date(2026, 11, 21), today=TODAY)
    assert result.tampered
    assert {d.day: d.status for d in result.days} == {
        "20261119": "chain broken", "20261120": "ok", "20261121": "ok",
    }  # fmt: skip
