"""The Conditional Access and role-count guards."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from driftkeeper import Snapshot
from driftkeeper.baseline import BaselineSet, GuardSettings
from driftkeeper.engine import scan
from tests.builders import (
    GA,
    READER,
    SUB,
    assignment,
    healthy,
    legacy_block_policy,
    member,
    mfa_policy,
)


def guard(doc: dict[str, Any], name: str, params: dict[str, Any] | None = None) -> list[Any]:
    settings = {name: GuardSettings(name, "g.yaml", params=params or {})}
    report = scan(Snapshot.from_dict(doc), BaselineSet((), settings))
    return [f for f in report.findings if f.rule == f"guard:{name}"]


def test_healthy_tenant_passes_every_guard() -> None:
    report = scan(Snapshot.from_dict(healthy()), BaselineSet())
    assert report.findings == ()
    assert report.compliant == 5


def weaken(edit: Any) -> dict[str, Any]:
    policy = copy.deepcopy(mfa_policy())
    edit(policy)
    return healthy(conditionalAccessPolicies=[policy, legacy_block_policy()])


WEAK_MFA = {
    "report-only": lambda p: p.update(state="enabledForReportingButNotEnforced"),
    "disabled": lambda p: p.update(state="disabled"),
    "mfa OR compliant device": lambda p: p["grantControls"].update(
        builtInControls=["mfa", "compliantDevice"]
    ),
    "no mfa": lambda p: p["grantControls"].update(builtInControls=["compliantDevice"]),
    "role excluded": lambda p: p["conditions"]["users"].update(
        excludeRoles=["62e90394-69f5-4237-9190-012177145e10"]
    ),
    "role not included": lambda p: p["conditions"]["users"]["includeRoles"].remove(
        "62e90394-69f5-4237-9190-012177145e10"
    ),
    "one app only": lambda p: p["conditions"]["applications"].update(
        includeApplications=["00000002-0000-0ff1-ce00-000000000000"]
    ),
    "trusted locations excluded": lambda p: p["conditions"].update(
        locations={"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}
    ),
    "risky sign-ins only": lambda p: p["conditions"].update(signInRiskLevels=["high"]),
    "browser only": lambda p: p["conditions"].update(clientAppTypes=["browser"]),
    "mfa OR terms of use": lambda p: p["grantControls"].update(termsOfUse=["tou-1"]),
    "mfa OR custom factor": lambda p: p["grantControls"].update(customAuthenticationFactors=["x"]),
    "device filter": lambda p: p["conditions"].update(
        devices={"deviceFilter": {"mode": "exclude", "rule": 'device.displayName -eq "SAW"'}}
    ),
    "insider risk only": lambda p: p["conditions"].update(insiderRiskLevels="elevated"),
    "app filter": lambda p: p["conditions"]["applications"].update(
        applicationFilter={"mode": "exclude", "rule": "CustomSecurityAttribute.x -eq 'y'"}
    ),
}


@pytest.mark.parametrize("edit", WEAK_MFA.values(), ids=WEAK_MFA.keys())
def test_mfa_guard_catches_weakened_policies(edit: Any) -> None:
    [finding] = guard(weaken(edit), "ca-mfa-privileged-roles")
    assert finding.status == "drift"
    assert "Global Administrator" in finding.message or "role(s)" in finding.message


STRONG_MFA = {
    "case of enums": lambda p: (
        p.update(state="Enabled")
        or p["grantControls"].update(operator="AND", builtInControls=["MFA"])
    ),
    "mfa AND compliant device": lambda p: p["grantControls"].update(
        operator="AND", builtInControls=["mfa", "compliantDevice"]
    ),
    "authentication strength": lambda p: p["grantControls"].update(
        builtInControls=[], authenticationStrength={"id": "00000000-0000-0000-0000-000000000002"}
    ),
    "all users": lambda p: p["conditions"]["users"].update(includeRoles=[], includeUsers=["All"]),
}


@pytest.mark.parametrize("edit", STRONG_MFA.values(), ids=STRONG_MFA.keys())
def test_mfa_guard_accepts_equivalent_policies(edit: Any) -> None:
    assert guard(weaken(edit), "ca-mfa-privileged-roles") == []


def test_security_defaults_satisfy_both_ca_guards() -> None:
    doc = healthy(conditionalAccessPolicies=[], securityDefaults={"isEnabled": True})
    assert guard(doc, "ca-mfa-privileged-roles") == []
    assert guard(doc, "ca-legacy-auth-blocked") == []


WEAK_LEGACY = {
    "excludes Exchange Online": lambda p: p["conditions"]["applications"].update(
        excludeApplications=["00000002-0000-0ff1-ce00-000000000000"]
    ),
    "outside trusted locations only": lambda p: p["conditions"].update(
        locations={"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}
    ),
    "high risk only": lambda p: p["conditions"].update(signInRiskLevels=["high"]),
    "excludes a role": lambda p: p["conditions"]["users"].update(
        excludeRoles=["62e90394-69f5-4237-9190-012177145e10"]
    ),
}


@pytest.mark.parametrize("edit", WEAK_LEGACY.values(), ids=WEAK_LEGACY.keys())
def test_legacy_auth_guard_catches_narrowed_policies(edit: Any) -> None:
    policy = copy.deepcopy(legacy_block_policy())
    edit(policy)
    assert guard(
        healthy(conditionalAccessPolicies=[mfa_policy(), policy]), "ca-legacy-auth-blocked"
    )


def test_legacy_auth_guard() -> None:
    doc = healthy(conditionalAccessPolicies=[mfa_policy()])
    [finding] = guard(doc, "ca-legacy-auth-blocked")
    assert "Legacy authentication is not blocked" in finding.message
    report_only = {**legacy_block_policy(), "state": "enabledForReportingButNotEnforced"}
    assert guard(
        healthy(conditionalAccessPolicies=[mfa_policy(), report_only]), "ca-legacy-auth-blocked"
    )


@pytest.mark.parametrize(("count", "drift"), [(1, True), (2, False), (4, False), (5, True)])
def test_global_admin_count(count: int, drift: bool) -> None:
    doc = healthy(directoryRoleAssignments=[member(f"ga-{i}") for i in range(count)])
    found = guard(doc, "global-admin-count")
    assert bool(found) == drift
    if drift:
        assert f"{count} Global Administrators" in found[0].message


def test_global_admin_count_is_configurable_and_counts_principals_once() -> None:
    members = [member("a"), member("a"), member("b"), member("c")]
    assert guard(
        healthy(directoryRoleAssignments=members), "global-admin-count", {"min": 2, "max": 2}
    )
    assert (
        guard(healthy(directoryRoleAssignments=members), "global-admin-count", {"min": 3, "max": 3})
        == []
    )


@pytest.mark.parametrize(("owners", "drift"), [(1, True), (2, False), (3, False), (4, True)])
def test_subscription_owner_count(owners: int, drift: bool) -> None:
    assignments = [assignment(f"o{i}") for i in range(owners)] + [assignment("r", READER)]
    found = guard(healthy(roleAssignments=assignments), "subscription-owner-count")
    assert bool(found) == drift
    if drift:
        assert found[0].resource == SUB


def test_resource_group_owners_do_not_count_for_the_subscription() -> None:
    assignments = [
        assignment("o1"),
        assignment("o2"),
        assignment("o3", scope=f"{SUB}/resourceGroups/x"),
    ]
    assert guard(healthy(roleAssignments=assignments), "subscription-owner-count") == []


def test_guard_turned_off_is_a_notice() -> None:
    settings = {
        "global-admin-count": GuardSettings(
            "global-admin-count", "baselines/ga.yaml", enabled=False
        )
    }
    doc = healthy(directoryRoleAssignments=[member("only-one")])
    report = scan(Snapshot.from_dict(doc), BaselineSet((), settings))
    assert report.findings == ()
    assert "guard:global-admin-count: turned off in baselines/ga.yaml" in report.skipped


def test_counting_eligible_admins_needs_the_eligibility_read() -> None:
    members = [member("ga-1"), member("ga-2")]
    failed = healthy(directoryRoleAssignments=members)
    failed["readErrors"] = {"graph.directoryRoleEligibilitySchedules": "403 Forbidden"}
    [finding] = guard(failed, "global-admin-count", {"countEligible": True})
    assert finding.status == "error"
    settings = {
        "global-admin-count": GuardSettings(
            "global-admin-count", "g.yaml", params={"countEligible": True}
        )
    }
    report = scan(
        Snapshot.from_dict(healthy(directoryRoleAssignments=members)), BaselineSet((), settings)
    )
    assert (
        "guard:global-admin-count: graph.directoryRoleEligibilitySchedules not captured"
        in report.skipped
    )


@pytest.mark.parametrize("name", ["ca-mfa-privileged-roles", "ca-legacy-auth-blocked"])
@pytest.mark.parametrize(
    "security_defaults",
    [{"isEnabled": "false"}, {"isEnabled": "true"}, {"isEnabled": 1}, {"isEnabled": None}, {}],
)
def test_security_defaults_count_only_when_a_json_true(
    name: str, security_defaults: dict[str, Any]
) -> None:
    doc = healthy(conditionalAccessPolicies=[], securityDefaults=security_defaults)

    [finding] = guard(doc, name)

    assert finding.status == "drift"
    assert "security defaults unreadable: isEnabled: " in finding.message


# --- a policy of the wrong shape never counts as protection -------------------------------
def _set(*path: str, value: Any) -> Any:
    def edit(policy: dict[str, Any]) -> None:
        target = policy
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return edit


WRONG_SHAPES = {
    "includeUsers a string": _set(
        "conditions", "users", value={"includeUsers": "All", "excludeUsers": ["break-glass"]}
    ),
    "includeRoles a string": _set("conditions", "users", "includeRoles", value=GA),
    "users a string": _set("conditions", "users", value="All"),
    "conditions a list": _set("conditions", value=["All"]),
    "excludeRoles a string": _set("conditions", "users", "excludeRoles", value="x"),
    "includeApplications a string": _set(
        "conditions", "applications", "includeApplications", value="All"
    ),
    "applications a string": _set("conditions", "applications", value="All"),
    "clientAppTypes a string": _set("conditions", "clientAppTypes", value="all"),
    "clientAppTypes of objects": _set("conditions", "clientAppTypes", value=[{"all": 1}]),
    "platforms a string": _set("conditions", "platforms", value="all"),
    "includePlatforms a string": _set("conditions", "platforms", value={"includePlatforms": "all"}),
    "locations a number": _set("conditions", "locations", value=1),
    "a risk level zero": _set("conditions", "signInRiskLevels", value=0),
    "devices a string": _set("conditions", "devices", value="filtered"),
    "grantControls a string": _set("grantControls", value="mfa"),
    "builtInControls a string": _set("grantControls", "builtInControls", value="mfa"),
    "builtInControls a number": _set("grantControls", "builtInControls", value=1),
    "termsOfUse a string": _set("grantControls", "termsOfUse", value="tou"),
    "authenticationStrength a string": lambda p: p["grantControls"].update(
        builtInControls=[], authenticationStrength="strong"
    ),
}


@pytest.mark.parametrize("edit", WRONG_SHAPES.values(), ids=WRONG_SHAPES.keys())
def test_an_mfa_policy_of_the_wrong_shape_does_not_count(edit: Any) -> None:
    [finding] = guard(weaken(edit), "ca-mfa-privileged-roles")
    assert finding.status == "drift"


LEGACY_WRONG_SHAPES = {
    **{k: v for k, v in WRONG_SHAPES.items() if "Roles" not in k and "clientApp" not in k},
    "clientAppTypes a string": _set("conditions", "clientAppTypes", value="exchangeActiveSync"),
    "clientAppTypes of objects": _set(
        "conditions", "clientAppTypes", value=[{"exchangeActiveSync": 1}, "other"]
    ),
    "excludeGroups a string": _set("conditions", "users", "excludeGroups", value="g"),
    "builtInControls a string": _set("grantControls", "builtInControls", value="block"),
}


@pytest.mark.parametrize("edit", LEGACY_WRONG_SHAPES.values(), ids=LEGACY_WRONG_SHAPES.keys())
def test_a_legacy_block_policy_of_the_wrong_shape_does_not_count(edit: Any) -> None:
    policy = copy.deepcopy(legacy_block_policy())
    edit(policy)

    [finding] = guard(
        healthy(conditionalAccessPolicies=[mfa_policy(), policy]), "ca-legacy-auth-blocked"
    )

    assert finding.status == "drift"
