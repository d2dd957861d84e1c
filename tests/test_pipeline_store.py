"""One pass through the pipeline on Azurite: what one event-table row costs the tables, and
what the alert stage is handed."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from azure.data.tables import TableClient

from driftkeeper import Snapshot
from driftkeeper.baseline import load_baselines
from driftkeeper.intake import parse_event, parse_events
from driftkeeper.live import snapshot_reader
from driftkeeper.pipeline import Pipeline
from driftkeeper.signals import Signal
from driftkeeper.store import Incidents, Ledger
from tests.fakes.alerts import RecordingAlerts
from tests.fakes.counting import CountingTable

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
NSG_RULE = "6f1c2a3b-rg-web-prod-nsg-web-prod"


def rdp(ident: str = "e1", when: str = "2026-11-22T03:01:12Z") -> dict[str, Any]:
    event = copy.deepcopy(json.loads((ROOT / "examples/events-burst.json").read_text())[0])
    event.update(id=ident, eventTime=when)
    return event


def state(name: str) -> Snapshot:
    if name == "unreadable":
        doc = json.loads((ROOT / "examples/tenant-drifted.json").read_text())
        del doc["arm"]["networkSecurityGroups"]
        doc["readErrors"] = {"arm.networkSecurityGroups": "403 Forbidden: AuthorizationFailed"}
        return Snapshot.from_dict(doc)
    return Snapshot.from_file(ROOT / f"examples/tenant-{name}.json")


Step = tuple[str, dict[str, Any]]  # (tenant state, event)
LATER = "2026-11-22T03:30:00Z"
FLOWS: dict[str, tuple[list[Step], Step, int]] = {
    # name: (steps before, the counted step, alerts it sends)
    "first drift": ([], ("drifted", rdp()), 2),
    "repeated drift": ([("drifted", rdp())], ("drifted", rdp("e2", LATER)), 0),
    "compliant": ([], ("known-good", rdp()), 0),
    "resolve": ([("drifted", rdp())], ("known-good", rdp("e2", LATER)), 2),
    "read error": ([], ("unreadable", rdp()), 1),
    "redelivery": ([("drifted", rdp())], ("drifted", rdp()), 0),
}


@pytest.mark.parametrize(("before", "step", "alerts"), FLOWS.values(), ids=FLOWS.keys())
def test_each_row_reads_its_incident_once_and_is_written_once(
    make_table: Callable[..., TableClient], before: list[Step], step: Step, alerts: int
) -> None:
    events, incidents = CountingTable(make_table()), CountingTable(make_table())
    sink = RecordingAlerts()

    def run(name: str, event: dict[str, Any]) -> None:
        Pipeline(
            load_baselines(ROOT / "baselines"),
            snapshot_reader(state(name)),
            Ledger(events),  # type: ignore[arg-type]
            Incidents(incidents),  # type: ignore[arg-type]
            sink,
            clock=lambda: NOW,
        ).process(parse_events([event]))

    for name, event in before:
        run(name, event)
    events.reset()
    incidents.reset()
    sent = len(sink.sent)

    run(*step)

    rows = events.writes  # each row written once: no second write with the alerts
    written = Ledger(events.client).query(since=datetime(2026, 11, 22, tzinfo=UTC))
    assert rows == sum(1 for r in written if r.signal_id == step[1]["id"]) > 0
    assert incidents.reads == rows  # one incident read per row
    alerted = len(sink.sent) - sent
    assert alerted == alerts
    resolutions = sum(1 for _, _, t in sink.sent[sent:] if t == "resolved")
    # at most one write per row, and one more per alert to record its deliveries
    assert incidents.writes <= rows + alerted - resolutions


def test_the_alert_stage_gets_the_finding_and_signal_it_was_made_from(
    make_table: Callable[..., TableClient],
) -> None:
    sink = RecordingAlerts()
    pipeline = Pipeline(
        load_baselines(ROOT / "baselines"),
        snapshot_reader(state("drifted")),
        Ledger(make_table()),
        Incidents(make_table()),
        sink,
        clock=lambda: NOW,
    )
    signal = parse_event(rdp())
    assert isinstance(signal, Signal)
    [result] = pipeline.process([signal])
    assert [f for f, _ in sink.alerted] == [f for f in result.findings if f.status == "drift"]
    assert all(s is signal for _, s in sink.alerted)
    assert {f.rule for f, _ in sink.published} >= {NSG_RULE}
