"""A change to a watched setting that no baseline covers is an ``unbaselined`` row (issue 7).

The tenant is :func:`tests.builders.healthy` with its captured baselines; each case adds a
setting after the capture (so no baseline covers it) and a signal that touches it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from driftkeeper import Snapshot
from driftkeeper.baseline import BaselineSet
from driftkeeper.intake import parse_events
from driftkeeper.live import snapshot_reader
from driftkeeper.memory import MemoryIncidents, MemoryLedger
from driftkeeper.pipeline import Pipeline
from driftkeeper.report import replay_summary
from tests.builders import (
    NSG_ID,
    OWNER,
    RG,
    assignment,
    baselines_of,
    healthy,
    mfa_policy,
    nsg,
    rule,
)
from tests.fakes.alerts import RecordingAlerts

ROOT = Path(__file__).resolve().parents[1]
MG = "/providers/Microsoft.Management/managementGroups/mg-platform"
OTHER_SUB = "/subscriptions/00000000-0000-0000-0000-00000000bbbb"
NEW_NSG = f"{RG}/providers/Microsoft.Network/networkSecurityGroups/new-nsg"
NEW_POLICY = "77777777-2222-3333-4444-555555555555"


def _burst(match: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    items: list[dict[str, Any]] = json.loads((ROOT / "examples/events-burst.json").read_text())
    return copy.deepcopy(next(e for e in items if match(e)))


def arm_write(event_id: str, resource: str, operation: str) -> dict[str, Any]:
    """An Event Grid ResourceWriteSuccess for ``resource`` (shaped as the bundled burst's)."""
    event = _burst(lambda e: e.get("eventType") == "Microsoft.Resources.ResourceWriteSuccess")
    event.update(id=event_id, subject=resource, topic=OTHER_SUB)
    data = event["data"]
    data["authorization"].update(scope=resource, action=operation)
    data.update(resourceUri=resource, operationName=operation)
    return event


def ca_audit(event_id: str, policy_id: str) -> dict[str, Any]:
    """An Entra directoryAudit record: a conditional access policy added."""
    record = _burst(lambda e: e.get("category") == "Policy")
    record.update(id=event_id, activityDisplayName="Add conditional access policy")
    record["targetResources"][0].update(id=policy_id, displayName="New policy")
    return record


@dataclass(frozen=True)
class Case:
    """A setting added after the capture, the signal touching it, the key of its row and the
    guards that judge it (each a row of its own)."""

    extra: Callable[[dict[str, Any]], None]
    event: dict[str, Any]
    setting: str
    kind: str
    guards: tuple[str, ...]


def _add(section: str, *items: Any) -> Callable[[dict[str, Any]], None]:
    def add(doc: dict[str, Any]) -> None:
        group = "graph" if section == "conditionalAccessPolicies" else "arm"
        doc[group][section].extend(copy.deepcopy(items))

    return add


RDP_OPEN = rule("allow-rdp", 110, destinationPortRange="3389", sourceAddressPrefix="*")
MG_OWNER = assignment("owner-mg", OWNER, MG)
OTHER_OWNER = assignment("owner-3", OWNER, OTHER_SUB)

CASES = {
    "a new NSG": Case(
        _add("networkSecurityGroups", nsg([RDP_OPEN], NEW_NSG)),
        arm_write(
            "new-nsg-rule",
            f"{NEW_NSG}/securityRules/allow-rdp",
            "Microsoft.Network/networkSecurityGroups/securityRules/write",
        ),
        NEW_NSG.casefold(),
        "nsg",
        ("guard:nsg-internet-management-ports",),
    ),
    "an assignment at a management group": Case(
        _add("roleAssignments", MG_OWNER),
        arm_write("mg-owner", MG_OWNER["id"], "Microsoft.Authorization/roleAssignments/write"),
        MG.casefold(),
        "role-assignments",
        (),  # the Owner-count guard counts subscriptions' Owners only
    ),
    "a subscription no baseline covers": Case(
        _add("roleAssignments", OTHER_OWNER),
        arm_write(
            "other-sub-owner", OTHER_OWNER["id"], "Microsoft.Authorization/roleAssignments/write"
        ),
        OTHER_SUB.casefold(),
        "role-assignments",
        ("guard:subscription-owner-count",),
    ),
    "a CA policy with no baseline": Case(
        _add(
            "conditionalAccessPolicies",
            mfa_policy(id=NEW_POLICY, displayName="New policy", state="disabled"),
        ),
        ca_audit("new-ca-policy", NEW_POLICY),
        f"/identity/conditionalaccess/policies/{NEW_POLICY}",
        "conditional-access-policy",
        ("guard:ca-legacy-auth-blocked", "guard:ca-mfa-privileged-roles"),
    ),
}


def pipeline_for(case: Case) -> Pipeline:
    before = healthy()
    baselines: BaselineSet = baselines_of(before)
    after = copy.deepcopy(before)
    case.extra(after)
    return Pipeline(
        baselines,
        snapshot_reader(Snapshot.from_dict(after)),
        MemoryLedger(),
        MemoryIncidents(),
        RecordingAlerts(),
    )


def _parts(p: Pipeline) -> tuple[MemoryLedger, MemoryIncidents, RecordingAlerts]:
    assert isinstance(p.ledger, MemoryLedger)
    assert isinstance(p.incidents, MemoryIncidents)
    assert isinstance(p.alerts, RecordingAlerts)
    return p.ledger, p.incidents, p.alerts


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_an_unbaselined_change_leaves_one_row_beside_the_guard_rows(case: Case) -> None:
    p = pipeline_for(case)
    ledger, _, _ = _parts(p)

    [result] = p.process(parse_events([case.event]))

    assert result.outcome == "evaluated"
    assert result.unbaselined == (case.setting,)
    [row] = [r for r in ledger.rows.values() if r.outcome == "unbaselined"]
    assert (row.signal_id, row.setting, row.kind, row.rule) == (
        case.event["id"],
        case.setting,
        case.kind,
        "",
    )
    assert row.message.startswith(f"no {case.kind} baseline covers {case.setting}")
    # the guards of the kind still judged it, each in a row of its own, named in this one
    others = sorted((r for r in ledger.rows.values() if r is not row), key=lambda r: r.rule)
    assert tuple(r.rule for r in others) == case.guards
    assert {r.setting for r in others} <= {case.setting}
    for guard_row in others:
        assert f"{guard_row.rule} {guard_row.outcome}" in row.message


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_an_unbaselined_row_opens_no_incident_and_redelivery_keeps_it_one(case: Case) -> None:
    p = pipeline_for(case)
    ledger, incidents, alerts = _parts(p)

    p.process(parse_events([case.event]))
    rows, sent = dict(ledger.rows), list(alerts.sent)
    # when Event Grid (or the audit poll) delivers the same signal again
    p.process(parse_events([copy.deepcopy(case.event)]))

    assert ledger.rows == rows
    assert alerts.sent == sent
    assert all(rule.startswith("guard:") for rule in alerts.rules)
    assert all(i.rule.startswith("guard:") for i in incidents.incidents())


def test_a_guard_still_alerts_on_an_unbaselined_setting() -> None:
    p = pipeline_for(CASES["a new NSG"])
    ledger, incidents, alerts = _parts(p)

    p.process(parse_events([CASES["a new NSG"].event]))

    assert alerts.rules == ["guard:nsg-internet-management-ports"]
    assert [i.rule for i in incidents.incidents()] == ["guard:nsg-internet-management-ports"]
    assert {r.outcome for r in ledger.rows.values()} == {"unbaselined", "drift"}


def test_a_baselined_setting_leaves_no_unbaselined_row() -> None:
    p = pipeline_for(CASES["a new NSG"])
    ledger, _, _ = _parts(p)
    event = arm_write(
        "known-nsg-rule",
        f"{NSG_ID}/securityRules/allow-https",
        "Microsoft.Network/networkSecurityGroups/securityRules/write",
    )

    [result] = p.process(parse_events([event]))

    assert result.unbaselined == ()
    assert "unbaselined" not in {r.outcome for r in ledger.rows.values()}


def test_a_failed_read_of_an_unbaselined_setting_is_an_error_row_only() -> None:
    case = CASES["a new NSG"]
    doc = healthy()
    doc["readErrors"] = {"arm.networkSecurityGroups": "403 Forbidden: AuthorizationFailed"}
    del doc["arm"]["networkSecurityGroups"]
    p = Pipeline(
        baselines_of(healthy()), snapshot_reader(Snapshot.from_dict(doc)), MemoryLedger(),
        MemoryIncidents(),
    )  # fmt: skip
    ledger = p.ledger
    assert isinstance(ledger, MemoryLedger)

    [result] = p.process(parse_events([case.event]))

    assert result.unbaselined == ()
    assert [r.outcome for r in ledger.rows.values()] == ["error"]


def test_replay_summary_counts_the_unbaselined_settings() -> None:
    events = [c.event for c in CASES.values()]
    p = Pipeline(
        baselines_of(healthy()),
        snapshot_reader(Snapshot.from_dict(_all_added())),
        MemoryLedger(),
        MemoryIncidents(),
    )

    results = p.process(parse_events(events))
    summary = replay_summary(results)

    assert summary["evaluated"] == 4
    assert summary["unbaselined"] == 4
    assert [s for r in results for s in r.to_dict().get("unbaselined", [])] == [
        c.setting for c in CASES.values()
    ]


def _all_added() -> dict[str, Any]:
    doc = healthy()
    for case in CASES.values():
        case.extra(doc)
    return doc
