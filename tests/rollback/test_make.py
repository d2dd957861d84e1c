"""make_plans: one plan per drifted setting, everything else listed as not planned; the
plan hash approvals are bound to."""

from __future__ import annotations

import json
from typing import Any

import pytest

from driftkeeper import Snapshot
from driftkeeper._model import Finding
from driftkeeper.engine import scan
from driftkeeper.kinds import Kind
from driftkeeper.kinds.nsg import NsgRules
from driftkeeper.rollback import (
    GUARD_REASON,
    CannotPlan,
    Plan,
    make_plans,
    plan_hash,
    plan_scan,
    plans_document,
)
from tests.builders import NSG_ID, baselines_of, document, healthy, nsg, rule
from tests.rollback.helpers import STAND_IN, only_plan, plan_drift


def tenant(*rules: dict[str, Any]) -> dict[str, Any]:
    return document(networkSecurityGroups=[nsg(list(rules))])


BEFORE = tenant(rule("a", 100), rule("b", 200))


def test_the_hash_is_stable_run_to_run() -> None:
    after = tenant(rule("a", 100))
    assert only_plan(BEFORE, after).plan_hash == only_plan(BEFORE, after).plan_hash


@pytest.mark.parametrize(
    "other",
    [
        tenant(rule("a", 100)),  # another rule removed
        tenant(rule("b", 200), rule("c", 300)),  # another rule added
        tenant(rule("b", 200), rule("a", 100, destinationPortRange="22")),  # a changed rule
    ],
    ids=["another removal", "an addition", "a change"],
)
def test_the_hash_differs_for_different_drift(other: dict[str, Any]) -> None:
    removed_a = only_plan(BEFORE, tenant(rule("b", 200)))
    assert only_plan(BEFORE, other).plan_hash != removed_a.plan_hash


def test_the_hash_covers_where_requests_go() -> None:
    after = tenant(rule("a", 100))
    assert (
        only_plan(BEFORE, after).plan_hash != only_plan(BEFORE, after, endpoints=STAND_IN).plan_hash
    )


def test_the_hash_is_sha256_of_the_drift_and_the_steps() -> None:
    after = Snapshot.from_dict(tenant(rule("a", 100)))
    report = scan(after, baselines_of(BEFORE), guards="none")
    plans, _ = make_plans(report.findings, baselines_of(BEFORE), after)
    assert plans[0].plan_hash == plan_hash(report.findings[0], plans[0].steps, {})
    assert len(plans[0].plan_hash) == 64


def test_guard_findings_are_never_planned() -> None:
    # given a tenant whose only drift is a guard's (an RDP rule open to the internet, baselined)
    rdp = rule("rdp", 300, destinationPortRange="3389", sourceAddressPrefix="Internet")
    doc = healthy(networkSecurityGroups=[nsg([rdp])])
    plans, not_planned = plan_scan(Snapshot.from_dict(doc), baselines_of(doc))
    # then nothing is planned, and the guard is listed with the reason
    assert plans == []
    guards = [n for n in not_planned if n.rule.startswith("guard:")]
    assert guards
    assert all(n.reason == GUARD_REASON for n in guards)


def test_error_findings_are_listed_not_planned() -> None:
    doc = tenant(rule("a", 100))
    broken = Snapshot.from_dict({**doc, "readErrors": {"arm.networkSecurityGroups": "403"}})
    plans, not_planned = plan_scan(broken, baselines_of(doc), guards="none")
    assert plans == []
    assert [n.reason for n in not_planned] == [
        "the setting could not be judged: could not read arm.networkSecurityGroups: 403"
    ]


def test_a_kind_without_a_planner_is_not_planned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(NsgRules, "plan", Kind.plan)
    plans, not_planned = plan_drift(BEFORE, tenant(rule("a", 100)))
    assert plans == []
    assert [n.reason for n in not_planned] == ["kind nsg has no rollback"]


def test_compliant_settings_are_left_out() -> None:
    assert plan_drift(BEFORE, BEFORE) == ([], [])


def test_findings_without_their_baseline_are_not_planned() -> None:
    finding = Finding("nsg", NSG_ID, "drift", "not-a-baseline", "high", "?")
    plans, not_planned = make_plans([finding], baselines_of(BEFORE), Snapshot.from_dict(BEFORE))
    assert plans == []
    assert "no baseline 'not-a-baseline'" in not_planned[0].reason


def test_a_plan_with_nothing_to_send_is_not_planned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(NsgRules, "plan", lambda self, drift: [])
    plans, not_planned = plan_drift(BEFORE, tenant(rule("a", 100)))
    assert plans == []
    assert "no request would change it" in not_planned[0].reason


def test_cannot_plan_is_the_kind_s_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(NsgRules, "plan", lambda self, drift: CannotPlan("because"))
    assert plan_drift(BEFORE, tenant(rule("a", 100)))[1][0].reason == "because"


def test_the_document_shape() -> None:
    plans, not_planned = plan_drift(BEFORE, tenant(rule("a", 100)))
    doc = json.loads(json.dumps(plans_document(plans, not_planned)))
    assert doc.keys() == {"plans", "notPlanned"}
    (plan,) = doc["plans"]
    assert plan.keys() == {"kind", "resource", "baseline", "steps", "permissions", "planHash"}
    assert [s.keys() for s in plan["steps"]] == [{"method", "url", "body"}]
    assert plan["steps"][0]["url"].startswith("https://management.azure.com/subscriptions/")
    assert isinstance(plans[0], Plan)
