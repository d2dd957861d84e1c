"""Incident state on Azurite: lifecycle, retries, out-of-order events, concurrent deliveries."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from azure.data.tables import TableClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from driftkeeper._model import EventRecord
from driftkeeper.store import Incidents, Transition, incident_keys

from .records import NSG, event, row_count

RULE = "nsg-web-prod"


def at(hour: int, outcome: str = "drift", **fields: str) -> EventRecord:
    return event(time=f"2026-07-01T{hour:02d}:00:00Z", outcome=outcome, **fields)


def test_lifecycle_opened_updated_resolved_reopened(table: TableClient) -> None:
    incidents = Incidents(table)
    first, second, fixed, again = at(1), at(2, message="still open"), at(3, "compliant"), at(6)

    assert incidents.observe(first) == "opened"
    assert incidents.observe(second) == "updated"
    updated = incidents.get(NSG, RULE)
    assert (updated.status, updated.count, updated.generation) == ("open", 2, 1)
    assert (updated.opened_at, updated.last_seen) == (first.time, second.time)
    assert (updated.last_signal_id, updated.last_message) == (second.signal_id, "still open")

    assert incidents.observe(fixed) == "resolved"
    resolved = incidents.get(NSG, RULE)
    assert (resolved.status, resolved.resolved_at, resolved.count) == ("resolved", fixed.time, 2)
    assert incidents.observe(at(5, "compliant")) == "unchanged"

    assert incidents.observe(again) == "opened"
    reopened = incidents.get(NSG, RULE)
    assert (reopened.status, reopened.count, reopened.generation) == ("open", 1, 2)
    assert reopened.resolved_at == ""
    assert row_count(table) == 1


def test_compliant_without_an_incident_writes_nothing(table: TableClient) -> None:
    incidents = Incidents(table)
    assert incidents.observe(at(1, "compliant")) == "unchanged"
    assert row_count(table) == 0
    with pytest.raises(LookupError):
        incidents.get(NSG, RULE)


@pytest.mark.parametrize("outcome", ["error", "ignored", "self", "invalid"])
def test_other_outcomes_never_change_an_incident(table: TableClient, outcome: str) -> None:
    incidents = Incidents(table)
    assert incidents.observe(at(1)) == "opened"
    assert incidents.observe(at(2, outcome)) == "unchanged"
    assert incidents.get(NSG, RULE).status == "open"


def test_a_retried_signal_is_a_duplicate(table: TableClient) -> None:
    incidents = Incidents(table)
    opening, resolving = at(1), at(2, "compliant")
    assert incidents.observe(opening) == "opened"
    assert incidents.observe(opening) == "duplicate"
    assert incidents.observe(resolving) == "resolved"
    assert incidents.observe(resolving) == "duplicate"
    assert incidents.observe(opening) == "duplicate"  # does not reopen
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

    assert incidents.observe(events[-1]) == "unchanged"
    assert incidents.get(NSG, RULE) == before
    assert before.status == status


def test_the_same_resource_in_another_case_is_the_same_incident(table: TableClient) -> None:
    incidents = Incidents(table)
    assert incidents.observe(at(1)) == "opened"
    assert incidents.observe(at(2, resource=NSG.upper())) == "updated"
    assert incidents.get(NSG.lower(), RULE).resource == NSG


def run_together(count: int, work: Callable[[int], Transition]) -> list[Transition]:
    barrier = threading.Barrier(count)
    results: list[Transition] = []
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


def test_concurrent_deliveries_of_the_first_drift_open_one_incident(
    table: TableClient, clients: Callable[[int], list[Incidents]]
) -> None:
    workers = clients(8)
    record = at(1)
    results = run_together(8, lambda i: workers[i].observe(record))
    assert Counter(results) == {"opened": 1, "duplicate": 7}
    assert Incidents(table).get(NSG, RULE).count == 1


def test_concurrent_distinct_drifts_open_once_and_count_all(
    table: TableClient, clients: Callable[[int], list[Incidents]]
) -> None:
    workers = clients(8)
    records = [at(1) for _ in range(8)]
    results = run_together(8, lambda i: workers[i].observe(records[i]))
    assert Counter(results) == {"opened": 1, "updated": 7}
    assert Incidents(table).get(NSG, RULE).count == 8


def test_mark_alerted_once_per_channel_and_incident(table: TableClient) -> None:
    incidents = Incidents(table)
    with pytest.raises(LookupError):
        incidents.mark_alerted(NSG, RULE, "s1", "teams")
    opening = at(1)
    incidents.observe(opening)

    assert incidents.mark_alerted(NSG, RULE, opening.signal_id, "teams") is True
    assert incidents.mark_alerted(NSG, RULE, opening.signal_id, "teams") is False
    assert incidents.mark_alerted(NSG, RULE, opening.signal_id, "email") is True
    assert dict(incidents.get(NSG, RULE).alerted) == {
        "teams": opening.signal_id,
        "email": opening.signal_id,
    }

    incidents.observe(at(2, "compliant"))
    incidents.observe(at(3))
    assert dict(incidents.get(NSG, RULE).alerted) == {}  # a new incident is alerted anew


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    resource=st.text(st.characters(codec="utf-8"), min_size=1, max_size=400),
    rule=st.text(st.characters(codec="utf-8"), min_size=1, max_size=80),
)
def test_any_resource_and_rule_make_a_valid_incident_key(
    table: TableClient, resource: str, rule: str
) -> None:
    incidents = Incidents(table)
    first = incidents.observe(event(resource=resource, rule=rule))
    assert first in ("opened", "updated")
    got = incidents.get(resource, rule)
    assert got.rule == rule
    assert got.resource.lower() == resource.lower()
    assert table.get_entity(*incident_keys(resource, rule))["Rule"] == rule
