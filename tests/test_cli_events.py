"""driftkeeper events: the event table, queried by time range, with validated filters."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from azure.data.tables import TableClient
from hypothesis import given
from hypothesis import strategies as st

from driftkeeper._model import EventRecord
from driftkeeper.cli import main, parse_since
from driftkeeper.store import Ledger

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def record(signal: str, time: str, outcome: str = "drift", kind: str = "nsg") -> EventRecord:
    return EventRecord(
        signal, time, "eventgrid", "Microsoft.Resources.ResourceWriteSuccess", outcome,
        resource="/subscriptions/x/nsg", setting="k", kind=kind, rule="r", severity="high",
        message=f"message {signal}", actor_upn="eve@contoso.com",
    )  # fmt: skip


@pytest.fixture
def table(
    make_table: Callable[..., TableClient], azurite: str, monkeypatch: pytest.MonkeyPatch
) -> TableClient:
    client = make_table()
    monkeypatch.setenv("DRIFTKEEPER_STORAGE_CONNECTION", azurite)
    monkeypatch.setenv("DRIFTKEEPER_EVENTS_TABLE", client.table_name)
    Ledger(client).record([
        record("old", "2026-10-01T00:00:00Z"),
        record("yesterday", "2026-11-21T13:00:00Z", "compliant"),
        record("today", "2026-11-22T10:00:00Z", kind="directory-role"),
    ])  # fmt: skip
    return client


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def test_events_by_time_range_and_filter(table: TableClient) -> None:
    code, out = run("events", "--since", "2026-11-01", "--format", "json")
    assert code == 0
    assert [r["signal_id"] for r in json.loads(out)] == ["yesterday", "today"]
    code, out = run(
        "events", "--since", "2026-11-01", "--kind", "directory-role", "--format", "json"
    )
    assert [r["signal_id"] for r in json.loads(out)] == ["today"]
    code, out = run("events", "--since", "2026-01-01", "--outcome", "compliant")
    assert code == 0
    assert "message yesterday" in out
    assert "1 row(s)" in out


def test_a_filter_value_that_is_not_a_token_is_refused(
    table: TableClient, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run("events", "--kind", "nsg' or PartitionKey ne '")
    assert code == 2
    assert "kind" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", datetime(2026, 11, 22, 11, 30, tzinfo=UTC)),
        ("24h", datetime(2026, 11, 21, 12, 0, tzinfo=UTC)),
        ("7d", datetime(2026, 11, 15, 12, 0, tzinfo=UTC)),
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-11-01T05:00:00Z", datetime(2026, 11, 1, 5, tzinfo=UTC)),
    ],
)
def test_parse_since(text: str, expected: datetime) -> None:
    assert parse_since(text, now=NOW) == expected


@given(st.text(max_size=30))
def test_parse_since_accepts_or_refuses_clearly(text: str) -> None:
    from driftkeeper import InputError

    try:
        when = parse_since(text, now=NOW)
    except InputError as exc:
        message = str(exc)
        when = None
    else:
        message = ""
    assert when is None or when.tzinfo is not None
    assert when is not None or "--since" in message
