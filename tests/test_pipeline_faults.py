"""The pipeline when things go wrong: unreadable settings, failed alerts, hostile events."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from driftkeeper import InputError, Snapshot
from driftkeeper._model import Finding
from driftkeeper.alerts import Transition
from driftkeeper.baseline import Baseline, BaselineSet, load_baselines
from driftkeeper.engine import scan
from driftkeeper.intake import Invalid, parse_event, parse_events
from driftkeeper.memory import MemoryIncidents, MemoryLedger
from driftkeeper.pipeline import READ_ERROR, Pipeline
from driftkeeper.signals import Signal

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
NSG_RULE = "6f1c2a3b-rg-web-prod-nsg-web-prod"
SCOPE = (
    "/subscriptions/6f1c2a3b-4d5e-4f60-8a91-b2c3d4e5f607/resourceGroups/rg-web-prod"
    "/providers/Microsoft.Network/networkSecurityGroups/nsg-web-prod"
)


class FlakyAlerts:
    """Alert channels that fail while ``down`` is set."""

    def __init__(self) -> None:
        self.down = False
        self.sent: list[tuple[str, str, Transition]] = []

    def alert(
        self,
        finding: Finding,
        signal: Signal,
        baseline: Baseline | None,
        transition: Transition,
        **extra: Any,
    ) -> list[dict[str, Any]]:
        if self.down:
            return [
                {"channel": "teams", "ok": False, "attempts": 3, "error": "503 Service Unavailable"}
            ]
        self.sent.append((signal.id, finding.rule, transition))
        return [{"channel": "teams", "ok": True, "attempts": 1, "error": ""}]

    def publish(self, records: Any) -> None:
        pass


class Reader:
    """A snapshot reader whose answer the test can swap, or make refuse the scope."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.refuse = False

    def read(self, kind: str, scope: str, *, newer_than: datetime | None = None) -> Snapshot:
        if self.refuse:
            raise InputError(f"not a scope this reader knows: {scope!r}")
        return self.snapshot


def rdp_event(ident: str = "e1", when: str = "2026-11-22T03:01:12Z") -> dict[str, Any]:
    event = copy.deepcopy(json.loads((ROOT / "examples/events-burst.json").read_text())[0])
    event.update(id=ident, eventTime=when)
    return event


def drifted() -> Snapshot:
    return Snapshot.from_file(ROOT / "examples/tenant-drifted.json")


def make(reader: Reader, alerts: FlakyAlerts | None = None) -> Pipeline:
    return Pipeline(
        load_baselines(ROOT / "baselines"), reader, MemoryLedger(), MemoryIncidents(),
        alerts or FlakyAlerts(), clock=lambda: NOW,
    )  # fmt: skip


def test_an_alert_that_failed_is_sent_on_the_next_drift() -> None:
    alerts = FlakyAlerts()
    pipeline = make(Reader(drifted()), alerts)
    alerts.down = True
    pipeline.process(parse_events([rdp_event("e1")]))
    incidents = pipeline.incidents
    assert isinstance(incidents, MemoryIncidents)
    [failed] = incidents.get(SCOPE, NSG_RULE).deliveries  # the failure is on the incident
    assert (failed["signalId"], failed["ok"], failed["error"]) == (
        "e1",
        False,
        "503 Service Unavailable",
    )
    alerts.down = False
    pipeline.process(parse_events([rdp_event("e2", "2026-11-22T03:10:00Z")]))
    assert [(s[1], s[2]) for s in alerts.sent if s[1] == NSG_RULE] == [(NSG_RULE, "updated")]


