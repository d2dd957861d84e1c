"""The Event Hubs trigger, called as the host calls it (a list of ``EventHubEvent``), with Azurite
as the store and a local webhook as Teams: Event Grid events in batches give the rows and the
alerts the Event Grid trigger gives one event at a time; malformed messages are recorded
``invalid`` and acknowledged; a store outage fails the batch and its retry doubles nothing."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import azure.functions as func
import pytest
from azure.core.exceptions import AzureError
from azure.data.tables import TableServiceClient

from driftkeeper import Snapshot, runtime
from driftkeeper.live import CoalescingReader, snapshot_reader
from driftkeeper.runtime import Runtime
from tests.builders import corpus
from tests.fakes.alerts import RecordingAlerts
from tests.fakes.azurite import TcpProxy
from tests.fakes.counting import CountingTable
from tests.fakes.receivers import HttpReceiver
from tests.handlers.test_concurrent_alerts import assert_alerted_once, at_once, first_drifts
from tests.handlers.test_resource_events import ROOT, burst, deliver, install_runtime, rows

ENQUEUED = datetime(2026, 11, 22, 3, 5, tzinfo=UTC)


def hub_message(payload: Any, sequence: int = 0) -> func.EventHubEvent:
    """One Event Hub message as the worker hands it over (``payload``: JSON, or raw bytes)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return func.EventHubEvent(
        body=body,
        enqueued_time=ENQUEUED,
        sequence_number=sequence,
        partition_key=None,
        offset=str(sequence * 512),
    )


def batches(docs: Sequence[Any], size: int) -> list[list[func.EventHubEvent]]:
    """``docs`` as Event Grid delivers them to an Event Hub (one event a message), ``size``
    messages a batch."""
    messages = [hub_message(doc, n) for n, doc in enumerate(docs)]
    return [messages[i : i + size] for i in range(0, len(messages), size)]


def drifted() -> CoalescingReader:
    return CoalescingReader(
        snapshot_reader(Snapshot.from_file(ROOT / "examples/tenant-drifted.json"))
    )


def hub(functions: dict[str, Any], messages: list[func.EventHubEvent]) -> None:
    functions["hub_events"].get_user_function()(messages)


def row_keys(rt: Runtime) -> list[tuple[str, str, str, str]]:
    return sorted((r.signal_id, r.setting, r.rule, r.outcome) for r in rows(rt))


@pytest.fixture
def store(azurite_proxy: TcpProxy) -> Any:
    service = TableServiceClient.from_connection_string(
        azurite_proxy.connection_string, retry_total=0
    )
    yield service
    from tests.fakes.azurite import drop_app_tables

    drop_app_tables(service)
    runtime.install(None)


def test_the_trigger_is_an_event_hub_batch_trigger_with_a_retry_policy(
    functions: dict[str, Any],
) -> None:
    hub_events = functions["hub_events"]
    [binding] = json.loads(hub_events.get_function_json())["bindings"]
    assert binding["type"] == "eventHubTrigger"
    assert binding["cardinality"] == "MANY"
    assert binding["connection"] == "DRIFTKEEPER_EVENT_HUB"
    assert binding["eventHubName"] == "%DRIFTKEEPER_EVENT_HUB_NAME%"
    [retry] = [s.get_dict_repr() for s in hub_events._settings if s.setting_name == "retry_policy"]
    assert retry["max_retry_count"] == "-1"  # a transient failure never skips a batch


@pytest.mark.parametrize("size", [1, 10, 100])
def test_event_grid_events_in_batches_give_the_rows_and_alerts_of_the_event_grid_trigger(
    functions: dict[str, Any],
    azurite_proxy: TcpProxy,
    store: TableServiceClient,
    http_receiver: HttpReceiver,
    size: int,
) -> None:
    connection = azurite_proxy.connection_string
    # given the burst through the Event Grid trigger, one event an invocation
    grid = install_runtime(
        connection, drifted(), f"{http_receiver.url}/grid{size}", table_service=store
    )
    deliver(functions, burst())
    # when the same burst comes through the Event Hub, in batches, and again (at least once)
    hubbed = install_runtime(
        connection, drifted(), f"{http_receiver.url}/hub{size}", table_service=store
    )
    for _ in range(2):
        for batch in batches(burst(), size):
            hub(functions, batch)
    # then the same rows (one per signal, setting and rule) and the same alerts, once
    assert row_keys(hubbed) == row_keys(grid)
    assert len(row_keys(hubbed)) == len(set(row_keys(hubbed)))
    assert (
        len(http_receiver.requests_to(f"/hub{size}"))
        == len(http_receiver.requests_to(f"/grid{size}"))
        == 2
    )


def test_a_message_may_hold_an_array_of_events_or_cloud_events(
    functions: dict[str, Any],
    azurite_proxy: TcpProxy,
    store: TableServiceClient,
    http_receiver: HttpReceiver,
) -> None:
    rt = install_runtime(
        azurite_proxy.connection_string, drifted(), f"{http_receiver.url}/arr", table_service=store
    )
    # the docs' subscription-topic batch (an array) and a CloudEvent, each as one message
    array = corpus("eventgrid/docs_subscription_topic_resource_write_success.json")
    cloud = corpus("eventgrid/cloudevents_resource_write_success.json")
    hub(functions, [hub_message(array, 1), hub_message(cloud, 2), hub_message(burst()[:3], 3)])
    ids = {r.signal_id for r in rows(rt)}
    assert {e["id"] for e in array} | {cloud["id"]} | {e["id"] for e in burst()[:3]} <= ids
    assert not [r for r in rows(rt) if r.outcome == "invalid"]


