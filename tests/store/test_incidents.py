"""Incident state on Azurite: lifecycle, retries, out-of-order events, concurrent deliveries,
read errors in the same row, and what one judged row costs the table."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.data.tables import TableClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from driftkeeper._model import EventRecord
from driftkeeper.incident_policy import READ_ERROR, Observation
from driftkeeper.store import Incidents, Transition, incident_keys
from tests.fakes.counting import CountingTable

from .records import NSG, event, row_count

RULE = "nsg-web-prod"
OK = [{"channel": "teams", "ok": True, "attempts": 1, "error": ""}]


def at(hour: int, outcome: str = "drift", **fields: str) -> EventRecord:
    return event(time=f"2026-07-01T{hour:02d}:00:00Z", outcome=outcome, **fields)


def test_lifecycle_opened_updated_resolved_reopened(table: TableClient) -> None:
    incidents = Incidents(table)
    first, second, fixed, again = at(1), at(2, message="still open"), at(3, "compliant"), at(6)

    assert incidents.observe(first).transition == "opened"
    assert incidents.observe(second).transition == "updated"
    updated = incidents.get(NSG, RULE)
    assert (updated.status, updated.count, updated.generation) == ("open", 2, 1)
    assert (updated.opened_at, updated.last_seen) == (first.time, second.time)
    assert (updated.last_signal_id, updated.last_message) == (second.signal_id, "still open")

    assert incidents.observe(fixed).transition == "resolved"
    resolved = incidents.get(NSG, RULE)
    assert (resolved.status, resolved.resolved_at, resolved.count) == ("resolved", fixed.time, 2)
    assert incidents.observe(at(5, "compliant")).transition == "unchanged"

    assert incidents.observe(again).transition == "opened"
    reopened = incidents.get(NSG, RULE)
    assert (reopened.status, reopened.count, reopened.generation) == ("open", 1, 2)
    assert reopened.resolved_at == ""
    assert row_count(table) == 1


def test_compliant_without_an_incident_writes_nothing(table: TableClient) -> None:
    incidents = Incidents(table)
    assert incidents.observe(at(1, "compliant")).transition == "unchanged"
    assert row_count(table) == 0
    with pytest.raises(LookupError):
        incidents.get(NSG, RULE)


@pytest.mark.parametrize("outcome", ["ignored", "self", "invalid"])
def test_other_outcomes_never_change_an_incident(table: TableClient, outcome: str) -> None:
    incidents = Incidents(table)
    assert incidents.observe(at(1)).transition == "opened"
    assert incidents.observe(at(2, outcome)).transition == "unchanged"
    assert incidents.get(NSG, RULE).status == "open"


def test_a_failed_read_never_resolves_nor_updates_the_drift(table: TableClient) -> None:
    incidents = Incidents(table)
    opening = at(1)
    incidents.observe(opening)
    error = incidents.observe(at(2, "error", message="403 Forbidden"))
    assert (error.track, error.transition) == ("read-error", "opened")
    drift = incidents.get(NSG, RULE)
    assert (drift.status, drift.count, drift.last_signal_id) == ("open", 1, opening.signal_id)


def test_a_read_error_is_its_own_incident_in_the_same_row(table: TableClient) -> None:
    incidents = Incidents(table)
    # losing read access opens it and pages someone
    lost = incidents.observe(at(1, "error", message="403 Forbidden"))
    assert (lost.track, lost.transition, lost.alert) == ("read-error", "opened", "opened")
    with pytest.raises(LookupError):
        incidents.get(NSG, RULE)  # no drift incident
    error = incidents.get(NSG, RULE, read_error=True)
    assert (error.rule, error.status, error.last_message) == (
        RULE + READ_ERROR,
        "open",
        "403 Forbidden",
    )
    # a successful read (here: drift) resolves it, and opens the drift incident
    read = incidents.observe(at(2))
    assert (read.track, read.transition, read.read_error) == ("drift", "opened", "resolved")
    assert incidents.get(NSG, RULE, read_error=True).status == "resolved"
    assert incidents.get(NSG, RULE).status == "open"
    assert row_count(table) == 1


def test_a_retried_signal_is_a_duplicate(table: TableClient) -> None:
    incidents = Incidents(table)
    opening, resolving = at(1), at(2, "compliant")
    assert incidents.observe(opening).transition == "opened"
    assert incidents.observe(opening).transition == "duplicate"
    assert incidents.observe(resolving).transition == "resolved"
    assert incidents.observe(resolving).transition == "duplicate"
    assert incidents.observe(opening).transition == "duplicate"  # does not reopen
    assert incidents.get(NSG, RULE).count == 1


@pytest.mark.parametrize(
    ("events", "status"),
    [
        ([at(5), at(3, "compliant")], "open"),  # an old "fixed" must not resolve it
        ([at(5), at(6, "compliant"), at(4)], "resolved"),  # an old drift must not reopen it
        ([at(5), at(7, "compliant"), at(6, "compliant")], "resolved"),
    ],
)
def test_events_older_than_the_last_applied_change_nothing(
    table: TableClient, events: list[EventRecord], status: str
) -> None:
    incidents = Incidents(table)
    for record in events[:-1]:
        incidents.observe(record)
    before = incidents.get(NSG, RULE)

    assert incidents.observe(events[-1]).transition == "unchanged"
    assert incidents.get(NSG, RULE) == before
    assert before.status == status


def test_the_same_resource_in_another_case_is_the_same_incident(table: TableClient) -> None:
    incidents = Incidents(table)
    assert incidents.observe(at(1)).transition == "opened"
    assert incidents.observe(at(2, resource=NSG.upper())).transition == "updated"
    assert incidents.get(NSG.lower(), RULE).resource == NSG


@pytest.mark.parametrize(
    ("setup", "record", "reads", "writes"),
    [
        ([], at(1), 1, 1),  # opens (the alert claimed in the same write)
        ([at(1)], at(2), 1, 1),  # updated
        ([at(1)], at(2, "compliant"), 1, 1),  # resolved
        ([], at(1, "compliant"), 1, 0),  # nothing to resolve
        ([at(1)], None, 1, 0),  # a redelivery of the opening event
        ([], at(1, "error"), 1, 1),  # read error opens
        ([at(1, "error")], at(2), 1, 1),  # read error resolved, drift opened: one write
    ],
    ids=["opens", "updates", "resolves", "compliant", "redelivery", "error", "error-then-read"],
)
def test_one_read_and_at_most_one_write_per_row(
    table: TableClient,
    setup: list[EventRecord],
    record: EventRecord | None,
    reads: int,
    writes: int,
) -> None:
    for earlier in setup:  # each through the respond stage: observed, alerted, recorded
        observation = Incidents(table).observe(earlier)
        if observation.alert not in (None, "resolved"):
            Incidents(table).record_alert(observation, OK)
    counting = CountingTable(table)
    Incidents(counting).observe(record or setup[0])  # type: ignore[arg-type]
    assert (counting.reads, counting.writes) == (reads, writes)


def run_together(count: int, work: Callable[[int], Observation]) -> list[Observation]:
    barrier = threading.Barrier(count)
    results: list[Observation] = []
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            barrier.wait()
            results.append(work(index))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return results


@pytest.fixture
def clients(azurite: str, table: TableClient) -> Iterator[Callable[[int], list[Incidents]]]:
    opened: list[TableClient] = []

    def make(count: int) -> list[Incidents]:
        for _ in range(count):
            opened.append(TableClient.from_connection_string(azurite, table.table_name))
        return [Incidents(c) for c in opened[-count:]]

    yield make
    for client in opened:
        client.close()


def transitions(observations: list[Observation]) -> Counter[Transition]:
    return Counter(o.transition for o in observations)


def test_concurrent_deliveries_of_the_first_drift_open_one_incident(
    table: TableClient, clients: Callable[[int], list[Incidents]]
) -> None:
    workers = clients(8)
    record = at(1)
    results = run_together(8, lambda i: workers[i].observe(record))
    assert transitions(results) == {"opened": 1, "duplicate": 7}
    assert Incidents(table).get(NSG, RULE).count == 1


def test_concurrent_distinct_drifts_open_once_count_all_and_alert_once(
    table: TableClient, clients: Callable[[int], list[Incidents]]
) -> None:
    workers = clients(8)
    records = [at(1) for _ in range(8)]
    results = run_together(8, lambda i: workers[i].observe(records[i]))
    assert transitions(results) == {"opened": 1, "updated": 7}
    assert Incidents(table).get(NSG, RULE).count == 8
    # the first to write claimed the alert: the others saw the claim
    assert [o.alert for o in results if o.alert] == ["opened"]


def test_deliveries_are_recorded_once_per_channel_and_incident(table: TableClient) -> None:
    incidents = Incidents(table)
    opening = at(1)
    sent = incidents.observe(opening)
    assert sent.alert == "opened"
    both = [*OK, {"channel": "email", "ok": True, "attempts": 2, "error": ""}]

    incidents.record_alert(sent, both)
    incidents.record_alert(sent, both)  # a retried recording adds no channel twice
    recorded = incidents.get(NSG, RULE)
    assert dict(recorded.alerted) == {
        "teams:high": opening.signal_id,
        "email:high": opening.signal_id,
    }
    assert recorded.claim is None
    assert [(d["channel"], d["ok"], d["attempts"]) for d in recorded.deliveries[:2]] == [
        ("teams", True, 1),
        ("email", True, 2),
    ]
    assert incidents.observe(opening).alert is None  # a redelivery is not alerted again

    incidents.observe(at(2, "compliant"))
    incidents.observe(at(3))
    assert dict(incidents.get(NSG, RULE).alerted) == {}  # a new incident is alerted anew


def test_deliveries_are_written_without_a_read_unless_the_row_changed(
    table: TableClient,
) -> None:
    first, other = Incidents(table), Incidents(table)
    sent = first.observe(at(1))
    counting = CountingTable(table)
    Incidents(counting).record_alert(sent, OK)
    assert (counting.reads, counting.writes) == (0, 1)

    racing = first.observe(at(2, severity="critical"))  # an escalation: alerted again
    assert racing.alert == "updated"
    other.observe(at(3))  # the row changed after `racing` wrote it
    counting.reset()
    Incidents(counting).record_alert(racing, OK)
    assert (counting.reads, counting.writes) == (1, 2)  # refused, re-read, written
    assert set(first.get(NSG, RULE).alerted) == {"teams:high", "teams:critical"}


def test_a_failed_delivery_is_recorded_and_the_next_drift_alerts_again(
    table: TableClient,
) -> None:
    incidents = Incidents(table)
    sent = incidents.observe(at(1))
    failed = [{"channel": "teams", "ok": False, "attempts": 3, "error": "503 " + "x" * 1000}]
    incidents.record_alert(sent, failed)
    [delivery] = incidents.get(NSG, RULE).deliveries
    assert (delivery["ok"], len(delivery["error"])) == (False, 300)
    assert incidents.observe(at(2)).alert == "updated"


def test_rows_written_before_the_read_error_track_still_load(table: TableClient) -> None:
    partition, row = incident_keys(NSG, RULE)
    table.create_entity(
        {
            "PartitionKey": partition,
            "RowKey": row,
            "Resource": NSG,
            "Rule": RULE,
            "Kind": "nsg",
            "Severity": "high",
            "Status": "open",
            "OpenedAt": "2026-07-01T01:00:00Z",
            "LastSeen": "2026-07-01T01:00:00Z",
            "ResolvedAt": "",
            "Count": 1,
            "LastSignalId": "s1",
            "LastMessage": "m",
            "LastEventTime": "2026-07-01T01:00:00.000000Z",
            "Generation": 1,
            "RecentSignals": "[]",
            "Alerts": json.dumps({"teams:high": {"signalId": "s1", "at": "2026-07-01T01:00Z"}}),
        }
    )
    incidents = Incidents(table)
    assert dict(incidents.get(NSG, RULE).alerted) == {"teams:high": "s1"}
    assert incidents.observe(at(2)).alert is None  # told already at this severity


def incidents_row(table: TableClient) -> dict[str, Any]:
    return dict(table.get_entity(*incident_keys(NSG, RULE)))


def test_a_claim_is_written_with_the_observation(table: TableClient) -> None:
    now = datetime(2026, 7, 1, 12, tzinfo=UTC)
    incidents = Incidents(table, clock=lambda: now)
    record = at(1)
    incidents.observe(record)
    claim = json.loads(incidents_row(table)["AlertClaim"])
    assert claim == {
        "signalId": record.signal_id,
        "severity": "high",
        "transition": "opened",
        "at": now.isoformat(),
    }


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    resource=st.text(st.characters(codec="utf-8"), min_size=1, max_size=400),
    rule=st.text(st.characters(codec="utf-8"), min_size=1, max_size=80),
)
def test_any_resource_and_rule_make_a_valid_incident_key(
    table: TableClient, resource: str, rule: str
) -> None:
    incidents = Incidents(table)
    first = incidents.observe(event(resource=resource, rule=rule)).transition
    assert first in ("opened", "updated")
    got = incidents.get(resource, rule)
    assert got.rule == rule
    assert got.resource.lower() == resource.lower()
    assert table.get_entity(*incident_keys(resource, rule))["Rule"] == rule
