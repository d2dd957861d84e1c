"""Plans of the Graph kinds: Conditional Access, directory roles, tenant-wide policies."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from driftkeeper.kinds.conditional_access import policy_body
from tests.builders import GA, document, member, mfa_policy
from tests.corpus import sample
from tests.rollback.helpers import drift_after, only_plan, only_reason

GRAPH = "https://graph.microsoft.com/v1.0"
POLICY_ID = mfa_policy()["id"]
POLICY = f"{GRAPH}/identity/conditionalAccess/policies/{POLICY_ID}"
CA = "Policy.ReadWrite.ConditionalAccess"
ROLES = "RoleManagement.ReadWrite.Directory"
ELIGIBILITY = "RoleEligibilitySchedule.ReadWrite.Directory"
ANN = "0a1b2c3d-0000-4000-8000-0000000000a1"
BOB = "0a1b2c3d-0000-4000-8000-0000000000b2"
EVE = "0a1b2c3d-0000-4000-8000-0000000000e5"


# --- Conditional Access ----------------------------------------------------------------------
def policies(*items: dict[str, Any]) -> dict[str, Any]:
    return document(conditionalAccessPolicies=list(items))


def with_conditions(**users: Any) -> dict[str, Any]:
    policy = mfa_policy()
    policy["conditions"] = copy.deepcopy(policy["conditions"])
    policy["conditions"]["users"].update(users)
    return policy


CA_CASES = {
    "state only": (mfa_policy(state="disabled"), {"state": "enabled"}),
    "report-only": (
        mfa_policy(state="enabledForReportingButNotEnforced"),
        {"state": "enabled"},
    ),
    "session controls the baseline lacks are cleared": (
        mfa_policy(sessionControls={"signInFrequency": {"value": 1, "type": "hours"}}),
        {"sessionControls": None},
    ),
}


@pytest.mark.parametrize(("live", "patch"), CA_CASES.values(), ids=CA_CASES.keys())
def test_a_changed_policy_is_patched_with_the_drifted_properties(
    live: dict[str, Any], patch: dict[str, Any]
) -> None:
    plan = only_plan(policies(mfa_policy()), policies(live))
    assert [(s.method, s.url, s.body) for s in plan.steps] == [("PATCH", POLICY, patch)]
    assert plan.permissions == (CA,)
    assert drift_after(policies(mfa_policy()), policies(live), [plan]) == []


def test_conditions_go_whole_with_what_the_baseline_lacks_cleared() -> None:
    # given the baseline policy, when a user is excluded and a group added to its conditions
    live = with_conditions(
        excludeUsers=[EVE], excludeGroups=["0a1b2c3d-0000-4000-8000-00000000c0c0"]
    )
    plan = only_plan(policies(mfa_policy()), policies(live))
    # then one PATCH carries `conditions` alone, whole, from the baseline
    (step,) = plan.steps
    assert step.body is not None
    assert step.body.keys() == {"conditions"}
    baseline = policy_body(mfa_policy())["conditions"]
    users = step.body["conditions"]["users"]
    assert users["includeRoles"] == baseline["users"]["includeRoles"]
    assert users["excludeUsers"] == baseline["users"]["excludeUsers"]
    # and what the baseline does not have is cleared, so a merging PATCH ends there too
    assert users["excludeGroups"] == []
    assert drift_after(policies(mfa_policy()), policies(live), [plan]) == []


def test_a_deleted_policy_is_recreated_with_one_post() -> None:
    plan = only_plan(policies(mfa_policy()), policies())
    (step,) = plan.steps
    assert (step.method, step.url) == ("POST", f"{GRAPH}/identity/conditionalAccess/policies")
    assert step.body == policy_body(mfa_policy())
    assert step.body is not None
    assert "id" not in step.body
    assert "createdDateTime" not in step.body
    assert plan.notes
    assert "new id" in plan.notes[0]


def test_the_policy_get_of_the_corpus_plans_a_patch_of_its_own_id() -> None:
    policy = sample("graph/conditionalAccess_policy_get_v1.0.json")
    changed = {**policy, "state": "disabled" if policy["state"] != "disabled" else "enabled"}
    plan = only_plan(policies(policy), policies(changed))
    assert plan.steps[0].url == f"{GRAPH}/identity/conditionalAccess/policies/{policy['id']}"
    assert plan.steps[0].body == {"state": policy["state"]}


# --- directory roles -------------------------------------------------------------------------
def roles(active: list[str], eligible: list[str] | None = None) -> dict[str, Any]:
    sections: dict[str, Any] = {"directoryRoleAssignments": [member(p) for p in active]}
    if eligible is not None:
        sections["directoryRoleEligibilitySchedules"] = [
            {**member(p), "id": f"e-{p}", "status": "Provisioned"} for p in eligible
        ]
    return document(**sections)


def request(action: str, principal: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "action": action,
        "justification": "driftkeeper: restore baseline global-administrator",
        "principalId": principal,
        "roleDefinitionId": GA,
        "directoryScopeId": "/",
    }
    if action == "adminAssign":
        body["scheduleInfo"] = {"expiration": {"type": "noExpiration"}}
    return body


ASSIGNMENTS = f"{GRAPH}/roleManagement/directory/roleAssignments"
REQUESTS = f"{GRAPH}/roleManagement/directory/roleEligibilityScheduleRequests"
ROLE_CASES = {
    "an unexpected active member is deleted by assignment id": (
        roles([ANN], []),
        roles([ANN, EVE], []),
        [("DELETE", f"{ASSIGNMENTS}/{GA}-{EVE}", None)],
    ),
    "an unexpected eligible member is removed by request": (
        roles([ANN], [BOB]),
        roles([ANN], [BOB, EVE]),
        [("POST", REQUESTS, request("adminRemove", EVE))],
    ),
    "a removed active member is assigned again": (
        roles([ANN, BOB], []),
        roles([ANN], []),
        [
            (
                "POST",
                ASSIGNMENTS,
                {
                    "@odata.type": "#microsoft.graph.unifiedRoleAssignment",
                    "principalId": BOB,
                    "roleDefinitionId": GA,
                    "directoryScopeId": "/",
                },
            )
        ],
    ),
    "a removed eligible member is made eligible again": (
        roles([ANN], [BOB]),
        roles([ANN], []),
        [("POST", REQUESTS, request("adminAssign", BOB))],
    ),
    "eligibility not captured: only active members are planned": (
        roles([ANN], [BOB]),
        roles([EVE]),
        [
            (
                "POST",
                ASSIGNMENTS,
                {
                    "@odata.type": "#microsoft.graph.unifiedRoleAssignment",
                    "principalId": ANN,
                    "roleDefinitionId": GA,
                    "directoryScopeId": "/",
                },
            ),
            ("DELETE", f"{ASSIGNMENTS}/{GA}-{EVE}", None),
        ],
    ),
}


@pytest.mark.parametrize(("before", "after", "steps"), ROLE_CASES.values(), ids=ROLE_CASES.keys())
def test_directory_role_members_are_restored(
    before: dict[str, Any], after: dict[str, Any], steps: list[tuple[str, str, Any]]
) -> None:
    plan = only_plan(before, after)
    assert [(s.method, s.url, s.body) for s in plan.steps] == steps
    # eligibility requests need only RoleEligibilitySchedule.ReadWrite.Directory
    wanted = {ELIGIBILITY if "/roleEligibilitySchedule" in u else ROLES for _, u, _ in steps}
    assert plan.permissions == tuple(sorted(wanted))
    assert drift_after(before, after, [plan]) == []


def test_a_member_without_an_assignment_id_is_not_planned() -> None:
    after = roles([ANN, EVE], [])
    after["graph"]["directoryRoleAssignments"][1]["id"] = "../../x"
    assert "not a valid key" in only_reason(roles([ANN], []), after)


# --- tenant-wide policies --------------------------------------------------------------------
def test_security_defaults_are_patched_as_graph_documents_it() -> None:
    before = document(securityDefaults={"id": "x", "isEnabled": False})
    after = document(securityDefaults={"id": "x", "isEnabled": True})
    plan = only_plan(before, after)
    (step,) = plan.steps
    assert (step.method, step.url) == (
        "PATCH",
        f"{GRAPH}/policies/identitySecurityDefaultsEnforcementPolicy",
    )
    assert step.body == sample(
        "graph/policies_identitySecurityDefaultsEnforcementPolicy_PATCH_request_disable.json"
    )
    assert plan.permissions == ("Policy.ReadWrite.SecurityDefaults",)
    assert drift_after(before, after, [plan]) == []


def methods(**states: str) -> dict[str, Any]:
    policy = sample("graph/policies_authenticationMethodsPolicy_get_v1.0.json")
    configs = policy["authenticationMethodConfigurations"]
    for config in configs:
        if config["id"] in states:
            config["state"] = states.pop(config["id"])
    configs.extend({"id": k, "state": v} for k, v in states.items())
    return document(authenticationMethodsPolicy=policy)


def without(method: str) -> dict[str, Any]:
    doc = methods()
    policy = doc["graph"]["authenticationMethodsPolicy"]
    policy["authenticationMethodConfigurations"] = [
        c for c in policy["authenticationMethodConfigurations"] if c["id"] != method
    ]
    return doc


CONFIGS = f"{GRAPH}/policies/authenticationMethodsPolicy/authenticationMethodConfigurations"
METHOD_CASES = {
    "a method turned on": (
        methods(Fido2="enabled"),
        [("Fido2", "#microsoft.graph.fido2AuthenticationMethodConfiguration", "disabled")],
    ),
    "two methods flipped": (
        methods(Sms="disabled", TemporaryAccessPass="enabled"),
        [
            ("Sms", "#microsoft.graph.smsAuthenticationMethodConfiguration", "enabled"),
            (
                "TemporaryAccessPass",
                "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration",
                "disabled",
            ),
        ],
    ),
    "a method no longer listed: its type derived from its id": (
        without("MicrosoftAuthenticator"),
        [
            (
                "MicrosoftAuthenticator",
                "#microsoft.graph.microsoftAuthenticatorAuthenticationMethodConfiguration",
                "disabled",
            )
        ],
    ),
}


@pytest.mark.parametrize(("after", "patches"), METHOD_CASES.values(), ids=METHOD_CASES.keys())
def test_authentication_methods_are_patched_one_configuration_each(
    after: dict[str, Any], patches: list[tuple[str, str, str]]
) -> None:
    plan = only_plan(methods(), after)
    assert [(s.method, s.url, s.body) for s in plan.steps] == [
        ("PATCH", f"{CONFIGS}/{method}", {"@odata.type": odata, "state": state})
        for method, odata, state in patches
    ]
    assert plan.permissions == ("Policy.ReadWrite.AuthenticationMethod",)
    assert drift_after(methods(), after, [plan]) == []


def test_a_method_the_baseline_does_not_name_is_not_planned() -> None:
    reason = only_reason(methods(), methods(SoftwareOath="enabled"))
    assert reason == (
        "authentication method SoftwareOath is not in the baseline: "
        "it says nothing to restore it to"
    )