def test_a_more_severe_drift_on_an_open_incident_alerts_again() -> None:
    alerts = FlakyAlerts()
    pipeline = make(Reader(drifted()), alerts)
    low = parse_events([rdp_event("e1")])
    # the first change is by an expected actor: low severity
    pipeline.baselines = BaselineSet(
        tuple(
            replace(b, expected_actors=("mallory@contoso.example",)) if b.name == NSG_RULE else b
            for b in pipeline.baselines.baselines
        )
    )
    pipeline.process(low)
    other = rdp_event("e2", "2026-11-22T03:10:00Z")
    other["data"]["claims"]["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"] = (
        "eve@contoso.example"
    )
    pipeline.process(parse_events([other]))
    assert [s[0] for s in alerts.sent if s[1] == NSG_RULE] == ["e1", "e2"]


def test_losing_read_access_opens_an_incident_and_reading_again_resolves_it() -> None:
    doc = json.loads((ROOT / "examples/tenant-drifted.json").read_text())
    del doc["arm"]["networkSecurityGroups"]
    doc["readErrors"] = {"arm.networkSecurityGroups": "403 Forbidden: AuthorizationFailed"}
    reader = Reader(Snapshot.from_dict(doc))
    alerts = FlakyAlerts()
    pipeline = make(reader, alerts)
    pipeline.process(parse_events([rdp_event("e1")]))
    assert (NSG_RULE + READ_ERROR) in {s[1] for s in alerts.sent}
    reader.snapshot = drifted()
    pipeline.process(parse_events([rdp_event("e2", "2026-11-22T03:10:00Z")]))
    incidents = pipeline.incidents
    assert isinstance(incidents, MemoryIncidents)
    lost = incidents.get(SCOPE, NSG_RULE, read_error=True)
    assert (lost.rule, lost.status) == (NSG_RULE + READ_ERROR, "resolved")


def test_a_scope_the_reader_refuses_is_an_error_row_not_a_retry_loop() -> None:
    reader = Reader(drifted())
    reader.refuse = True
    pipeline = make(reader)
    [result] = pipeline.process(parse_events([rdp_event()]))
    assert result.outcome == "evaluated"
    assert {f.status for f in result.findings} == {"error"}
    assert "not a scope this reader knows" in result.findings[0].message


def test_a_section_not_captured_is_not_read_as_deleted() -> None:
    doc = json.loads((ROOT / "examples/tenant-drifted.json").read_text())
    del doc["arm"]
    [result] = make(Reader(Snapshot.from_dict(doc))).process(parse_events([rdp_event()]))
    assert {f.status for f in result.findings} == {"error"}
    assert all("not captured" in f.message for f in result.findings)
    assert not any("no longer exists" in f.message for f in result.findings)


def test_future_and_unreadable_times_are_invalid_and_keyed_by_day() -> None:
    pipeline = make(Reader(drifted()))
    results = pipeline.process(
        parse_events(
            [rdp_event("future", "2099-01-01T00:00:00Z"), rdp_event("old", "0001-01-01T00:00:00Z")]
        )
    )
    assert [r.outcome for r in results] == ["invalid", "invalid"]
    ledger = pipeline.ledger
    assert isinstance(ledger, MemoryLedger)
    assert {r.time for r in ledger.rows.values()} == {"2026-11-22T00:00:00Z"}


def test_ids_made_of_unprintable_characters_get_a_stable_id() -> None:
    for ident in ("\x01", "\u200b", ""):
        parsed = parse_event(rdp_event(ident))
        assert parsed.id.startswith("sha256:")
    missing = parse_event({"id": "\x01", "eventType": "x"})
    assert isinstance(missing, Invalid)
    assert missing.id.startswith("sha256:")


def test_failed_eligibility_read_is_an_error_in_scan() -> None:
    doc = json.loads((ROOT / "examples/tenant-drifted.json").read_text())
    del doc["graph"]["directoryRoleEligibilitySchedules"]
    doc["readErrors"] = {"graph.directoryRoleEligibilitySchedules": "403 Forbidden"}
    report = scan(Snapshot.from_dict(doc), load_baselines(ROOT / "baselines"))
    errors = {f.rule for f in report.findings if f.status == "error"}
    assert "global-administrator" in errors
    assert report.exit_code == 2
