"""NSG plans: rule by rule, never the whole NSG or a default rule; priorities stay unique."""

from __future__ import annotations

from typing import Any

import pytest

from driftkeeper import Snapshot
from driftkeeper.baseline import BaselineSet, parse_baseline
from driftkeeper.rollback import plan_scan
from tests.builders import NSG_ID, document, nsg, rule
from tests.corpus import sample
from tests.rollback.helpers import (
    PUBLIC,
    STAND_IN,
    drift_after,
    only_plan,
    only_reason,
    plan_drift,
)
from tests.rollback.simulator import Refused, apply

RULES = f"https://management.azure.com{NSG_ID}/securityRules"
API = "?api-version=2024-05-01"
WRITE = "Microsoft.Network/networkSecurityGroups/securityRules/write"
DELETE = "Microsoft.Network/networkSecurityGroups/securityRules/delete"


def tenant(*rules: dict[str, Any], **nsg_props: Any) -> dict[str, Any]:
    group = nsg(list(rules))
    group["properties"].update(nsg_props)
    return document(networkSecurityGroups=[group])


HTTPS = rule("allow-https")
SSH = rule("deny-ssh", 200, access="Deny", destinationPortRange="22")
RDP = rule("allow-rdp", 105, destinationPortRange="3389", sourceAddressPrefix="Internet")

CASES = {
    "a rule the baseline lacks is deleted": (
        [HTTPS, SSH],
        [HTTPS, SSH, RDP],
        [("DELETE", "allow-rdp")],
    ),
    "a removed rule is put back": ([HTTPS, SSH], [HTTPS], [("PUT", "deny-ssh")]),
    "a changed rule is put as the baseline has it": (
        [HTTPS, SSH],
        [HTTPS, rule("deny-ssh", 200, access="Allow", destinationPortRange="22")],
        [("PUT", "deny-ssh")],
    ),
    "deletes come before puts": (
        [HTTPS, SSH],
        [HTTPS, RDP],
        [("DELETE", "allow-rdp"), ("PUT", "deny-ssh")],
    ),
    "a removed rule whose priority an added rule took": (
        [HTTPS, SSH],
        [HTTPS, rule("allow-any", 200, destinationPortRange="*")],
        [("DELETE", "allow-any"), ("PUT", "deny-ssh")],
    ),
    "a rule moved onto another's priority: the mover goes first": (
        [rule("a", 100), rule("b", 110, destinationPortRange="80")],
        [rule("a", 110), rule("b", 120, destinationPortRange="80")],
        [("PUT", "a"), ("PUT", "b")],
    ),
}


@pytest.mark.parametrize(("before", "after", "expected"), CASES.values(), ids=CASES.keys())
def test_drift_is_undone_rule_by_rule(
    before: list[dict[str, Any]], after: list[dict[str, Any]], expected: list[tuple[str, str]]
) -> None:
    # given a baseline of `before`, when `after` is live
    plan = only_plan(tenant(*before), tenant(*after))
    # then each step addresses one rule, never the NSG itself
    assert [(s.method, s.url) for s in plan.steps] == [
        (method, f"{RULES}/{name}{API}") for method, name in expected
    ]
    assert set(plan.permissions) == {WRITE if m == "PUT" else DELETE for m, _ in expected}
    # and applying the steps (priorities checked) leaves nothing to judge
    assert drift_after(tenant(*before), tenant(*after), [plan]) == []


def test_the_put_body_is_the_arm_rule_shape_of_the_corpus() -> None:
    # given the rule of Microsoft's securityRules PUT example in a baseline
    example = sample("arm/network_NetworkSecurityGroupRuleCreate_2024-05-01.json")
    created = example["responses"]["201"]["body"]
    live_rule = {**created, "id": f"{NSG_ID}/securityRules/rule1"}
    # when it is deleted
    plan = only_plan(tenant(live_rule), tenant())
    # then the plan PUTs exactly the example's request body
    (step,) = plan.steps
    assert step.method == "PUT"
    assert step.url == f"{RULES}/rule1{API}"
    assert step.body == example["parameters"]["securityRuleParameters"]


def test_several_values_go_in_the_plural_fields_and_asgs_by_id() -> None:
    asg = (
        "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/applicationSecurityGroups/a"
    )
    wide = rule(
        "wide",
        300,
        sourceAddressPrefix=None,
        sourceAddressPrefixes=["10.0.0.0/8", "192.168.0.0/16"],
        destinationPortRange=None,
        destinationPortRanges=["80", "443"],
        destinationAddressPrefix=None,
        destinationApplicationSecurityGroups=[{"id": asg}],
        description="web tier",
    )
    plan = only_plan(tenant(HTTPS, wide), tenant(HTTPS))
    assert plan.steps[0].body == {
        "properties": {
            "priority": 300,
            "direction": "Inbound",
            "access": "Allow",
            "protocol": "Tcp",
            "sourceAddressPrefixes": ["10.0.0.0/8", "192.168.0.0/16"],
            "sourcePortRange": "*",
            "destinationPortRanges": ["80", "443"],
            "destinationApplicationSecurityGroups": [{"id": asg.casefold()}],
        }
    }
    assert drift_after(tenant(HTTPS, wide), tenant(HTTPS), [plan]) == []


