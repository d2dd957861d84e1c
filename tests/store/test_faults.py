"""The store unavailable mid-test (a TCP proxy in front of Azurite refuses or hangs).

A failed write raises (so the trigger fails and the platform retries), and the retry, once
the store is back, leaves exactly one row / one incident.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import (
    ServiceRequestError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.data.tables import TableClient

from driftkeeper._model import Change
from driftkeeper.store import Cursors, Incidents, Ledger, record_entities, record_keys

from ..fakes.azurite import Azurite, AzuriteMissingError, TcpProxy
from .records import NSG, MakeTable, event, row_count

T0 = datetime(2026, 7, 1, tzinfo=UTC)
FAULTS = [("refuse", ServiceRequestError), ("hang", ServiceResponseError)]


@pytest.fixture
def via_proxy(make_table: MakeTable, azurite_proxy: TcpProxy) -> TableClient:
    """A table reached through the proxy: no SDK retries, a 1 s read timeout."""
    return make_table(
        connection_string=azurite_proxy.connection_string, retry_total=0, read_timeout=1
    )


def direct(via_proxy: TableClient, azurite: str) -> TableClient:
    return TableClient.from_connection_string(azurite, via_proxy.table_name)


@pytest.mark.parametrize(("fault", "error"), FAULTS)
def test_ledger_write_fails_then_the_retry_records_once(
    via_proxy: TableClient,
    azurite_proxy: TcpProxy,
    azurite: str,
    fault: str,
    error: type[Exception],
) -> None:
    ledger = Ledger(via_proxy)
    records = [event(), event(time="2026-07-02T00:00:00Z")]
    ledger.record(records[:1])  # a pooled connection exists when the store goes away

    getattr(azurite_proxy, fault)()
    with pytest.raises(error):
        ledger.record(records)
    azurite_proxy.up()
    ledger.record(records)  # the platform's retry

    with direct(via_proxy, azurite) as table:
        assert row_count(table) == 2
    assert ledger.query(since=T0) == records


@pytest.mark.parametrize(("fault", "error"), FAULTS)
def test_incident_observe_fails_then_the_retry_opens_once(
    via_proxy: TableClient,
    azurite_proxy: TcpProxy,
    fault: str,
    error: type[Exception],
) -> None:
    incidents = Incidents(via_proxy)
    record = event()

    getattr(azurite_proxy, fault)()
    with pytest.raises(error):
        incidents.observe(record)
    azurite_proxy.up()

    assert incidents.observe(record).transition == "opened"
    assert incidents.observe(record).transition == "duplicate"
    assert incidents.get(NSG, record.rule).count == 1


def test_cursor_read_fails_rather_than_reading_as_unset(
    via_proxy: TableClient, azurite_proxy: TcpProxy
) -> None:
    cursors = Cursors(via_proxy)
    cursors.set("audit", "2026-07-01T00:00:00Z")
    azurite_proxy.refuse()
    with pytest.raises(ServiceRequestError):
        cursors.get("audit")
    azurite_proxy.up()
    assert cursors.get("audit") == "2026-07-01T00:00:00Z"


class DiesAfter:
    """Delegates to a real table client; its ``n``-th write times out, unsent."""

    def __init__(self, table: TableClient, n: int) -> None:
        self._table = table
        self._left = n

    def _tick(self) -> None:
        self._left -= 1
        if self._left == 0:
            raise ServiceResponseTimeoutError("read timed out")

    def submit_transaction(self, operations: Any) -> Any:
        self._tick()
        return self._table.submit_transaction(operations)

    def upsert_entity(self, entity: Any, **kwargs: Any) -> Any:
        self._tick()
        return self._table.upsert_entity(entity, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)


def test_a_batch_cut_short_is_completed_by_the_retry(table: TableClient) -> None:
    records = [event(time=f"2026-07-0{1 + i % 3}T00:00:{i % 60:02d}Z") for i in range(150)]
    with pytest.raises(ServiceResponseTimeoutError):
        Ledger(DiesAfter(table, 2)).record(records)  # type: ignore[arg-type]
    assert 0 < row_count(table) < 150

    Ledger(table).record(records)

    assert row_count(table) == 150
    assert Ledger(table).query(since=T0) == sorted(records, key=record_keys)


def test_a_huge_record_is_invisible_until_its_main_row_is_written(table: TableClient) -> None:
    big = "ü" * 30_000
    record = event(changes=tuple(Change(f"r[{i}]", big, None) for i in range(150)))
    rows = len(record_entities(record))
    assert rows >= 6

    with pytest.raises(ServiceResponseTimeoutError):
        Ledger(DiesAfter(table, 2)).record([record])  # type: ignore[arg-type]
    assert 0 < row_count(table) < rows
    assert Ledger(table).query(since=T0) == []  # parts without their main row: not a record

    Ledger(table).record([record])
    assert Ledger(table).query(since=T0) == [record]
    assert row_count(table) == rows


def test_a_missing_azurite_says_to_run_npm_ci(tmp_path: Path) -> None:
    with pytest.raises(AzuriteMissingError, match="npm ci"):
        Azurite(executable=tmp_path / "azurite-table").start()
