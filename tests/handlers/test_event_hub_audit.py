"""Entra audit records through both paths against the same Azurite tables: streamed by the
diagnostic setting to the Event Hub (``hub_events``) and polled from Graph (``audit_poll``,
the default and the backstop). Either order, or both at once, gives one row per (record,
setting, rule) and one alert per incident."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from driftkeeper._hub import parse_message
from driftkeeper.intake import parse_event
from driftkeeper.runtime import Runtime
from driftkeeper.store import Ledger
from tests.builders import corpus
from tests.fakes.alerts import RecordingAlerts
from tests.fakes.azure_rest import AzureRestServer
from tests.handlers.test_concurrent_alerts import at_once
from tests.handlers.test_event_hub import hub_message
from tests.handlers.test_timers import ROOT, installed_runtime, timer

SINCE = datetime(2000, 1, 1, tzinfo=UTC)
DRIFT = ["ca001-require-mfa-for-administrators-c0ffee00", "guard:ca-mfa-privileged-roles"]
"""What the burst's audit record (the CA policy set to report-only) drifts."""


def audit_record(when: datetime) -> dict[str, Any]:
    """The burst's directoryAudit record (the Graph shape the poll reads), at ``when``."""
    events = json.loads((ROOT / "examples/events-burst.json").read_text())
    [record] = [copy.deepcopy(e) for e in events if "activityDisplayName" in e]
    record["activityDateTime"] = when.strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
    return record


def streamed(record: dict[str, Any], *, numeric: bool = True) -> dict[str, Any]:
    """``record`` as the diagnostic setting streams it: the docs' ``records`` envelope (its
    quirks kept: a numeric ``result``, a ``+00:00`` offset), with ``record`` as properties."""
    envelope = corpus("monitor/docs_entra_auditlogs_records_update_policy.json")
    [entry] = envelope["records"]
    properties = copy.deepcopy(record)
    if numeric:
        properties["result"] = {"success": 0, "failure": 1}[record["result"]]
        properties["activityDateTime"] = record["activityDateTime"].replace("Z", "+00:00")
    entry.update(
        time=record["activityDateTime"],
        operationName=record["activityDisplayName"],
        correlationId=record["correlationId"],
        properties=properties,
    )
    return envelope


@pytest.fixture
def both(
    azure_rest_server: AzureRestServer, token_credential: Any, azurite: str
) -> Iterator[tuple[Runtime, AzureRestServer, RecordingAlerts]]:
    audits = [audit_record(datetime.now(UTC))]
    with installed_runtime(azure_rest_server, token_credential, azurite, audits) as (rt, memory):
        yield rt, azure_rest_server, memory


def rows(rt: Runtime) -> list[Any]:
    return Ledger(rt.table(rt.settings.events_table)).query(since=SINCE)


def assert_one_row_each_and_alerted_once(rt: Runtime, memory: RecordingAlerts, ident: str) -> None:
    found = [r for r in rows(rt) if r.signal_id == ident]
    keys = [(r.signal_id, r.setting, r.rule) for r in found]
    assert len(keys) == len(set(keys))
    assert sorted(r.rule for r in found if r.outcome == "drift") == DRIFT
    assert sorted(memory.rules) == DRIFT


def test_the_docs_sample_maps_onto_the_directory_audit_the_poll_reads() -> None:
    body = json.dumps(corpus("monitor/docs_entra_auditlogs_records_update_policy.json")).encode()
    [signal], skipped = parse_message(body)
    properties = corpus("monitor/docs_entra_auditlogs_records_update_policy.json")["records"][0][
        "properties"
    ]
    graph = {**properties, "result": "success", "activityDateTime": "2018-12-10T00:03:46.6161822Z"}
    assert signal == parse_event(graph)
    assert skipped == 0
    assert (signal.id, signal.source, signal.status) == (
        "Directory_VNXV4_28148892",
        "audit",
        "succeeded",
    )
    assert signal.targets == ("policy:5e7a8ae7-165d-44a4-a4f4-6141f8c8ef40",)


@pytest.mark.parametrize("numeric", [True, False], ids=["docs quirks", "graph spelling"])
def test_a_streamed_record_is_the_signal_the_poll_makes(numeric: bool) -> None:
    record = audit_record(datetime(2026, 11, 22, 2, 58, 13, tzinfo=UTC))
    [signal], _ = parse_message(json.dumps(streamed(record, numeric=numeric)).encode())
    assert signal == parse_event(record)


def test_records_of_other_categories_are_skipped() -> None:
    record = audit_record(datetime(2026, 11, 22, 2, 58, 13, tzinfo=UTC))
    envelope = streamed(record)
    sign_in = {**envelope["records"][0], "category": "SignInLogs"}
    users = copy.deepcopy(envelope["records"][0])
    users["properties"]["category"] = "UserManagement"  # the poll does not ask Graph for it
    parsed, skipped = parse_message(json.dumps({"records": [sign_in, users]}).encode())
    assert (parsed, skipped) == ([], 2)


def hub_then_poll(functions: dict[str, Any], envelope: dict[str, Any]) -> list[Callable[[], None]]:
    hub = functions["hub_events"].get_user_function()
    poll = functions["audit_poll"].get_user_function()
    return [lambda: hub([hub_message(envelope)]), lambda: poll(timer())]


@pytest.mark.parametrize("order", ["hub first", "poll first"])
def test_a_record_via_the_hub_and_via_the_poll_gives_one_row_and_one_alert(
    functions: dict[str, Any],
    both: tuple[Runtime, AzureRestServer, RecordingAlerts],
    order: str,
) -> None:
    rt, server, memory = both
    [record] = server.data["graph.directoryAudits"]
    calls = hub_then_poll(functions, streamed(record))
    for call in calls if order == "hub first" else calls[::-1]:
        call()
    for call in calls:  # and each path delivers it once more (at least once; the overlap)
        call()
    assert_one_row_each_and_alerted_once(rt, memory, record["id"])


def test_duplicate_deliveries_across_both_paths_at_once_alert_once(
    functions: dict[str, Any], both: tuple[Runtime, AzureRestServer, RecordingAlerts]
) -> None:
    rt, server, memory = both
    [record] = server.data["graph.directoryAudits"]
    hub = functions["hub_events"].get_user_function()
    poll = functions["audit_poll"].get_user_function()
    envelope = streamed(record)
    # the record in four hub batches (one holding it twice) and three polls, released together
    calls: list[Callable[[], None]] = [
        lambda: hub([hub_message(envelope, 1)]),
        lambda: hub([hub_message(envelope, 2), hub_message(envelope, 3)]),
        lambda: hub([hub_message(streamed(record, numeric=False), 4)]),
        lambda: hub([hub_message({"records": envelope["records"] * 2}, 5)]),
        *[lambda: poll(timer()) for _ in range(3)],
    ]
    errors = at_once(calls)
    assert errors == []
    assert_one_row_each_and_alerted_once(rt, memory, record["id"])
