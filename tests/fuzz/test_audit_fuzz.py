"""Hostile directoryAudit records through the audit-poll timer, as the host calls it: Azurite
holds the cursor and the event table. No poll fails, every record leaves its row (an
``invalid`` one with its reason), and the cursor never moves into the future."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from azure.data.tables import TableServiceClient
from azure.functions.timer import TimerRequest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftkeeper import Snapshot, runtime
from driftkeeper.audit import AuditCursor
from driftkeeper.intake import parse_event
from driftkeeper.live import CoalescingReader, snapshot_reader
from driftkeeper.pipeline import FUTURE_SLACK
from driftkeeper.runtime import Runtime
from driftkeeper.store import Cursors, Ledger
from tests.fakes.azurite import drop_app_tables
from tests.fakes.receivers import HttpReceiver
from tests.fuzz.conftest import FUZZ_SETTINGS, report
from tests.fuzz.strategies import FUZZ_ITEMS, audit_records, hostile_values
from tests.handlers.test_resource_events import SINCE, install_runtime

ROOT = Path(__file__).resolve().parents[2]
BATCH = 40
"""Records per poll."""
START = "2026-11-22T00:00:00Z"


class AuditLog:
    """What Graph lists: the records a test put there, whatever they hold."""

    def __init__(self) -> None:
        self.records: list[Any] = []

    def list_since(self, since: datetime, **kwargs: Any) -> list[Any]:
        return list(self.records)


@pytest.fixture
def audit_app(azurite: str, http_receiver: HttpReceiver) -> Iterator[tuple[Runtime, AuditLog]]:
    service = TableServiceClient.from_connection_string(azurite)
    reader = CoalescingReader(
        snapshot_reader(Snapshot.from_file(ROOT / "examples/tenant-drifted.json"))
    )
    rt = install_runtime(
        azurite, reader, f"{http_receiver.url}/workflows/teams", table_service=service
    )
    log = AuditLog()
    rt._audit_reader = log  # the seam: Graph's audit log
    yield rt, log
    drop_app_tables(service)
    runtime.install(None)


def test_hostile_audit_records_never_stop_the_poll(
    functions: dict[str, Any], audit_app: tuple[Runtime, AuditLog]
) -> None:
    rt, log = audit_app
    cursors = Cursors(rt.table(rt.settings.cursors_table))
    poll = functions["audit_poll"].get_user_function()
    expected: set[str] = set()
    polls = 0
    started = time.monotonic()

    @settings(FUZZ_SETTINGS, max_examples=max(FUZZ_ITEMS // BATCH, 1))
    @given(
        st.lists(
            st.one_of(audit_records, audit_records, audit_records, hostile_values),
            min_size=BATCH,
            max_size=BATCH,
        )
    )
    def run(records: list[Any]) -> None:
        nonlocal polls
        cursors.set("directoryAudits", START)  # each poll reads its records afresh
        log.records = records
        # when the timer fires, then it completes
        poll(TimerRequest(past_due=False))
        polls += 1
        # and the cursor is readable, and never later than a record may be
        stored = cursors.get("directoryAudits")
        assert stored is not None
        cursor = AuditCursor.from_json(stored)
        assert cursor.time <= datetime.now(UTC) + FUTURE_SLACK
        assert all(len(ident) <= 1024 for ident in cursor.ids)
        expected.update(parse_event(r).id for r in records)

    run()
    rows = Ledger(rt.table(rt.settings.events_table)).query(since=SINCE)
    # then every record left a row, and every invalid row says why
    assert expected <= {row.signal_id for row in rows}
    assert all(row.message.strip() for row in rows if row.outcome == "invalid")
    counts = Counter(row.outcome for row in rows)
    report("audit poll", started, items=polls * BATCH, polls=polls, rows=len(rows), outcomes=counts)