MALFORMED: list[tuple[bytes, str]] = [
    (b"\xff\xfe not utf-8", "not UTF-8 JSON"),
    (b'{"records": [', "not UTF-8 JSON"),
    (b"42", "JSON int"),
    (b'{"records": {"category": "AuditLogs"}}', '"records" is a JSON dict'),
    (b'{"records": [{"category": "AuditLogs", "properties": "{"}]}', "properties are not JSON"),
    (
        b'{"records": [{"category": "AuditLogs", "properties": {"category": "Policy"}}]}',
        "without id",
    ),
    (b'{"records": [17]}', "diagnostic record is a JSON int"),
    (b'{"eventType": "Microsoft.Resources.ResourceWriteSuccess"}', "missing id"),
]


def test_malformed_messages_are_recorded_invalid_and_acknowledged_once(
    functions: dict[str, Any],
    azurite_proxy: TcpProxy,
    store: TableServiceClient,
    http_receiver: HttpReceiver,
) -> None:
    rt = install_runtime(
        azurite_proxy.connection_string, drifted(), f"{http_receiver.url}/bad", table_service=store
    )
    messages = [hub_message(body, n) for n, (body, _) in enumerate(MALFORMED)]
    good = hub_message(burst()[0], len(MALFORMED))
    # when a batch mixes malformed messages with a good event, and is delivered twice
    hub(functions, [*messages, good])  # no exception: nothing to retry
    first = row_keys(rt)
    hub(functions, [*messages, good])
    # then each malformed message is one invalid row with its reason, the event is judged
    invalid = [r for r in rows(rt) if r.outcome == "invalid"]
    for _, reason in MALFORMED:
        assert [r for r in invalid if reason in r.message], reason
    assert len(invalid) == len(MALFORMED)
    assert "drift" in {r.outcome for r in rows(rt) if r.signal_id == burst()[0]["id"]}
    assert row_keys(rt) == first  # the redelivery rewrote the same rows
    assert len(http_receiver.requests_to("/bad")) == 2


def test_store_outage_fails_the_batch_and_the_retry_records_and_alerts_once(
    functions: dict[str, Any],
    azurite_proxy: TcpProxy,
    store: TableServiceClient,
    http_receiver: HttpReceiver,
) -> None:
    rt = install_runtime(
        azurite_proxy.connection_string, drifted(), f"{http_receiver.url}/out", table_service=store
    )
    [first, rest] = batches(burst(), 14)
    hub(functions, first)
    # given the store goes away, the next batch fails (the retry policy runs it again)
    azurite_proxy.refuse()
    with pytest.raises(AzureError):
        hub(functions, rest)
    # when it comes back, the retry and a redelivery of everything record each row once
    azurite_proxy.up()
    hub(functions, rest)
    hub(functions, [*first, *rest])
    keys = [(r.signal_id, r.setting, r.rule) for r in rows(rt)]
    assert len(keys) == len(set(keys))
    assert {r.signal_id for r in rows(rt)} >= {e["id"] for e in burst()}
    assert len(http_receiver.requests_to("/out")) == 2


class CountedRuntime(Runtime):
    """A runtime whose tables count their operations (``tests/fakes/counting.py``)."""

    def _table(self, name: str) -> Any:
        if name not in self._tables:
            self._tables[name] = CountingTable(super()._table(name))
        return self._tables[name]


def test_a_batch_reads_each_incident_once_and_writes_each_row_once(
    functions: dict[str, Any], azurite_proxy: TcpProxy, store: TableServiceClient
) -> None:
    docs = burst()
    probe = install_runtime(
        azurite_proxy.connection_string, drifted(), "https://example.invalid/x", table_service=store
    )
    rt = CountedRuntime(
        probe.settings, table_service=store, reader=drifted(), alerts=RecordingAlerts()
    )
    runtime.install(rt)
    rt.pipeline()
    incidents = rt.table(rt.settings.incidents_table)
    events = rt.table(rt.settings.events_table)
    incidents.reset()
    events.reset()
    # when the whole burst arrives as one batch
    hub(functions, [hub_message(doc, n) for n, doc in enumerate(docs)])
    # then one incident read per (setting, rule) judged, one write per row, one transaction
    judged = {
        (r.resource, r.rule)
        for r in rows(rt)
        if r.rule and r.outcome in ("drift", "compliant", "error")
    }
    assert incidents.ops["get"] == len(judged)
    assert events.ops["txn"] == 1
    writes = sum(n for op, n in events.ops.items() if op in ("create", "update", "upsert"))
    assert writes == len(events.rows) == len(rows(rt))


def test_simultaneous_batches_of_one_drift_alert_each_incident_once(
    functions: dict[str, Any],
    azurite_proxy: TcpProxy,
    store: TableServiceClient,
    http_receiver: HttpReceiver,
) -> None:
    for trial in range(4):
        # given fresh tables, when four batches, each of three distinct events of the same
        # first drift, arrive together (the incident rows are written concurrently)
        path = f"/hub-race{trial}"
        rt = install_runtime(
            azurite_proxy.connection_string,
            drifted(),
            http_receiver.url + path,
            table_service=store,
        )
        docs = first_drifts(trial, 12)
        calls = [
            lambda group=docs[n : n + 3]: hub(
                functions, [hub_message(d, i) for i, d in enumerate(group)]
            )
            for n in range(0, 12, 3)
        ]
        assert at_once(calls) == []
        # then each incident was posted once, and every event left its rows once
        assert_alerted_once(rt, http_receiver, path, docs)
