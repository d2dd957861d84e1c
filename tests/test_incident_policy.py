"""The incident and alert policy, as a table: what came before, the event, what it does."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pytest

from driftkeeper._model import SEVERITIES, SEVERITY_RANK, EventRecord
from driftkeeper.incident_policy import (
    CLAIM_LEASE,
    READ_ERROR,
    IncidentRow,
    alerted_at,
    observe,
    record_deliveries,
    severity_rank,
)

NOW = datetime(2026, 7, 1, 12, tzinfo=UTC)
RESOURCE, RULE = "/subscriptions/s/nsg", "nsg-web"
Delivered = Literal["ok", "failed", "no channel", "died"]
"""What became of the alert a step claimed: delivered, failed on every channel, no channel
routed for its severity, or the function died before recording anything."""


@dataclass(frozen=True)
class Step:
    outcome: str
    hour: int
    signal: str
    severity: str = "high"
    delivered: Delivered = "ok"
    minutes_ago: int = 0
    """How long before NOW the step ran (for claim leases)."""
    read: int | None = None
    """The hour the judged state was read (None: unknown, the event's time stands in)."""


def record(step: Step) -> EventRecord:
    return EventRecord(
        signal_id=step.signal,
        time=f"2026-07-01T{step.hour:02d}:00:00Z",
        source="eventgrid",
        event_type="Microsoft.Resources.ResourceWriteSuccess",
        outcome=step.outcome,  # type: ignore[arg-type]
        resource=RESOURCE,
        rule=RULE,
        kind="nsg",
        severity=step.severity,
        message=f"{step.outcome} by {step.signal}",
        observed="" if step.read is None else f"2026-07-01T{step.read:02d}:00:00Z",
    )


def deliveries(delivered: Delivered) -> list[dict[str, Any]]:
    if delivered == "no channel":
        return []
    ok = delivered == "ok"
    return [{"channel": "teams", "ok": ok, "attempts": 1, "error": "" if ok else "503"}]


def run(steps: list[Step]) -> IncidentRow | None:
    """The row after each step went through the respond stage."""
    row: IncidentRow | None = None
    for step in steps:
        now = NOW - timedelta(minutes=step.minutes_ago)
        after, seen = observe(row, record(step), now=now)
        row = after or row
        if row is not None and seen.alert not in (None, "resolved") and step.delivered != "died":
            row = record_deliveries(row, seen, deliveries(step.delivered), now=now) or row
    return row


def drift(hour: int, signal: str, **kw: Any) -> Step:
    return Step("drift", hour, signal, **kw)


def fine(hour: int, signal: str, **kw: Any) -> Step:
    return Step("compliant", hour, signal, **kw)


def error(hour: int, signal: str, **kw: Any) -> Step:
    return Step("error", hour, signal, **kw)


# (before, event, (track, transition, alert, row written?))
CASES: dict[str, tuple[list[Step], Step, tuple[str, str, str | None, bool]]] = {
    "first drift opens and alerts": ([], drift(1, "a"), ("drift", "opened", "opened", True)),
    "a drift on an open incident updates it quietly": (
        [drift(1, "a")], drift(2, "b"), ("drift", "updated", None, True),
    ),
    "a higher severity alerts again": (
        [drift(1, "a", severity="low")], drift(2, "b"), ("drift", "updated", "updated", True),
    ),
    "a lower severity does not": (
        [drift(1, "a", severity="critical")], drift(2, "b"), ("drift", "updated", None, True),
    ),
    "a failed delivery is retried on the next drift": (
        [drift(1, "a", delivered="failed")], drift(2, "b"), ("drift", "updated", "updated", True),
    ),
    "no channel for the severity: not tried again": (
        [drift(1, "a", delivered="no channel")], drift(2, "b"), ("drift", "updated", None, True),
    ),
    "compliance resolves and announces it": (
        [drift(1, "a")], fine(2, "b"), ("drift", "resolved", "resolved", True),
    ),
    "compliant without an incident writes nothing": (
        [], fine(1, "a"), ("drift", "unchanged", None, False),
    ),
    "compliant again: only the time moves": (
        [drift(1, "a"), fine(2, "b")], fine(3, "c"), ("drift", "unchanged", None, True),
    ),
    "a drift after resolution reopens and alerts": (
        [drift(1, "a"), fine(2, "b")], drift(3, "c"), ("drift", "opened", "opened", True),
    ),
    "a redelivery after the alert is a duplicate, not alerted": (
        [drift(1, "a")], drift(1, "a"), ("drift", "duplicate", None, False),
    ),
    "a redelivery after a failed delivery alerts again": (
        [drift(1, "a", delivered="failed")], drift(1, "a"), ("drift", "duplicate", "opened", True),
    ),
    "a retry of a signal while its own claim is fresh holds back (it may still be sending)": (
        [drift(1, "a", delivered="died")], drift(1, "a"), ("drift", "duplicate", None, False),
    ),
    "a retry of a signal that died after claiming alerts again once the claim expired": (
        [drift(1, "a", delivered="died", minutes_ago=int(CLAIM_LEASE.total_seconds()) // 60 + 1)],
        drift(1, "a"),
        ("drift", "duplicate", "opened", True),
    ),
    "a redelivered resolution is not announced twice": (
        [drift(1, "a"), fine(2, "b")], fine(2, "b"), ("drift", "duplicate", None, False),
    ),
    "another signal's fresh claim holds the alert back": (
        [drift(1, "a", delivered="died")], drift(2, "b"), ("drift", "updated", None, True),
    ),
    "another signal's expired claim does not": (
        [drift(1, "a", delivered="died", minutes_ago=int(CLAIM_LEASE.total_seconds()) // 60 + 1)],
        drift(2, "b"),
        ("drift", "updated", "updated", True),
    ),
    "a claim at a lower severity does not": (
        [drift(1, "a", severity="medium", delivered="died")],
        drift(2, "b"),
        ("drift", "updated", "updated", True),
    ),
    "an event older than the last applied changes nothing": (
        [drift(5, "a"), fine(6, "b")], drift(4, "c"), ("drift", "unchanged", None, False),
    ),
    "an event stamped ahead by a skewed clock cannot hide the correct events after it": (
        [drift(9, "skewed", read=5)], fine(6, "b", read=6), ("drift", "resolved", "resolved", True),
    ),
    "a later read wins, whatever the order of the events' own times": (
        [drift(5, "a", read=5), fine(5, "late", read=8)],
        drift(6, "b", read=7),
        ("drift", "unchanged", None, False),
    ),
    "a judgement of an older read changes nothing": (
        [drift(5, "a", read=5), fine(6, "b", read=6)],
        drift(7, "c", read=4),
        ("drift", "unchanged", None, False),
    ),
    "losing read access opens its own incident and alerts": (
        [], error(1, "a"), ("read-error", "opened", "opened", True),
    ),
    "still unreadable: updated quietly": (
        [error(1, "a")], error(2, "b"), ("read-error", "updated", None, True),
    ),
    "a read error beside an open drift": (
        [drift(1, "a")], error(2, "b"), ("read-error", "opened", "opened", True),
    ),
    "ignored rows change nothing": (
        [drift(1, "a")], Step("ignored", 2, "b"), ("drift", "unchanged", None, False),
    ),
}  # fmt: skip


@pytest.mark.parametrize(("before", "event", "expected"), CASES.values(), ids=CASES.keys())
def test_the_policy(
    before: list[Step], event: Step, expected: tuple[str, str, str | None, bool]
) -> None:
    row = run(before)
    after, seen = observe(row, record(event), now=NOW)
    assert (seen.track, seen.transition, seen.alert, after is not None) == expected
    if seen.alert not in (None, "resolved"):  # claimed in the same write
        assert after is not None
        claimed = after.track(seen.track)
        assert claimed is not None
        assert claimed.claim is not None
        assert (claimed.claim.signal_id, claimed.claim.transition) == (event.signal, seen.alert)


# (before, event, drift status, read-error status, read_error transition)
READS: dict[str, tuple[list[Step], Step, str | None, str | None, str]] = {
    "a drift resolves the read error": (
        [error(1, "a")], drift(2, "b"), "open", "resolved", "resolved",
    ),
    "so does a compliant read": ([error(1, "a")], fine(2, "b"), None, "resolved", "resolved"),
    "a read error leaves the drift open": (
        [drift(1, "a")], error(2, "b"), "open", "open", "unchanged",
    ),
    "a compliant read resolves both": (
        [drift(1, "a"), error(2, "b")], fine(3, "c"), "resolved", "resolved", "resolved",
    ),
}  # fmt: skip


@pytest.mark.parametrize(
    ("before", "event", "drift_status", "error_status", "read_error"),
    READS.values(),
    ids=READS.keys(),
)
def test_read_errors_share_the_row(
    before: list[Step],
    event: Step,
    drift_status: str | None,
    error_status: str | None,
    read_error: str,
) -> None:
    after, seen = observe(run(before), record(event), now=NOW)
    assert after is not None
    assert (after.drift.status if after.drift else None) == drift_status
    assert (after.read_error.status if after.read_error else None) == error_status
    assert seen.read_error == read_error
    if after.read_error is not None:
        assert after.read_error.rule == RULE + READ_ERROR


def test_without_alert_channels_nothing_is_claimed() -> None:
    _, seen = observe(None, record(drift(1, "a")), now=NOW)
    quiet_after, quiet = observe(None, record(drift(1, "a")), now=NOW, alerting=False)
    assert seen.alert == "opened"
    assert quiet.alert is None
    assert quiet_after is not None
    assert quiet_after.drift is not None
    assert quiet_after.drift.claim is None


def test_recorded_deliveries_release_the_claim_and_keep_failures() -> None:
    row, seen = observe(None, record(drift(1, "a")), now=NOW)
    assert row is not None
    both = [
        {"channel": "teams", "ok": True, "attempts": 1, "error": ""},
        {"channel": "email", "ok": False, "attempts": 3, "error": "421 try later"},
    ]
    after = record_deliveries(row, seen, both, now=NOW)
    assert after is not None
    assert after.drift is not None
    assert after.drift.claim is None
    assert dict(after.drift.alerted) == {"teams:high": "a"}
    assert [(d["channel"], d["ok"], d["error"]) for d in after.drift.deliveries] == [
        ("teams", True, ""),
        ("email", False, "421 try later"),
    ]


def test_deliveries_for_an_incident_reopened_since_are_dropped() -> None:
    row, seen = observe(None, record(drift(1, "a")), now=NOW)
    assert row is not None
    later = run([drift(1, "a", delivered="died"), fine(2, "b"), drift(3, "c")])
    assert later is not None
    assert record_deliveries(later, seen, deliveries("ok"), now=NOW) is None


@pytest.mark.parametrize(
    ("alerted", "severity", "told"),
    [
        ({}, "low", False),
        ({"teams:high": "a"}, "high", True),
        ({"teams:high": "a"}, "medium", True),
        ({"teams:high": "a"}, "critical", False),
        ({"teams": "a"}, "critical", True),  # no severity recorded: counts as the highest
    ],
)
def test_alerted_at(alerted: dict[str, str], severity: str, told: bool) -> None:
    assert alerted_at(alerted, severity) is told


def test_one_severity_order() -> None:
    assert [severity_rank(s) for s in SEVERITIES] == [0, 1, 2, 3]
    assert sorted(SEVERITY_RANK, key=severity_rank) == list(SEVERITIES)
    assert severity_rank("unknown") == SEVERITY_RANK["high"]


def test_a_record_without_resource_or_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="resource and a rule"):
        observe(None, EventRecord("s", "2026-07-01T00:00:00Z", "eventgrid", "t", "drift"), now=NOW)


def test_the_observation_carries_what_the_alert_needs() -> None:
    _, seen = observe(None, record(drift(1, "a")), now=NOW)
    assert seen.incident is not None
    assert (seen.incident.status, seen.signal_id, seen.severity) == ("open", "a", "high")


def test_an_accepted_drift_stays_closed_and_a_later_change_opens_a_new_incident() -> None:
    from driftkeeper._model import Change
    from driftkeeper.incident_policy import accept

    # given an open drift incident, accepted as intended
    drifted = replace(record(drift(1, "a")), changes=(Change("rules.rdp", None, "allow"),))
    row, _ = observe(None, drifted, now=NOW)
    assert row is not None
    accepted = accept(row, drifted, now=NOW)
    assert accepted is not None
    assert accepted.drift is not None
    assert accepted.drift.status == "accepted"
    # when the same drift is judged again (a reconcile run): nothing changes
    again = replace(drifted, signal_id="reconcile", time="2026-07-01T02:00:00Z")
    after, seen = observe(accepted, again, now=NOW)
    assert (seen.transition, seen.alert) == ("unchanged", None)
    assert after is not None
    # when the setting changes again: a new incident opens and alerts
    other = replace(
        drifted,
        signal_id="b",
        time="2026-07-01T03:00:00Z",
        changes=(Change("rules.rdp", None, "allow"), Change("rules.ssh", None, "allow")),
    )
    _, seen = observe(after, other, now=NOW)
    assert (seen.transition, seen.alert) == ("opened", "opened")
    assert seen.incident is not None
    assert seen.incident.generation == 2
    # and accepting works only on an open incident
    assert accept(accepted, drifted, now=NOW) is None
