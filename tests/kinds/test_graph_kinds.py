"""Conditional Access, directory roles, security defaults and authentication methods."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftkeeper import BaselineError, FieldError, Snapshot
from driftkeeper.baseline import load_baselines, parse_baseline
from driftkeeper.capture import capture_baselines
from driftkeeper.engine import scan
from driftkeeper.kinds.tenant_policies import SecurityDefaults
from tests.builders import GA, baselines_of, corpus, document, healthy, member, mfa_policy


def drift(before: dict[str, Any], after: dict[str, Any]) -> list[Any]:
    return list(scan(Snapshot.from_dict(after), baselines_of(before), guards="none").findings)


def with_policy(policy: dict[str, Any]) -> dict[str, Any]:
    return document(conditionalAccessPolicies=[policy])


CA_SAME = {
    "enum case": lambda p: p["grantControls"].update(operator="or", builtInControls=["MFA"]),
    "list order": lambda p: p["conditions"]["users"]["includeRoles"].reverse(),
    "null vs empty list": lambda p: p["conditions"]["users"].update(excludeRoles=None),
    "absent vs empty": lambda p: p["conditions"]["applications"].pop("excludeApplications"),
    "odata annotations and timestamps": lambda p: p.update(
        {"@odata.etag": "x", "modifiedDateTime": "2027-01-01T00:00:00Z"}
    ),
    "null session controls vs absent": lambda p: p.pop("sessionControls"),
    "nested timestamps and odata keys": lambda p: p["grantControls"].update(
        {"authenticationStrength@odata.context": "https://graph.microsoft.com/v1.0/$metadata#x"}
    ),
}


@pytest.mark.parametrize("edit", CA_SAME.values(), ids=CA_SAME.keys())
def test_ca_equivalent_forms_never_drift(edit: Any) -> None:
    after = copy.deepcopy(mfa_policy())
    edit(after)
    assert drift(with_policy(mfa_policy()), with_policy(after)) == []


def test_ca_authentication_strength_timestamps_are_volatile() -> None:
    def strength(created: str) -> dict[str, Any]:
        policy = mfa_policy()
        policy["grantControls"]["authenticationStrength"] = {
            "id": "00000000-0000-0000-0000-000000000002",
            "createdDateTime": created,
            "modifiedDateTime": created,
            "allowedCombinations": ["password,sms", "fido2"],
        }
        return policy

    captured = strength("2022-01-26T10:47:26.6044384Z")
    assert (
        drift(with_policy(captured), with_policy(strength("2022-01-26T10:47:26.604438+00:00")))
        == []
    )
    weaker = strength("2022-01-26T10:47:26.6044384Z")
    weaker["grantControls"]["authenticationStrength"]["allowedCombinations"].append("password")
    [finding] = drift(with_policy(captured), with_policy(weaker))
    assert "allowedCombinations: added password" in finding.message


def test_ca_report_only_is_drift_in_words() -> None:
    [finding] = drift(
        with_policy(mfa_policy()), with_policy(mfa_policy("enabledForReportingButNotEnforced"))
    )
    assert finding.message.endswith(
        "policy state changed from enabled to report-only (not enforced)"
    )
    assert [c.path for c in finding.changes] == ["state"]


def test_ca_setting_the_baseline_did_not_have_is_drift() -> None:
    after = mfa_policy()
    after["conditions"]["locations"] = {
        "includeLocations": ["All"],
        "excludeLocations": ["AllTrusted"],
    }
    [finding] = drift(with_policy(mfa_policy()), with_policy(after))
    assert [c.path for c in finding.changes] == ["conditions.locations"]
    assert "not in the baseline" in finding.message


def test_ca_excluded_user_added_is_reported_as_list_delta() -> None:
    after = mfa_policy()
    after["conditions"]["users"]["excludeUsers"].append("attacker")
    [finding] = drift(with_policy(mfa_policy()), with_policy(after))
    assert "conditions.users.excludeUsers: added attacker" in finding.message


def test_ca_deleted_policy_is_drift() -> None:
    [finding] = drift(with_policy(mfa_policy()), document(conditionalAccessPolicies=[]))
    assert "was deleted" in finding.message


def test_directory_role_member_added_and_removed() -> None:
    before = document(directoryRoleAssignments=[member("a", name="Ann"), member("b", name="Bob")])
    after = document(directoryRoleAssignments=[member("a", name="Ann"), member("eve", name="Eve")])
    [finding] = drift(before, after)
    assert finding.resource.endswith(GA)
    assert "Eve (eve) added as active member" in finding.message
    assert "Bob (b) is no longer an active member" in finding.message


def test_directory_role_member_added_to_an_empty_privileged_role_is_drift() -> None:
    before = document(directoryRoleAssignments=[member("a")])
    after = document(
        directoryRoleAssignments=[member("a"), member("x", "e8611ab8-c189-46e8-94e1-60213ab1f814")]
    )
    [finding] = drift(before, after)
    assert finding.resource.endswith("e8611ab8-c189-46e8-94e1-60213ab1f814")


def test_eligibility_not_captured_is_not_read_as_removed() -> None:
    eligible = [{**member("e1"), "status": "Provisioned"}]
    before = document(
        directoryRoleAssignments=[member("a")], directoryRoleEligibilitySchedules=eligible
    )
    after = document(directoryRoleAssignments=[member("a")])  # eligibility section absent
    report = scan(Snapshot.from_dict(after), baselines_of(before), guards="none")
    assert report.drift == 0
    assert any("eligibility not captured" in s for s in report.skipped)


def test_new_eligible_member_is_drift() -> None:
    before = document(directoryRoleAssignments=[member("a")], directoryRoleEligibilitySchedules=[])
    after = document(
        directoryRoleAssignments=[member("a")], directoryRoleEligibilitySchedules=[member("e1")]
    )
    [finding] = drift(before, after)
    assert "eligible (PIM) member" in finding.message


def test_security_defaults_switched_off_is_drift() -> None:
    before = document(
        securityDefaults=corpus(
            "graph/policies_identitySecurityDefaultsEnforcementPolicy_get_v1.0.json"
        )
    )
    after = document(securityDefaults={"isEnabled": False})
    [finding] = drift(before, after)
    assert finding.message.endswith("security defaults were disabled")


def test_authentication_method_state_case_and_change() -> None:
    policy = corpus("graph/policies_authenticationMethodsPolicy_get_v1.0.json")
    shouted = copy.deepcopy(policy)
    for c in shouted["authenticationMethodConfigurations"]:
        c["state"] = c["state"].upper()
    assert (
        drift(
            document(authenticationMethodsPolicy=policy),
            document(authenticationMethodsPolicy=shouted),
        )
        == []
    )
    changed = copy.deepcopy(policy)
    sms = next(c for c in changed["authenticationMethodConfigurations"] if c["id"] == "Sms")
    sms["state"] = "disabled"
    [finding] = drift(
        document(authenticationMethodsPolicy=policy), document(authenticationMethodsPolicy=changed)
    )
    assert "authentication method sms changed from enabled to disabled" in finding.message


def test_healthy_tenant_has_no_drift_and_every_kind_is_judged() -> None:
    report = scan(Snapshot.from_dict(healthy()), baselines_of(healthy()))
    assert report.findings == ()
    assert report.compliant >= 6 + 5


# --- security defaults: only a JSON true is on ------------------------------------------------
NOT_BOOLEAN = {
    "string false": {"isEnabled": "false"},
    "string true": {"isEnabled": "true"},
    "zero": {"isEnabled": 0},
    "one": {"isEnabled": 1},
    "null": {"isEnabled": None},
    "absent": {},
    "object": {"isEnabled": {"value": False}},
}


@pytest.mark.parametrize("baseline", [True, False])
@pytest.mark.parametrize("live", NOT_BOOLEAN.values(), ids=NOT_BOOLEAN.keys())
def test_security_defaults_not_a_boolean_live_is_unreadable_drift(
    baseline: bool, live: dict[str, Any]
) -> None:
    before = document(securityDefaults={"isEnabled": baseline})

    [finding] = drift(before, document(securityDefaults=live))

    assert finding.status == "drift"
    assert "security defaults cannot be read (isEnabled: " in finding.message


@given(
    st.recursive(
        st.none() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
        max_leaves=8,
    ),
    st.booleans(),
)
def test_security_defaults_any_non_boolean_is_never_compliant(value: Any, baseline: bool) -> None:
    [finding] = drift(
        document(securityDefaults={"isEnabled": baseline}),
        document(securityDefaults={"isEnabled": value}),
    )
    assert finding.status == "drift"


@pytest.mark.parametrize("value", ["false", "true", 0, None, [], {}])
def test_security_defaults_baseline_must_hold_a_boolean(value: Any) -> None:
    doc = {
        "kind": "security-defaults",
        "scope": "/policies/identitySecurityDefaultsEnforcementPolicy",
        "expected": {"isEnabled": value},
    }
    with pytest.raises(BaselineError) as caught:
        parse_baseline(doc, "sd.yaml")
    assert caught.value.field.startswith("expected")
    # and the kind itself refuses it, whoever calls it
    with pytest.raises(FieldError) as refused:
        SecurityDefaults().expected_state({"isEnabled": value}, "")
    assert refused.value.path == "isEnabled"


def test_unreadable_security_defaults_are_not_captured(tmp_path: Path) -> None:
    snapshot = Snapshot.from_dict(document(securityDefaults={"isEnabled": "false"}))

    result = capture_baselines(snapshot, tmp_path)

    assert not any("security-defaults" in str(p) for p in result.written)
    load_baselines(tmp_path)  # what was written loads


# --- hostile shapes in the Graph kinds: unreadable state, never a crash --------------------
def _methods(edit: Any) -> dict[str, Any]:
    policy = copy.deepcopy(corpus("graph/policies_authenticationMethodsPolicy_get_v1.0.json"))
    edit(policy["authenticationMethodConfigurations"])
    return policy


HOSTILE_METHODS = {
    "not an object": (lambda c: c.append("abc"), "methods[#", "expected an object"),
    "no id": (lambda c: c.append({"state": "enabled"}), "methods[#", ".id: expected an id"),
    "id a number": (lambda c: c.append({"id": 7, "state": "enabled"}), "methods[#", "an id"),
    "state a boolean": (lambda c: c[0].update(state=True), "methods[", ".state: expected enabled"),
    "state missing": (lambda c: c[0].pop("state"), "methods[", ".state: expected enabled"),
    "state unknown": (lambda c: c[0].update(state="on"), "methods[", ".state: expected enabled"),
    "id twice": (lambda c: c.append(dict(c[0])), "methods[", "appears twice"),
}


@pytest.mark.parametrize(
    ("edit", "key", "why"), HOSTILE_METHODS.values(), ids=HOSTILE_METHODS.keys()
)
def test_a_hostile_method_configuration_is_unreadable_drift(edit: Any, key: str, why: str) -> None:
    before = document(authenticationMethodsPolicy=_methods(lambda c: None))

    [finding] = drift(before, document(authenticationMethodsPolicy=_methods(edit)))

    [change] = [c for c in finding.changes if str(c.actual).startswith("unreadable: ")]
    assert change.path.startswith(key)
    assert why in change.actual
    assert "cannot be read" in finding.message


@pytest.mark.parametrize("configurations", ["abc", {"id": "Sms"}, 0, ""])
def test_method_configurations_that_are_not_a_list_are_unreadable(configurations: Any) -> None:
    before = document(authenticationMethodsPolicy=_methods(lambda c: None))
    after = {"id": "policy", "authenticationMethodConfigurations": configurations}

    [finding] = drift(before, document(authenticationMethodsPolicy=after))

    assert finding.status == "drift"
    assert "the methods cannot be read (authenticationMethodConfigurations: expected a list" in (
        finding.message
    )


def test_unreadable_methods_are_left_out_of_a_capture_which_loads(tmp_path: Path) -> None:
    policy = _methods(lambda c: c.append({"id": "Weird", "state": 1}))
    capture_baselines(Snapshot.from_dict(document(authenticationMethodsPolicy=policy)), tmp_path)

    [baseline] = load_baselines(tmp_path).baselines

    assert "methods[weird]" not in baseline.state
    assert baseline.state  # the readable ones are kept


@pytest.mark.parametrize("principal", ["abc", ["x"], 1, True])
def test_a_members_principal_of_the_wrong_shape_is_only_a_missing_label(principal: Any) -> None:
    odd = {**member("ga-3"), "principal": principal}

    findings = drift(document(directoryRoleAssignments=[member("ga-1")]),
                     document(directoryRoleAssignments=[member("ga-1"), odd]))  # fmt: skip

    assert [f.message for f in findings] == [
        "Directory role Global Administrator: ga-3 added as active member"
    ]
