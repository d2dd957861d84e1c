"""The event table on Azurite: idempotent writes, time-range queries, validated filters."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.data.tables import TableClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from driftkeeper._model import Change
from driftkeeper.store import Ledger, record_keys

from .records import event, row_count

T0 = datetime(2026, 7, 1, tzinfo=UTC)
AROUND_MIDNIGHT = [
    "2026-06-30T23:59:59.999999Z",
    "2026-07-01T00:00:00Z",
    "2026-07-01T12:00:00.1234567Z",
    "2026-07-01T23:59:59Z",
    "2026-07-02T00:00:00.000001Z",
    "2026-07-03T08:00:00+02:00",
]


class NoService:
    """A table client that fails the test if the ledger ever calls it."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the service was called: {name}")


def test_recording_the_same_records_twice_leaves_one_row_each(table: TableClient) -> None:
    ledger = Ledger(table)
    records = [event(time=t) for t in AROUND_MIDNIGHT]

    ledger.record(records)
    ledger.record(records)
    ledger.record(records[:2] + records[:2])  # duplicates within one call too

    assert row_count(table) == len(records)
    assert ledger.query(since=T0 - timedelta(days=1)) == records


def test_a_signal_judged_for_two_settings_gives_two_rows(table: TableClient) -> None:
    ledger = Ledger(table)
    first = event()
    ledger.record([first, event(signal_id=first.signal_id, setting="other-setting")])
    assert row_count(table) == 2


def test_query_by_time_range_spans_day_partitions(table: TableClient) -> None:
    ledger = Ledger(table)
    records = [event(time=t) for t in reversed(AROUND_MIDNIGHT)]
    ledger.record(records)

    got = ledger.query(since=T0, until=T0 + timedelta(days=1, microseconds=1))

    assert [r.time for r in got] == AROUND_MIDNIGHT[1:4]  # since inclusive, until exclusive
    later = ledger.query(since=T0 + timedelta(days=1))
    assert [r.time for r in later] == AROUND_MIDNIGHT[4:]


def test_many_records_in_one_partition_go_in_several_transactions(table: TableClient) -> None:
    ledger = Ledger(table)
    base = datetime(2026, 7, 1, 6, tzinfo=UTC)
    records = [event(time=(base + timedelta(seconds=i)).isoformat()) for i in range(250)]
    ledger.record(records)
    assert row_count(table) == 250
    assert ledger.query(since=T0) == records


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"kind": "directory-role"}, ["role-drift", "role-ok"]),
        ({"outcome": "drift"}, ["nsg-drift", "role-drift"]),
        ({"kind": "directory-role", "outcome": "compliant"}, ["role-ok"]),
        ({"resource": "/roles/Global Administrator's"}, ["role-drift", "role-ok"]),
        ({"outcome": "error"}, []),
    ],
)
def test_query_filters(table: TableClient, filters: dict[str, Any], expected: list[str]) -> None:
    ledger = Ledger(table)
    role = "/roles/Global Administrator's"
    ledger.record(
        [
            event(message="nsg-drift", time="2026-07-01T01:00:00Z"),
            event(
                message="role-drift", kind="directory-role", resource=role, time="2026-07-01T02:00Z"
            ),
            event(
                message="role-ok",
                kind="directory-role",
                resource=role,
                outcome="compliant",
                time="2026-07-02T03:00:00Z",
            ),
        ]
    )
    assert [r.message for r in ledger.query(since=T0, **filters)] == expected


@pytest.mark.parametrize(
    "filters",
    [
        {"outcome": "drift' or true"},
        {"outcome": "Drift"},
        {"kind": "nsg' or Kind ne 'x"},
        {"kind": "nsg kind"},
        {"kind": ""},
        {"resource": ""},
        {"resource": "a\x00b"},
        {"since": datetime(2026, 7, 1)},  # naive
        {"until": datetime(2026, 7, 2)},
        {"until": T0 - timedelta(days=1)},
    ],
)
def test_bad_filters_raise_before_reaching_the_service(filters: dict[str, Any]) -> None:
    ledger = Ledger(NoService())  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ledger.query(**{"since": T0, **filters})


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    resource=st.text(st.characters(codec="utf-8", exclude_categories=("Cc",)), min_size=1),
    kind=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True),
)
def test_any_resource_and_kind_round_trip_through_the_filter(
    table: TableClient, resource: str, kind: str
) -> None:
    ledger = Ledger(table)
    mine = event(resource=resource, kind=kind, setting=resource)
    decoy = event(resource=resource + "x", kind=kind + "x")
    ledger.record([mine, decoy])

    assert ledger.query(since=T0, resource=resource, kind=kind) == [mine]


