"""The event pipeline over the bundled tenant: route, read, evaluate, record, respond."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from driftkeeper import Snapshot
from driftkeeper.baseline import load_baselines
from driftkeeper.intake import parse_events
from driftkeeper.live import CoalescingReader, snapshot_reader
from driftkeeper.memory import MemoryIncidents, MemoryLedger
from driftkeeper.pipeline import Pipeline
from tests.builders import corpus
from tests.fakes.alerts import RecordingAlerts

ROOT = Path(__file__).resolve().parents[1]
SELF_APP = "d1f7c0de-0000-4000-8000-00000000d12f"
GA_MEMBER = "3f2e1d0c-9b8a-4765-8432-10fedcba9801"


def events() -> list[Any]:
    return json.loads((ROOT / "examples/events-burst.json").read_text())


@pytest.fixture
def pipeline() -> Pipeline:
    return Pipeline(
        load_baselines(ROOT / "baselines"),
        snapshot_reader(Snapshot.from_file(ROOT / "examples/tenant-drifted.json")),
        MemoryLedger(),
        MemoryIncidents(),
        RecordingAlerts(),
        self_ids=frozenset({SELF_APP}),
    )


def outcomes(pipeline: Pipeline, items: list[Any]) -> dict[str, str]:
    return {r.id: r.outcome for r in pipeline.process(parse_events(items))}


def test_the_burst_is_judged(pipeline: Pipeline) -> None:
    results = pipeline.process(parse_events(events()))
    by_outcome: dict[str, int] = {}
    for r in results:
        by_outcome[r.outcome] = by_outcome.get(r.outcome, 0) + 1
    assert by_outcome == {"evaluated": 23, "duplicate": 1, "ignored": 2, "self": 1, "invalid": 1}
    drift = {f.rule for r in results for f in r.findings if f.status == "drift"}
    assert drift == {
        "6f1c2a3b-rg-web-prod-nsg-web-prod",
        "guard:nsg-internet-management-ports",
        "subscription-6f1c2a3b-4d5e-4f60-8a91-b2c3d4e5f607",
        "ca001-require-mfa-for-administrators-c0ffee00",
        "guard:ca-mfa-privileged-roles",  # the policy went report-only: judged at once
    }


def test_every_signal_leaves_rows_and_the_row_says_who(pipeline: Pipeline) -> None:
    pipeline.process(parse_events(events()))
    ledger = pipeline.ledger
    assert isinstance(ledger, MemoryLedger)
    rows = list(ledger.rows.values())
    assert {r.outcome for r in rows} == {"drift", "compliant", "ignored", "self", "invalid"}
    [rdp] = [r for r in rows if r.rule == "6f1c2a3b-rg-web-prod-nsg-web-prod"]
    assert (rdp.actor_upn, rdp.actor_ip, rdp.operation) == (
        "mallory@contoso.example",
        "203.0.113.45",
        "Microsoft.Network/networkSecurityGroups/securityRules/write",
    )
    assert rdp.correlation_id == "c0a1b2c3-0001-4000-8000-000000000001"
    assert rdp.changes


def test_redelivery_leaves_one_row_and_one_alert(pipeline: Pipeline) -> None:
    pipeline.process(parse_events(events()))
    ledger, alerts = pipeline.ledger, pipeline.alerts
    assert isinstance(ledger, MemoryLedger)
    assert isinstance(alerts, RecordingAlerts)
    rows, sent = len(ledger.rows), list(alerts.sent)
    # when Event Grid delivers the whole burst again
    pipeline.process(parse_events(events()))
    assert len(ledger.rows) == rows
    assert alerts.sent == sent
    assert len(sent) == 5  # one per opened incident


def test_repeated_drift_updates_the_incident_without_a_new_alert(pipeline: Pipeline) -> None:
    first = events()[0]
    again = copy.deepcopy(first)
    again["id"] = "another-write-to-the-same-nsg"
    again["eventTime"] = "2026-11-22T03:30:00Z"
    pipeline.process(parse_events([first]))
    pipeline.process(parse_events([again]))
    alerts = pipeline.alerts
    assert isinstance(alerts, RecordingAlerts)
    assert [s[2] for s in alerts.sent] == ["opened", "opened"]  # baseline + guard, once each


def test_return_to_compliance_resolves(pipeline: Pipeline) -> None:
    pipeline.process(parse_events([events()[0]]))
    fixed = Pipeline(
        pipeline.baselines,
        snapshot_reader(Snapshot.from_file(ROOT / "examples/tenant-known-good.json")),
        pipeline.ledger,
        pipeline.incidents,
        pipeline.alerts,
    )
    later = copy.deepcopy(events()[0])
    later.update(
        id="rule-deleted",
        eventTime="2026-11-22T04:00:00Z",
        eventType="Microsoft.Resources.ResourceDeleteSuccess",
    )
    later["data"]["operationName"] = "Microsoft.Network/networkSecurityGroups/securityRules/delete"
    incidents = pipeline.incidents
    assert isinstance(incidents, MemoryIncidents)
    fixed.process(parse_events([later]))
    assert {i.status for i in incidents.incidents()} == {"resolved"}


def test_expected_actor_is_alerted_at_low_severity(tmp_path: Path) -> None:
    baselines = tmp_path / "b"
    for path in (ROOT / "baselines").rglob("*.yaml"):
        target = baselines / path.relative_to(ROOT / "baselines")
        target.parent.mkdir(parents=True, exist_ok=True)
        text = path.read_text()
        if "nsg-web-prod" in path.name:
            text = text.replace("expectedActors: []", "expectedActors: [mallory@contoso.example]")
        target.write_text(text)
    p = Pipeline(
        load_baselines(baselines),
        snapshot_reader(Snapshot.from_file(ROOT / "examples/tenant-drifted.json")),
        MemoryLedger(),
        MemoryIncidents(),
    )
    [result] = p.process(parse_events([events()[0]]))
    by_rule = {f.rule: f for f in result.findings}
    assert by_rule["6f1c2a3b-rg-web-prod-nsg-web-prod"].severity == "low"
    assert "(by an expected actor)" in by_rule["6f1c2a3b-rg-web-prod-nsg-web-prod"].message
    assert by_rule["guard:nsg-internet-management-ports"].severity == "critical"


def test_graph_notification_for_a_role_member_re_reads_the_role(pipeline: Pipeline) -> None:
    note = corpus("eventgrid/graph_partner_microsoft_graph_user_updated.json")
    note["data"]["resourceData"]["id"] = GA_MEMBER
    [result] = pipeline.process(parse_events([note]))
    assert result.outcome == "evaluated"
    ledger = pipeline.ledger
    assert isinstance(ledger, MemoryLedger)
    assert any(
        r.kind == "directory-role" and r.outcome == "compliant" for r in ledger.rows.values()
    )


def test_a_burst_costs_one_read_per_resource() -> None:
    reader = CoalescingReader(
        snapshot_reader(Snapshot.from_file(ROOT / "examples/tenant-drifted.json")), window=60
    )
    p = Pipeline(load_baselines(ROOT / "baselines"), reader, MemoryLedger(), MemoryIncidents())
    p.process(parse_events(events()))
    # nsg-web-prod, nsg-data-prod, the subscription's assignments, one CA policy, and all
    # CA policies and security defaults for the tenant-wide MFA and legacy-auth guards
    assert reader.reads == 6


def test_a_failed_read_is_an_error_row_not_compliant(pipeline: Pipeline) -> None:
    doc = json.loads((ROOT / "examples/tenant-drifted.json").read_text())
    del doc["arm"]["networkSecurityGroups"]
    doc["readErrors"] = {"arm.networkSecurityGroups": "403 Forbidden: AuthorizationFailed"}
    p = Pipeline(
        pipeline.baselines,
        snapshot_reader(Snapshot.from_dict(doc)),
        MemoryLedger(),
        MemoryIncidents(),
    )
    [result] = p.process(parse_events([events()[0]]))
    assert [f.status for f in result.findings] == ["error"]
    assert "403 Forbidden" in result.findings[0].message


def test_reconcile_records_every_setting_and_alerts_once(pipeline: Pipeline) -> None:
    snapshot = Snapshot.from_file(ROOT / "examples/tenant-drifted.json")
    drift = pipeline.reconcile(snapshot, run_id="2026-11-22T06:00:00Z")
    assert {f.rule for f in drift} >= {
        "guard:ca-mfa-privileged-roles",
        "6f1c2a3b-rg-web-prod-nsg-web-prod",
    }
    ledger, alerts = pipeline.ledger, pipeline.alerts
    assert isinstance(ledger, MemoryLedger)
    assert isinstance(alerts, RecordingAlerts)
    rows = len(ledger.rows)
    assert rows >= 28  # every baseline and guard verdict, compliant ones too
    sent = len(alerts.sent)
    # a retried timer run rewrites the same rows and alerts nobody again
    pipeline.reconcile(snapshot, run_id="2026-11-22T06:00:00Z")
    assert (len(ledger.rows), len(alerts.sent)) == (rows, sent)
    # the next run finds the same drift: incidents are updated, not re-alerted
    pipeline.reconcile(snapshot, run_id="2026-11-22T12:00:00Z")
    assert len(alerts.sent) == sent