CANNOT = {
    "a priority held by a rule the plan leaves alone": (
        # the baseline puts two rules on 100; one is live, the other must come back
        [rule("a", 100), rule("b", 100, destinationPortRange="80")],
        [rule("a", 100)],
        "rule 'b' needs priority 100 (inbound), which rule 'a' holds and this plan does not change",
    ),
    "two rules swapping priorities": (
        [rule("a", 100), rule("b", 110, destinationPortRange="80")],
        [rule("a", 110), rule("b", 100, destinationPortRange="80")],
        "would swap priorities",
    ),
    "a rule named like a default rule": (
        [HTTPS, rule("DenyAllInBound", 4000, access="Deny")],
        [HTTPS],
        "rule 'DenyAllInBound' has the name of a default rule: never written",
    ),
    "a live rule without a name": (
        [HTTPS],
        [HTTPS, {"properties": {"priority": 300}}],
        "a live rule has no name a request could address",
    ),
    "a live rule name that may not reach a URL": (
        [HTTPS],
        [HTTPS, rule("x?y=1", 300)],
        "not a valid name",
    ),
}


@pytest.mark.parametrize(("before", "after", "why"), CANNOT.values(), ids=CANNOT.keys())
def test_what_cannot_proceed_says_why(
    before: list[dict[str, Any]], after: list[dict[str, Any]], why: str
) -> None:
    reason = only_reason(tenant(*before), tenant(*after))
    assert why in reason


def test_a_deleted_nsg_is_not_recreated() -> None:
    reason = only_reason(tenant(HTTPS), document(networkSecurityGroups=[]))
    assert reason == "the NSG no longer exists: a rollback restores rules, never an NSG"


def test_default_rules_are_never_touched() -> None:
    # given an NSG with Azure's default rules, read as ARM sends it
    listed = sample("arm/recorded_nsg_list_after_open_ports.json")
    groups = listed["value"] if isinstance(listed, dict) else listed
    with_defaults = [g for g in groups if g["properties"].get("defaultSecurityRules")]
    assert with_defaults
    group = with_defaults[0]
    before = document(networkSecurityGroups=[{**group, "properties": {
        **group["properties"], "securityRules": []}}])  # fmt: skip
    # when its custom rules drift
    plans, not_planned = plan_drift(before, document(networkSecurityGroups=[group]))
    steps = [s for p in plans for s in p.steps]
    assert steps
    assert not not_planned
    # then only custom rules are addressed
    defaults = {r["name"] for r in group["properties"]["defaultSecurityRules"]}
    custom = {r["name"] for r in group["properties"]["securityRules"]}
    for step in steps:
        assert step.method == "DELETE"
        assert step.url.split("?")[0].rsplit("/", 1)[-1] in custom - defaults
        assert "/securityRules/" in step.url
        assert "defaultSecurityRules" not in step.url


def test_endpoints_are_parameters() -> None:
    plan = only_plan(tenant(HTTPS, SSH), tenant(HTTPS), endpoints=STAND_IN)
    assert plan.steps[0].url == f"{STAND_IN.arm}{NSG_ID}/securityRules/deny-ssh{API}"
    assert drift_after(tenant(HTTPS, SSH), tenant(HTTPS), [plan], STAND_IN) == []


def test_the_simulator_refuses_a_taken_priority() -> None:
    # the check the plans' ordering is verified against
    plan = only_plan(tenant(HTTPS, SSH), tenant(HTTPS))
    taken = tenant(HTTPS, rule("other", 200))
    with pytest.raises(Refused):
        apply(taken, plan.steps, PUBLIC)


def test_a_baseline_rule_s_description_is_written_with_it() -> None:
    # given a hand-written baseline whose rule carries a description (not compared)
    written = {
        "kind": "nsg",
        "scope": NSG_ID,
        "expected": {
            "rules": [
                {
                    "name": "Allow-HTTPS",
                    "description": "the web tier",
                    "priority": 100,
                    "direction": "Inbound",
                    "access": "Allow",
                    "protocol": "Tcp",
                    "sourceAddressPrefix": "10.0.0.0/8",
                    "sourcePortRange": "*",
                    "destinationAddressPrefix": "*",
                    "destinationPortRange": "443",
                }
            ]
        },
    }
    baselines = BaselineSet((parse_baseline(written, "baselines/nsg/web.yaml"),))  # type: ignore[arg-type]
    # when the rule is deleted
    plans, _ = plan_scan(Snapshot.from_dict(tenant()), baselines, guards="none")
    # then it is PUT under the name as the baseline spells it, with its description
    (step,) = plans[0].steps
    assert step.url == f"{RULES}/Allow-HTTPS{API}"
    assert step.body is not None
    assert step.body["properties"]["description"] == "the web tier"