def test_huge_diff_round_trips_exactly(table: TableClient) -> None:
    ledger = Ledger(table)
    rng_text = uuid.uuid4().hex * 2_000  # 64,000 characters per value
    changes = tuple(
        Change(f"rules[r{i}]", {"note": rng_text, "i": i}, {"note": "ünï😀" + rng_text[:-4]})
        for i in range(25)
    )
    record = event(changes=changes, message="x" * 40_000)
    assert len(json.dumps([c.to_dict() for c in changes])) > 3 * 1024 * 1024

    ledger.record([record])
    ledger.record([record])

    assert ledger.query(since=T0) == [record]
    assert ledger.query(since=T0, kind="nsg", outcome="drift") == [record]  # parts by key
    partition, row = record_keys(record)
    assert table.get_entity(partition, row)["Parts"] == row_count(table) - 1 >= 3


@pytest.mark.parametrize("rows", [1, 2], ids=["plain upsert", "transaction"])
def test_a_rewrite_leaves_no_stale_column_behind(table: TableClient, rows: int) -> None:
    # a retried event may be judged anew: a shorter message must not keep the old pieces
    ledger = Ledger(table)
    first = [event(message="m" * 40_000) for _ in range(rows)]
    ledger.record(first)
    again = [replace(record, message="short") for record in first]
    ledger.record(again)
    assert sorted(ledger.query(since=T0), key=lambda r: r.signal_id) == sorted(
        again, key=lambda r: r.signal_id
    )


def test_json_values_keep_their_types(table: TableClient) -> None:
    ledger = Ledger(table)
    record = event(
        changes=(
            Change("a", None, [1, 2.5, True, None, "x"]),
            Change("b", {"nested": {"k": []}}, "quote ' and \" and \\"),
            Change("", "exists", None),
        )
    )
    ledger.record([record])
    assert ledger.query(since=T0) == [record]


def test_a_bad_record_is_rejected_before_anything_is_written(table: TableClient) -> None:
    ledger = Ledger(table)
    with pytest.raises(ValueError, match="event time"):
        ledger.record([event(), event(time="not a time")])
    assert row_count(table) == 0


class Busy:
    """A table client whose transactions answer 503 ServerBusy."""

    def submit_transaction(self, operations: Any) -> None:
        raise HttpResponseError(message="ServerBusy", response=None)

    def upsert_entity(self, entity: Any, **kwargs: Any) -> None:
        raise HttpResponseError(message="ServerBusy", response=None)


@pytest.mark.parametrize("count", [1, 2])
def test_service_errors_propagate(count: int) -> None:
    with pytest.raises(HttpResponseError, match="ServerBusy"):
        Ledger(Busy()).record([event() for _ in range(count)])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("query_filter", "expected"),
    [
        (
            "PartitionKey ge '20260701' and PartitionKey lt '20261001'"
            " and Kind eq 'directory-role'",
            ["role-q3"],
        ),
        (
            "PartitionKey ge '20260930' and RowKey ge '2026-09-30T08:00:00.000000Z'"
            " and Outcome eq 'drift'",
            ["nsg-last-day"],
        ),
        ("PartitionKey ge '20260101' and ActorUpn eq 'bob@contoso.example'", ["role-q3"]),
        ("PartitionKey ge '20260101' and Parts ge 0", ["role-q2", "role-q3", "nsg-last-day"]),
    ],
)
def test_documented_dashboard_filters(
    table: TableClient, query_filter: str, expected: list[str]
) -> None:
    huge = (Change("x", "ü" * 400_000, None),)  # continuation rows must not show up
    Ledger(table).record(
        [
            event(message="role-q2", kind="directory-role", time="2026-06-30T23:00:00Z"),
            event(
                message="role-q3",
                kind="directory-role",
                time="2026-07-01T00:00:00Z",
                actor_upn="bob@contoso.example",
            ),
            event(message="nsg-last-day", time="2026-09-30T09:00:00Z", changes=huge),
        ]
    )
    rows = table.query_entities(query_filter, select=["Message"])
    assert [row["Message"] for row in rows] == expected
