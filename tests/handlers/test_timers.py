"""The timer triggers: the Entra audit poll and the reconciliation backstop, called as the host
calls them, reading from the local ARM/Graph stand-in and writing to Azurite."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from azure.data.tables import TableServiceClient

from driftkeeper import TransientReadError, runtime
from driftkeeper.compliance import day_key
from driftkeeper.config import Settings
from driftkeeper.live import CoalescingReader, snapshot_reader
from driftkeeper.runtime import Runtime
from driftkeeper.store import Cursors, Ledger
from tests.fakes.alerts import RecordingAlerts
from tests.fakes.azure_rest import AzureRestServer

ROOT = Path(__file__).resolve().parents[2]
DRIFTED = json.loads((ROOT / "examples/tenant-drifted.json").read_text())
SUB = "6f1c2a3b-4d5e-4f60-8a91-b2c3d4e5f607"


@contextlib.contextmanager
def installed_runtime(
    server: AzureRestServer, credential: Any, azurite: str, audits: list[dict[str, Any]]
) -> Iterator[tuple[Runtime, RecordingAlerts]]:
    """A runtime installed as the host's, reading the drifted tenant (with ``audits`` as its
    directoryAudits) from ``server`` and writing to fresh Azurite tables, dropped afterwards."""
    server.data = {
        f"{group}.{name}": value
        for group in ("arm", "graph")
        for name, value in DRIFTED[group].items()
    }
    server.data["graph.directoryAudits"] = audits
    suffix = uuid.uuid4().hex[:10]
    settings = Settings(
        baselines_dir=str(ROOT / "baselines"),
        storage_connection=azurite,
        events_table=f"events{suffix}",
        incidents_table=f"incidents{suffix}",
        cursors_table=f"cursors{suffix}",
        arm_endpoint=server.arm_endpoint,
        graph_endpoint=server.graph_endpoint,
        ca_bundle=server.ca_file,
        subscriptions=(SUB,),
    )
    service = TableServiceClient.from_connection_string(azurite)
    memory = RecordingAlerts()
    rt = Runtime(
        settings,
        table_service=service,
        reader=CoalescingReader(snapshot_reader(_snapshot())),
        alerts=memory,
        credential=credential,
        summaries_table=f"summaries{suffix}",
    )
    runtime.install(rt)
    try:
        yield rt, memory
    finally:
        runtime.install(None)
        rt.close()
        for table in (
            settings.events_table,
            settings.incidents_table,
            settings.cursors_table,
            rt.summaries_table,
            rt.summaries_table + "counts",
        ):
            service.delete_table(table)
        service.close()


@pytest.fixture
def timer_app(
    azure_rest_server: AzureRestServer, token_credential: Any, azurite: str
) -> Iterator[tuple[Runtime, AzureRestServer, RecordingAlerts]]:
    audits = [
        r
        for r in json.loads((ROOT / "examples/events-burst.json").read_text())
        if "activityDisplayName" in r
    ]
    with installed_runtime(azure_rest_server, token_credential, azurite, audits) as (rt, memory):
        yield rt, azure_rest_server, memory


def _snapshot() -> Any:
    from driftkeeper import Snapshot

    return Snapshot.from_dict(DRIFTED)


def timer() -> func.TimerRequest:
    from azure.functions.timer import TimerRequest

    return TimerRequest(past_due=False)


def test_audit_poll_judges_new_records_once(
    functions: dict[str, Any], timer_app: tuple[Runtime, AzureRestServer, RecordingAlerts]
) -> None:
    rt, server, memory = timer_app
    server.data["graph.directoryAudits"][0]["activityDateTime"] = (
        datetime.now(UTC).isoformat().replace("+00:00", "Z")
    )
    poll = functions["audit_poll"].get_user_function()
    poll(timer())
    poll(timer())  # the same records again, inside the overlap window
    rows = Ledger(rt.table(rt.settings.events_table)).query(since=datetime(2026, 1, 1, tzinfo=UTC))
    # the policy went report-only: its baseline drifts, and the MFA guard fails at once
    drift = ["ca001-require-mfa-for-administrators-c0ffee00", "guard:ca-mfa-privileged-roles"]
    assert sorted(r.rule for r in rows if r.outcome == "drift") == drift
    assert sorted(memory.rules) == drift
    cursor = Cursors(rt.table(rt.settings.cursors_table)).get("directoryAudits")
    assert cursor is not None
    assert "IPCGraph_c0a1b2c3-0004-4000-8000-000000000004" in cursor
    assert any("auditLogs/directoryAudits" in r.path for r in server.requests)


def test_reconcile_reads_the_tenant_and_records_every_setting(
    functions: dict[str, Any], timer_app: tuple[Runtime, AzureRestServer, RecordingAlerts]
) -> None:
    rt, _, memory = timer_app
    functions["reconcile"].get_user_function()(timer())
    rows = Ledger(rt.table(rt.settings.events_table)).query(since=datetime(2020, 1, 1, tzinfo=UTC))
    drift = {r.rule for r in rows if r.outcome == "drift"}
    assert drift >= {
        "6f1c2a3b-rg-web-prod-nsg-web-prod",
        "guard:nsg-internet-management-ports",
        "guard:ca-mfa-privileged-roles",
        "ca001-require-mfa-for-administrators-c0ffee00",
        "subscription-6f1c2a3b-4d5e-4f60-8a91-b2c3d4e5f607",
    }
    assert sorted(memory.rules) == sorted(drift)
    assert sum(1 for r in rows if r.outcome == "compliant") > 10


def test_reconcile_then_summarizes_yesterday_and_today(
    functions: dict[str, Any], timer_app: tuple[Runtime, AzureRestServer, RecordingAlerts]
) -> None:
    rt, _, _ = timer_app
    functions["reconcile"].get_user_function()(timer())
    today = datetime.now(UTC).date()
    rows = Ledger(rt.table(rt.settings.events_table)).query(since=datetime(2020, 1, 1, tzinfo=UTC))
    days = rt.summaries().read(day_key(today - timedelta(days=1)), day_key(today))
    assert [d.day for d in days] == [day_key(today - timedelta(days=1)), day_key(today)]
    assert days[1].figures.events == sum(1 for r in rows if r.time.startswith(str(today)))
    assert days[1].figures.drift == sum(1 for r in rows if r.outcome == "drift")


def test_graph_throttling_then_outage_fails_the_poll_and_keeps_the_cursor(
    functions: dict[str, Any], timer_app: tuple[Runtime, AzureRestServer, RecordingAlerts]
) -> None:
    rt, server, _ = timer_app
    server.fail("/auditLogs/directoryAudits", 503, times=None, retry_after=None)
    rt._audit_reader = None
    from driftkeeper.live import AuditLogReader

    rt._audit_reader = AuditLogReader(
        rt.credential, graph_endpoint=server.graph_endpoint, max_retries=1, retry_delay=0
    )
    with pytest.raises(TransientReadError):
        functions["audit_poll"].get_user_function()(timer())
    assert Cursors(rt.table(rt.settings.cursors_table)).get("directoryAudits") is None


def test_reconcile_reads_through_resource_graph_above_the_threshold(
    functions: dict[str, Any],
    timer_app: tuple[Runtime, AzureRestServer, RecordingAlerts],
    azurite: str,
    token_credential: Any,
) -> None:
    from dataclasses import replace

    rt, server, _ = timer_app
    # more subscriptions watched than DRIFTKEEPER_RESOURCE_GRAPH_MIN_SUBSCRIPTIONS (0)
    settings = replace(rt.settings, resource_graph_min_subscriptions=0)
    with TableServiceClient.from_connection_string(azurite) as service:
        graph_rt = Runtime(
            settings,
            table_service=service,
            reader=CoalescingReader(snapshot_reader(_snapshot())),
            alerts=RecordingAlerts(),
            credential=token_credential,
            summaries_table=rt.summaries_table,
        )
        runtime.install(graph_rt)
        try:
            functions["reconcile"].get_user_function()(timer())
        finally:
            runtime.install(rt)
            graph_rt.close()
    posts = [r for r in server.requests if "resourcegraph" in r.path.lower()]
    assert posts
    assert all(r.status == 200 for r in posts)
    assert not [r for r in server.requests if r.path.lower().startswith("/subscriptions/")]
    rows = Ledger(rt.table(rt.settings.events_table)).query(since=datetime(2020, 1, 1, tzinfo=UTC))
    drift = {r.rule for r in rows if r.outcome == "drift"}
    assert drift >= {
        "6f1c2a3b-rg-web-prod-nsg-web-prod",
        "guard:nsg-internet-management-ports",
        "subscription-6f1c2a3b-4d5e-4f60-8a91-b2c3d4e5f607",
    }
