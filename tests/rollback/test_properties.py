"""Whatever the drift, applying its plan to the live state (the simulator refuses what ARM and
Graph refuse) yields a state the engine judges compliant; a plan that cannot be made says
why."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.builders import GA, OWNER, READER, RG, SUB, assignment, document, member, mfa_policy, nsg
from tests.builders import rule as nsg_rule
from tests.rollback.helpers import drift_after, plan_drift

PRINCIPALS = [f"0a1b2c3d-0000-4000-8000-00000000000{i}" for i in range(4)]
CONDITION = "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})))"


def _unique_slots(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """ARM keeps priorities unique per direction: drop rules on a slot already taken."""
    seen: set[tuple[str, int]] = set()
    out = []
    for item in rules:
        props = item["properties"]
        slot = (props["direction"], props["priority"])
        if slot not in seen:
            seen.add(slot)
            out.append(item)
    return out


RULE = st.builds(
    lambda name, priority, direction, port, access, source: nsg_rule(
        name,
        priority,
        direction=direction,
        destinationPortRange=port,
        access=access,
        sourceAddressPrefix=source,
    ),
    st.sampled_from("abcde"),
    st.sampled_from([100, 110, 120, 130]),
    st.sampled_from(["Inbound", "Outbound"]),
    st.sampled_from(["22", "443", "*", "8080-8085"]),
    st.sampled_from(["Allow", "Deny"]),
    st.sampled_from(["Internet", "10.0.0.0/8", "*"]),
)
RULES = st.lists(RULE, max_size=5, unique_by=lambda r: r["name"]).map(_unique_slots)


@settings(max_examples=120)
@given(RULES, RULES)
def test_nsg_plans_restore_the_baseline_or_say_why_not(
    baseline: list[dict[str, Any]], live: list[dict[str, Any]]
) -> None:
    before = document(networkSecurityGroups=[nsg(baseline)])
    after = document(networkSecurityGroups=[nsg(live)])
    plans, not_planned = plan_drift(before, after)
    if not_planned:
        # the only drift two valid rule sets cannot be walked between: a priority cycle
        (item,) = not_planned
        assert "would swap priorities" in item.reason
        return
    assert drift_after(before, after, plans) == []
    for step in (s for p in plans for s in p.steps):
        assert "/securityRules/" in step.url
        assert step.method in ("PUT", "DELETE")


ASSIGNMENT = st.builds(
    lambda principal, role, scope, condition: assignment(
        principal, role, scope, **({"condition": condition} if condition else {})
    ),
    st.sampled_from(PRINCIPALS),
    st.sampled_from([OWNER, READER]),
    st.sampled_from([SUB, RG]),
    st.sampled_from([None, CONDITION, "((true))"]),
)
ASSIGNMENTS = st.lists(ASSIGNMENT, max_size=5, unique_by=lambda a: a["id"])


@given(ASSIGNMENTS, ASSIGNMENTS)
def test_role_assignment_plans_restore_the_baseline(
    baseline: list[dict[str, Any]], live: list[dict[str, Any]]
) -> None:
    before = document(roleAssignments=baseline, roleDefinitions=[])
    after = document(roleAssignments=live, roleDefinitions=[])
    plans, not_planned = plan_drift(before, after)
    assert not_planned == []
    assert drift_after(before, after, plans) == []


MEMBERS = st.lists(st.sampled_from(PRINCIPALS), max_size=4, unique=True)


def _roles(active: list[str], eligible: list[str] | None) -> dict[str, Any]:
    sections: dict[str, Any] = {"directoryRoleAssignments": [member(p) for p in active]}
    if eligible is not None:
        sections["directoryRoleEligibilitySchedules"] = [
            {**member(p), "id": f"e-{p}", "status": "Provisioned"} for p in eligible
        ]
    return document(**sections)


@given(MEMBERS, MEMBERS, MEMBERS, st.one_of(st.none(), MEMBERS))
def test_directory_role_plans_restore_the_baseline(
    active: list[str], eligible: list[str], live_active: list[str], live_eligible: list[str] | None
) -> None:
    before = _roles(active, eligible)
    after = _roles(live_active, live_eligible)
    plans, not_planned = plan_drift(before, after)
    assert not_planned == []
    assert drift_after(before, after, plans) == []
    assert all(s.url.split("/roleManagement/directory/")[1] for p in plans for s in p.steps)
    assert all(s.body is None or s.body["roleDefinitionId"] == GA for p in plans for s in p.steps)


STATES = st.sampled_from(["enabled", "disabled", "enabledForReportingButNotEnforced"])
USERS = st.fixed_dictionaries(
    {},
    optional={
        "excludeUsers": st.lists(st.sampled_from(PRINCIPALS), max_size=2),
        "includeGroups": st.lists(st.sampled_from(PRINCIPALS), max_size=2),
        "includeRoles": st.lists(st.sampled_from([GA, PRINCIPALS[0]]), max_size=2),
    },
)
SESSION = st.one_of(
    st.none(), st.just({"signInFrequency": {"value": 4, "type": "hours", "isEnabled": True}})
)
GRANT = st.sampled_from(
    [
        {"operator": "OR", "builtInControls": ["mfa"]},
        {"operator": "AND", "builtInControls": ["mfa", "compliantDevice"]},
        {"operator": "OR", "builtInControls": ["block"]},
    ]
)


def _policy(state: str, users: dict[str, Any], session: Any, grant: Any) -> dict[str, Any]:
    policy = mfa_policy(state=state, sessionControls=session, grantControls=grant)
    policy["conditions"] = copy.deepcopy(policy["conditions"])
    policy["conditions"]["users"] = {"includeUsers": ["All"], **users}
    return policy


POLICY = st.builds(_policy, STATES, USERS, SESSION, GRANT)


@given(POLICY, POLICY)
def test_conditional_access_patches_restore_the_baseline_even_when_graph_merges(
    baseline: dict[str, Any], live: dict[str, Any]
) -> None:
    before = document(conditionalAccessPolicies=[baseline])
    after = document(conditionalAccessPolicies=[live])
    plans, not_planned = plan_drift(before, after)
    assert not_planned == []
    assert [s.method for p in plans for s in p.steps] in ([], ["PATCH"])
    assert drift_after(before, after, plans) == []
