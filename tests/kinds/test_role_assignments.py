"""Role assignments: identity by (role GUID, principal, scope); descendants covered."""

from __future__ import annotations

import pytest

from driftkeeper import Snapshot
from driftkeeper.engine import scan
from tests.builders import OWNER, READER, RG, SUB, assignment, baselines_of, document


def findings(before: list, after: list) -> list:
    report = scan(
        Snapshot.from_dict(document(roleAssignments=after)),
        baselines_of(document(roleAssignments=before)),
        guards="none",
    )
    return list(report.findings)


def test_same_assignments_with_new_ids_and_timestamps_never_drift() -> None:
    before = [assignment("p1"), assignment("p2", READER, RG)]
    after = [assignment("p1"), assignment("p2", READER, RG)]
    for a in after:
        a["id"] += "0"
        a["properties"]["createdOn"] = "2027-01-01T00:00:00Z"
        a["properties"]["principalType"] = "ServicePrincipal"
    assert findings(before, after) == []


@pytest.mark.parametrize(
    "spelling",
    [
        f"{SUB}{OWNER}",
        OWNER,
        OWNER.upper().replace(
            "/PROVIDERS/MICROSOFT.AUTHORIZATION/ROLEDEFINITIONS",
            "/providers/Microsoft.Authorization/roleDefinitions",
        ),
    ],
    ids=["subscription-qualified", "tenant-level id", "guid in upper case"],
)
def test_role_definition_id_spellings_are_one_role(spelling: str) -> None:
    after = [assignment("p1")]
    after[0]["properties"]["roleDefinitionId"] = spelling
    assert findings([assignment("p1")], after) == []


def test_scope_case_never_drifts() -> None:
    after = [assignment("p2", READER, RG.upper().replace("SUBSCRIPTIONS", "subscriptions"))]
    assert findings([assignment("p2", READER, RG)], after) == []


def test_new_owner_on_a_resource_group_is_drift_of_the_subscription_baseline() -> None:
    [finding] = findings([assignment("p1")], [assignment("p1"), assignment("intruder", OWNER, RG)])
    assert finding.resource == SUB
    [change] = finding.changes
    assert change.expected is None
    assert change.actual["principalId"] == "intruder"
    assert finding.message.endswith(f"Owner granted to User intruder at {RG.casefold()}")


def test_removed_assignment_is_drift_and_removing_all_is_not_a_missing_resource() -> None:
    [finding] = findings([assignment("p1")], [])
    assert finding.status == "drift"
    assert "Owner removed from" in finding.message


def test_changed_abac_condition_is_drift() -> None:
    before = [assignment("p1", condition="@Resource[x] StringEquals 'a'")]
    after = [assignment("p1", condition="@Resource[x]  StringEquals 'b'")]
    [finding] = findings(before, after)
    assert [c.path.rsplit(".", 1)[-1] for c in finding.changes] == ["condition"]


def test_az_cli_flattened_assignments_are_accepted() -> None:
    rest = assignment("p1")
    flat = {
        "id": rest["id"],
        "name": rest["name"],
        "type": rest["type"],
        "principalId": "p1",
        "principalName": "ann@contoso.com",
        "principalType": "User",
        "roleDefinitionId": f"{SUB}{OWNER}",
        "roleDefinitionName": "Owner",
        "scope": SUB,
        "resourceGroup": None,
        "condition": None,
    }
    assert findings([rest], [flat]) == []


@pytest.mark.parametrize(
    "props",
    [
        pytest.param({"roleDefinitionId": OWNER, "scope": SUB}, id="no principalId"),
        pytest.param({"principalId": 7, "roleDefinitionId": OWNER}, id="principalId not text"),
        pytest.param({"principalId": "p", "roleDefinitionId": OWNER, "scope": 3}, id="scope 3"),
    ],
)
def test_an_unreadable_assignment_is_drift_and_fails_the_owner_count(props: dict) -> None:
    # given a baselined subscription with two Owners, and an assignment that cannot be read
    good = document(roleAssignments=[assignment("o1"), assignment("o2")])
    broken = assignment("x")
    broken["properties"] = props
    doc = document(roleAssignments=[assignment("o1"), assignment("o2"), broken])
    # when it is scanned
    report = scan(Snapshot.from_dict(doc), baselines_of(good))
    # then the baseline drifts (never compliant) and the Owner count fails closed
    drift = {(f.rule, f.status) for f in report.findings if f.status != "compliant"}
    assert any(status == "drift" and not rule.startswith("guard:") for rule, status in drift)
    assert ("guard:subscription-owner-count", "drift") in drift
    owners = next(f for f in report.findings if f.rule == "guard:subscription-owner-count")
    assert "cannot be counted" in owners.message
    # and capture still writes a baseline that loads (the unreadable assignment left out)
    assert baselines_of(doc).of_kind("role-assignments")
