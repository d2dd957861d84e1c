"""Simultaneous deliveries through the registered ``arm_events`` function, on Azurite, with a
local webhook as Teams: every incident is alerted exactly once (issue 7, item 1), by one
Function App instance or by two sharing the store, and an alert whose sender died after
claiming it is sent by a later delivery once the claim has expired."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.data.tables import TableServiceClient

from driftkeeper import Snapshot, runtime
from driftkeeper.incident_policy import CLAIM_LEASE
from driftkeeper.live import CoalescingReader, snapshot_reader
from driftkeeper.runtime import Runtime
from driftkeeper.store import Incidents
from driftkeeper.store._incidents import row_from_entity
from tests.fakes.azurite import drop_app_tables
from tests.fakes.receivers import HttpReceiver
from tests.handlers.test_resource_events import (
    ROOT,
    burst,
    grid_event,
    install_runtime,
    rows,
)

DELIVERIES = 8
TRIALS = 6
NSG_RULE = "6f1c2a3b-rg-web-prod-nsg-web-prod"


def first_drifts(trial: int, count: int = DELIVERIES) -> list[dict[str, Any]]:
    """``count`` distinct events of the same first drift of one NSG (the RDP rule added)."""
    [template] = [e for e in burst() if e["subject"].endswith("allow-rdp-temp")][:1]
    events = []
    for n in range(count):
        doc = json.loads(json.dumps(template))
        doc["id"] = f"8f1d2a10-{trial:04d}-4c55-9a51-{n:012d}"
        doc["eventTime"] = f"2026-11-22T03:01:{12 + n:02d}.0000000Z"
        doc["data"]["correlationId"] = f"c0a1b2c3-{trial:04d}-4000-8000-{n:012d}"
        events.append(doc)
    return events


def reader() -> CoalescingReader:
    return CoalescingReader(
        snapshot_reader(Snapshot.from_file(ROOT / "examples/tenant-drifted.json"))
    )


def at_once(calls: Sequence[Callable[[], None]]) -> list[BaseException]:
    """Run ``calls`` in threads released together by a barrier; the exceptions raised."""
    barrier = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def run(call: Callable[[], None]) -> None:
        barrier.wait()
        try:
            call()
        except BaseException as exc:  # collected: the test asserts there is none
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def incidents(rt: Runtime) -> list[Any]:
    """Every drift incident of the runtime's incident table."""
    table = rt.table(rt.settings.incidents_table)
    found = [row_from_entity(e).drift for e in table.list_entities()]
    return [i for i in found if i is not None]


def posts_per_incident(rt: Runtime, receiver: HttpReceiver, path: str) -> dict[str, int]:
    """Teams posts to ``path`` counted per incident (each card names its rule)."""
    bodies = [r.body.decode() for r in receiver.requests_to(path)]
    counted: Counter[str] = Counter()
    for body in bodies:
        named = [i.rule for i in incidents(rt) if json.dumps(i.rule)[1:-1] in body]
        counted[max(named, key=len) if named else "(none)"] += 1
    return {i.rule: counted[i.rule] for i in incidents(rt)} | (
        {"(unattributed)": counted["(none)"]} if counted["(none)"] else {}
    )


def assert_alerted_once(rt: Runtime, receiver: HttpReceiver, path: str, docs: list[Any]) -> None:
    found = incidents(rt)
    assert NSG_RULE in {i.rule for i in found}
    assert len(found) == 2  # the baseline and the NSG guard
    assert posts_per_incident(rt, receiver, path) == {i.rule: 1 for i in found}
    for incident in found:
        assert [d["ok"] for d in incident.deliveries] == [True]
        assert incident.claim is None
    keys = [(r.signal_id, r.setting, r.rule) for r in rows(rt)]
    assert len(keys) == len(set(keys))
    assert {(s, r) for s, _, r in keys} == {(d["id"], i.rule) for d in docs for i in found}


@pytest.fixture
def store(azurite: str) -> Iterator[TableServiceClient]:
    service = TableServiceClient.from_connection_string(azurite, retry_total=0)
    yield service
    drop_app_tables(service)
    runtime.install(None)


@pytest.fixture
def per_thread(monkeypatch: pytest.MonkeyPatch) -> threading.local:
    """Which Function App instance a thread is (``.runtime``); the process's otherwise."""
    local = threading.local()
    installed = runtime.current
    monkeypatch.setattr(runtime, "current", lambda: getattr(local, "runtime", None) or installed())
    return local


