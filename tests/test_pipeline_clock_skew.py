"""A sender's clock cannot hide a change: incidents order judgements by when driftkeeper
read the state it judged, not by the time an event claims (issue 7, item 5)."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from driftkeeper import Snapshot
from driftkeeper.baseline import load_baselines
from driftkeeper.intake import parse_events
from driftkeeper.memory import MemoryIncidents, MemoryLedger
from driftkeeper.pipeline import FUTURE_SLACK, Pipeline
from tests.fakes.alerts import RecordingAlerts

ROOT = Path(__file__).resolve().parents[1]
RULE = "6f1c2a3b-rg-web-prod-nsg-web-prod"
START = datetime(2026, 11, 22, 3, 20, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now


@dataclass
class LiveTenant:
    """A reader whose answers are stamped as live reads made now, like the ARM reader's."""

    clock: Clock
    state: Snapshot
    live: bool = True
    reads: list[datetime] = field(default_factory=list)

    def read(self, kind: str, scope: str, *, newer_than: datetime | None = None) -> Snapshot:
        self.reads.append(self.clock())
        if not self.live:
            return self.state
        captured = self.clock().strftime("%Y-%m-%dT%H:%M:%SZ")
        return replace(self.state, source="live", captured_at=captured)


def snapshot(name: str) -> Snapshot:
    return Snapshot.from_file(ROOT / "examples" / name)


def rdp_event(ident: str, at: datetime, *, deleted: bool = False) -> dict[str, Any]:
    burst = json.loads((ROOT / "examples/events-burst.json").read_text())
    event: dict[str, Any] = copy.deepcopy(burst[0])
    event["id"] = ident
    event["eventTime"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    if deleted:
        event["eventType"] = "Microsoft.Resources.ResourceDeleteSuccess"
        event["data"]["operationName"] = (
            "Microsoft.Network/networkSecurityGroups/securityRules/delete"
        )
    return event


def status(incidents: MemoryIncidents) -> str:
    [incident] = [i for i in incidents.incidents() if i.rule == RULE]
    return incident.status


@pytest.mark.parametrize("live", [True, False], ids=["live reads", "a state file"])
@pytest.mark.parametrize("skew", [timedelta(minutes=1), FUTURE_SLACK - timedelta(seconds=1)])
def test_an_event_from_the_future_cannot_hide_the_fix_after_it(live: bool, skew: timedelta) -> None:
    # given an RDP rule opened, reported by a sender whose clock runs ahead
    clock = Clock()
    tenant = LiveTenant(clock, snapshot("tenant-drifted.json"), live=live)
    incidents = MemoryIncidents()
    pipeline = Pipeline(
        load_baselines(ROOT / "baselines"),
        tenant,
        MemoryLedger(),
        incidents,
        RecordingAlerts(),
        clock=clock,
    )
    [opened] = pipeline.process(parse_events([rdp_event("skewed", clock.now + skew)]))
    assert opened.outcome == "evaluated"
    assert status(incidents) == "open"
    # when the rule is deleted a minute later, and reported with a correct time
    clock.now += timedelta(minutes=1)
    tenant.state = snapshot("tenant-known-good.json")
    pipeline.process(parse_events([rdp_event("fixed", clock.now, deleted=True)]))
    # then the incident resolves, and the resolution is announced
    assert status(incidents) == "resolved"
    alerts = pipeline.alerts
    assert isinstance(alerts, RecordingAlerts)
    assert [t for _, rule, t in alerts.sent if rule == RULE] == ["opened", "resolved"]


def test_of_two_judgements_the_later_read_wins_whatever_order_they_are_written() -> None:
    # given two deliveries about one NSG: the first read the fixed state, the second read
    # the drifted state earlier but is written after it (a slow instance)
    clock = Clock(START + timedelta(minutes=3))  # when each judgement is written
    incidents = MemoryIncidents()
    baselines = load_baselines(ROOT / "baselines")

    def pipeline(state: str, read_at: datetime) -> Pipeline:
        return Pipeline(
            baselines,
            LiveTenant(Clock(read_at), snapshot(state)),
            MemoryLedger(),
            incidents,
            RecordingAlerts(),
            clock=clock,
        )

    pipeline("tenant-drifted.json", START).process(parse_events([rdp_event("a", START)]))
    later = START + timedelta(minutes=2)
    pipeline("tenant-known-good.json", later).process(
        parse_events([rdp_event("b", START, deleted=True)])
    )
    assert status(incidents) == "resolved"
    # when the stale judgement (read a minute before the fix was read) lands last
    stale = pipeline("tenant-drifted.json", START + timedelta(minutes=1))
    stale.process(parse_events([rdp_event("c", START + timedelta(seconds=30))]))
    # then it does not reopen the incident
    assert status(incidents) == "resolved"
