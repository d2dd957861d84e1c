"""driftkeeper summarize: the last N days' summaries recomputed from the event table."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from azure.data.tables import TableClient, TableServiceClient

from driftkeeper.cli import main
from driftkeeper.compliance import Summaries, day_key
from driftkeeper.store import Ledger

from .seed import row


@pytest.fixture
def events(
    make_table: Callable[..., TableClient], azurite: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TableClient]:
    client = make_table()
    monkeypatch.setenv("DRIFTKEEPER_STORAGE_CONNECTION", azurite)
    monkeypatch.setenv("DRIFTKEEPER_EVENTS_TABLE", client.table_name)
    yield client
    with TableServiceClient.from_connection_string(azurite) as service:
        service.delete_table("summaries")
        service.delete_table("summariescounts")


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def test_summarize_the_last_days(events: TableClient, azurite: str) -> None:
    now = datetime.now(UTC).replace(hour=0, minute=30)
    Ledger(events).record(
        [
            row(now - timedelta(days=2), "drift"),
            row(now - timedelta(days=1), "compliant"),
            row(now, "drift", signal_id="today"),
        ]
    )
    code, out = run("summarize", "--days", "2")
    assert code == 0
    today, yesterday = now.date(), (now - timedelta(days=1)).date()
    assert out.splitlines() == [
        f"{yesterday}: 1 events, 1 compliant, 0 drift, 0 errors",
        f"{today}: 1 events, 0 compliant, 1 drift, 0 errors",
    ]
    summaries = Summaries(
        TableClient.from_connection_string(azurite, "summaries"),
        TableClient.from_connection_string(azurite, "summariescounts"),
    )
    assert [d.day for d in summaries.read("20000101", "29991231")] == [
        day_key(yesterday),
        day_key(today),
    ]


@pytest.mark.parametrize("days", ["0", "-1", "x", "9999"])
def test_summarize_refuses_a_bad_number_of_days(days: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["summarize", "--days", days])
    assert exit_.value.code == 2