def test_simultaneous_first_drifts_alert_each_incident_once(
    functions: dict[str, Any], store: TableServiceClient, azurite: str, http_receiver: HttpReceiver
) -> None:
    arm_events = functions["arm_events"].get_user_function()
    for trial in range(TRIALS):
        # given fresh tables, when 8 distinct events of one first drift arrive together
        path = f"/workflows/teams{trial}"
        rt = install_runtime(azurite, reader(), http_receiver.url + path, table_service=store)
        docs = first_drifts(trial)
        errors = at_once([lambda doc=doc: arm_events(grid_event(doc)) for doc in docs])
        # then nothing failed, each incident was posted once and every event left its rows
        assert errors == []
        assert_alerted_once(rt, http_receiver, path, docs)


def test_two_instances_sharing_the_store_alert_each_incident_once(
    functions: dict[str, Any],
    store: TableServiceClient,
    azurite: str,
    http_receiver: HttpReceiver,
    per_thread: threading.local,
) -> None:
    arm_events = functions["arm_events"].get_user_function()
    for trial in range(TRIALS):
        path = f"/workflows/teams-two{trial}"
        first = install_runtime(azurite, reader(), http_receiver.url + path, table_service=store)
        # a second Function App instance: its own pipeline, clients and reader, same tables
        second = Runtime(
            first.settings,
            table_service=TableServiceClient.from_connection_string(azurite, retry_total=0),
            reader=reader(),
        )
        docs = first_drifts(trial)

        def on(instance: Runtime, doc: dict[str, Any]) -> Callable[[], None]:
            def call() -> None:
                per_thread.runtime = instance
                arm_events(grid_event(doc))

            return call

        errors = at_once([on((first, second)[n % 2], doc) for n, doc in enumerate(docs)])
        second.table_service.close()
        assert errors == []
        assert first.pipeline() is not second.pipeline()
        assert_alerted_once(first, http_receiver, path, docs)


class ProcessDied(BaseException):
    """The process ending between the claim and the delivery (not a delivery failure)."""


def test_a_claim_whose_sender_died_is_sent_by_a_later_delivery_after_it_expires(
    functions: dict[str, Any], store: TableServiceClient, azurite: str, http_receiver: HttpReceiver
) -> None:
    arm_events = functions["arm_events"].get_user_function()
    path = "/workflows/teams-died"
    rt = install_runtime(azurite, reader(), http_receiver.url + path, table_service=store)
    now = [datetime(2026, 11, 22, 3, 2, tzinfo=UTC)]
    pipeline = rt.pipeline()
    pipeline.incidents = Incidents(rt.table(rt.settings.incidents_table), clock=lambda: now[0])
    sink = pipeline.alerts
    assert sink is not None

    class DiesOnSend:
        def alert(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
            raise ProcessDied

        def publish(self, judged: Any) -> None:
            sink.publish(judged)

    first, second, third = first_drifts(99, 3)
    # given the first delivery claims its alerts, and the process dies before sending them
    pipeline.alerts = DiesOnSend()
    with pytest.raises(ProcessDied):
        arm_events(grid_event(first))
    pipeline.alerts = sink
    [claimed] = incidents(rt)  # it died on the first incident's alert
    assert claimed.claim is not None
    assert claimed.deliveries == ()
    # when another delivery comes while the claim is fresh, it holds that alert back
    now[0] += CLAIM_LEASE / 2
    arm_events(grid_event(second))
    posted = posts_per_incident(rt, http_receiver, path)
    assert posted[claimed.rule] == 0
    assert sorted(posted.values()) == [0, 1]  # the other incident opened now: alerted
    # and one after the claim expired sends what was never sent, once per incident
    now[0] += CLAIM_LEASE
    arm_events(grid_event(third))
    found = incidents(rt)
    assert posts_per_incident(rt, http_receiver, path) == {i.rule: 1 for i in found}
    assert all(i.claim is None and [d["ok"] for d in i.deliveries] == [True] for i in found)
    # and a redelivery of the first event (Event Grid retrying the crash) sends nothing more
    now[0] += timedelta(minutes=1)
    arm_events(grid_event(first))
    assert len(http_receiver.requests_to(path)) == len(found)


def test_one_event_delivered_many_times_at_once_alerts_each_incident_once(
    functions: dict[str, Any], store: TableServiceClient, azurite: str, http_receiver: HttpReceiver
) -> None:
    # Event Grid delivers at least once: the same event may arrive again while it is handled
    arm_events = functions["arm_events"].get_user_function()
    for trial in range(TRIALS // 2):
        path = f"/workflows/teams-same{trial}"
        rt = install_runtime(azurite, reader(), http_receiver.url + path, table_service=store)
        [doc] = first_drifts(trial, 1)
        errors = at_once([lambda doc=doc: arm_events(grid_event(doc))] * DELIVERIES)
        assert errors == []
        assert_alerted_once(rt, http_receiver, path, [doc])
