"""The Event Grid triggers, called as the host calls them, with Azurite as the event table
and a local webhook as Teams."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from azure.core.exceptions import AzureError
from azure.data.tables import TableServiceClient

from driftkeeper import Snapshot, TransientReadError, runtime
from driftkeeper.config import AlertSettings, Settings
from driftkeeper.live import CoalescingReader, ResourceReader, snapshot_reader
from driftkeeper.runtime import Runtime
from driftkeeper.store import Incidents, Ledger
from tests.builders import corpus
from tests.fakes.azure_rest import AzureRestServer
from tests.fakes.azurite import TcpProxy, drop_app_tables
from tests.fakes.receivers import HttpReceiver

ROOT = Path(__file__).resolve().parents[2]
SELF_APP = "d1f7c0de-0000-4000-8000-00000000d12f"
SINCE = datetime(2000, 1, 1, tzinfo=UTC)


def burst() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = json.loads((ROOT / "examples/events-burst.json").read_text())
    return [e for e in events if "eventType" in e]  # the Event Grid schema ones


def grid_event(doc: dict[str, Any]) -> func.EventGridEvent:
    return func.EventGridEvent(
        id=doc["id"],
        data=doc.get("data"),
        topic=doc.get("topic"),
        subject=doc.get("subject"),
        event_type=doc.get("eventType"),
        event_time=datetime.fromisoformat(doc["eventTime"][:26]).replace(tzinfo=UTC)
        if doc.get("eventTime")
        else None,
        data_version=doc.get("dataVersion"),
    )


def install_runtime(
    connection: str, reader: Any, webhook: str, *, table_service: TableServiceClient
) -> Runtime:
    suffix = uuid.uuid4().hex[:12]
    alerts = AlertSettings.from_env(
        {
            "DRIFTKEEPER_TEAMS_WEBHOOK_URL": webhook,
            "DRIFTKEEPER_ALERT_ROUTES": '{"critical": ["teams"], "high": ["teams"]}',
        }
    )
    settings = Settings(
        baselines_dir=str(ROOT / "baselines"),
        self_ids=frozenset({SELF_APP}),
        events_table=f"events{suffix}",
        incidents_table=f"incidents{suffix}",
        cursors_table=f"cursors{suffix}",
        storage_connection=connection,
        alerts=alerts,
    )
    rt = Runtime(settings, table_service=table_service, reader=reader)  # alerts from settings
    runtime.install(rt)
    return rt


@pytest.fixture
def store(azurite_proxy: TcpProxy) -> Iterator[TableServiceClient]:
    # no SDK retries: a store outage must fail the invocation at once
    service = TableServiceClient.from_connection_string(
        azurite_proxy.connection_string, retry_total=0
    )
    yield service
    drop_app_tables(service)
    runtime.install(None)


@pytest.fixture
def app(azurite_proxy: TcpProxy, store: TableServiceClient, http_receiver: HttpReceiver) -> Runtime:
    reader = CoalescingReader(
        snapshot_reader(Snapshot.from_file(ROOT / "examples/tenant-drifted.json"))
    )
    return install_runtime(
        azurite_proxy.connection_string,
        reader,
        f"{http_receiver.url}/workflows/teams",
        table_service=store,
    )


def rows(rt: Runtime) -> list[Any]:
    return Ledger(rt.table(rt.settings.events_table)).query(since=SINCE)


def deliveries(rt: Runtime, row: Any) -> list[dict[str, Any]]:
    """The alert deliveries recorded (on its incident) for an event-table row."""
    incident = Incidents(rt.table(rt.settings.incidents_table)).get(row.resource, row.rule)
    return [dict(d) for d in incident.deliveries if d["signalId"] == row.signal_id]


def deliver(
    functions: dict[str, Any], docs: list[dict[str, Any]], name: str = "arm_events"
) -> None:
    for doc in docs:
        functions[name].get_user_function()(grid_event(doc))


def test_the_app_lists_every_trigger(functions: dict[str, Any]) -> None:
    assert sorted(functions) == [
        "approvals",
        "arm_events",
        "audit_poll",
        "compliance",
        "dashboard",
        "events",
        "graph_events",
        "health",
        "hub_events",
        "reconcile",
    ]


def test_a_burst_is_recorded_once_and_alerted_once(
    functions: dict[str, Any], app: Runtime, http_receiver: HttpReceiver
) -> None:
    # when the burst arrives, and then Event Grid delivers all of it again
    deliver(functions, burst())
    first = rows(app)
    posts = http_receiver.requests_to("/workflows/teams")
    deliver(functions, burst())
    # then every event left its rows once, and the RDP rule alerted once (baseline + guard)
    again = rows(app)
    assert len(again) == len(first)
    assert {r.outcome for r in first} == {"drift", "compliant", "ignored", "self", "invalid"}
    assert len(posts) == 2
    assert len(http_receiver.requests_to("/workflows/teams")) == 2
    card = json.dumps(json.loads(posts[0].body))
    assert "allow-rdp-temp" in card
    assert "mallory@contoso.example" not in card  # the actor, shown defanged (not a link)
    assert "mallory\\\\[@\\\\]contoso\\\\[.\\\\]example" in card


def test_the_row_records_who_and_what(functions: dict[str, Any], app: Runtime) -> None:
    deliver(functions, burst()[:1])
    [nsg] = [r for r in rows(app) if r.rule == "6f1c2a3b-rg-web-prod-nsg-web-prod"]
    assert (nsg.outcome, nsg.severity, nsg.actor_upn, nsg.actor_ip) == (
        "drift",
        "high",
        "mallory@contoso.example",
        "203.0.113.45",
    )
    assert nsg.correlation_id == "c0a1b2c3-0001-4000-8000-000000000001"
    assert [(d["channel"], d["ok"]) for d in deliveries(app, nsg)] == [("teams", True)]
    assert nsg.changes[0].path == "rules[allow-rdp-temp]"


def test_store_outage_mid_burst_fails_the_trigger_and_the_retry_records_once(
    functions: dict[str, Any], app: Runtime, azurite_proxy: TcpProxy, http_receiver: HttpReceiver
) -> None:
    events = burst()
    deliver(functions, events[:3])
    # given the store goes away mid-burst
    azurite_proxy.refuse()
    with pytest.raises(AzureError):
        deliver(functions, [events[3]])
    # when it comes back, Event Grid retries the failed event, then the rest arrives
    azurite_proxy.up()
    deliver(functions, events[3:])
    deliver(functions, events)  # and a full redelivery for good measure
    keys = [(r.signal_id, r.setting, r.rule) for r in rows(app)]
    assert len(keys) == len(set(keys))
    assert {r.signal_id for r in rows(app)} >= {e["id"] for e in events}
    assert len(http_receiver.requests_to("/workflows/teams")) == 2


def test_graph_notification_arrives_as_a_cloud_event(
    functions: dict[str, Any], app: Runtime
) -> None:
    # partner topics deliver CloudEvents 1.0: the host hands the trigger a func.CloudEvent
    note = corpus("eventgrid/graph_partner_microsoft_graph_user_deleted.json")
    event = func.CloudEvent(
        id=note["id"],
        source=note["source"],
        type=note["type"],
        specversion=note["specversion"],
        data=note["data"],
        time=datetime.fromisoformat(note["time"][:26]).replace(tzinfo=UTC),
        subject=note["subject"],
    )
    functions["graph_events"].get_user_function()(event)
    [row] = [r for r in rows(app) if r.signal_id == note["id"]]
    assert row.outcome == "ignored"  # a user who holds no watched role
    assert row.event_type == "Microsoft.Graph.UserDeleted"


def test_a_redelivery_keeps_the_alert_deliveries_once(
    functions: dict[str, Any], app: Runtime
) -> None:
    deliver(functions, burst()[:1])
    deliver(functions, burst()[:1])
    [nsg] = [r for r in rows(app) if r.rule == "6f1c2a3b-rg-web-prod-nsg-web-prod"]
    assert [d["channel"] for d in deliveries(app, nsg)] == ["teams"]


@pytest.fixture
def live_app(
    azure_rest_server: AzureRestServer,
    token_credential: Any,
    azurite: str,
    http_receiver: HttpReceiver,
) -> Iterator[tuple[Runtime, AzureRestServer]]:
    azure_rest_server.data = {
        "arm.networkSecurityGroups": json.loads(
            (ROOT / "examples/tenant-drifted.json").read_text()
        )["arm"]["networkSecurityGroups"],
    }
    inner = ResourceReader(
        token_credential,
        arm_endpoint=azure_rest_server.arm_endpoint,
        graph_endpoint=azure_rest_server.graph_endpoint,
        connection_verify=azure_rest_server.ca_file,
        max_retries=1,
        retry_delay=0,
    )
    service = TableServiceClient.from_connection_string(azurite)
    rt = install_runtime(
        azurite,
        CoalescingReader(inner, window=0),
        f"{http_receiver.url}/workflows/teams",
        table_service=service,
    )
    yield rt, azure_rest_server
    inner.close()
    drop_app_tables(service)
    runtime.install(None)


def test_arm_throttling_and_outage(
    functions: dict[str, Any], live_app: tuple[Runtime, AzureRestServer]
) -> None:
    rt, server = live_app
    rdp = burst()[0]
    nsg_path = rdp["data"]["resourceUri"].split("/securityRules/")[0]
    # a 429 with Retry-After is retried by the SDK and the event is judged
    server.fail(nsg_path, 429, times=1, retry_after=1)
    deliver(functions, [rdp])
    assert any(r.outcome == "drift" for r in rows(rt))
    # a persistent 503 fails the trigger (Event Grid retries) and records nothing new
    before = len(rows(rt))
    later = dict(rdp, id="another-event")
    server.fail(nsg_path, 503, times=None, retry_after=None)
    with pytest.raises(TransientReadError):
        deliver(functions, [later])
    assert len(rows(rt)) == before


@pytest.mark.parametrize(
    ("change", "reason"),
    [({"id": 12345}, "id must be a string"), ({"subject": "/s" * 5000}, "subject longer than")],
    ids=["id a number", "huge subject"],
)
def test_a_hostile_event_is_recorded_invalid_and_acknowledged(
    functions: dict[str, Any], app: Runtime, change: dict[str, Any], reason: str
) -> None:
    doc = {**burst()[0], **change}
    functions["arm_events"].get_user_function()(grid_event(doc))  # no exception: no retry
    [row] = [r for r in rows(app) if r.outcome == "invalid" and reason in r.message]
    assert row.source == "eventgrid"
