"""Role assignment plans: DELETE the unexpected by id, PUT the missing under a new name."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from driftkeeper import Snapshot
from driftkeeper.baseline import BaselineSet, parse_baseline
from driftkeeper.rollback import plan_scan
from tests.builders import OWNER, READER, RG, SUB, assignment, document
from tests.corpus import sample
from tests.rollback.helpers import drift_after, only_plan, only_reason, plan_drift

ARM = "https://management.azure.com"
API = "?api-version=2022-04-01"
PROVIDER = "/providers/Microsoft.Authorization/roleAssignments/"
ALICE = "0a1b2c3d-0000-4000-8000-00000000a11c"
BOB = "0a1b2c3d-0000-4000-8000-000000000b0b"
EVE = "0a1b2c3d-0000-4000-8000-000000000e0e"
CONDITION = "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})))"
OWNER_GUID = OWNER.rsplit("/", 1)[-1]


def tenant(*assignments: dict[str, Any]) -> dict[str, Any]:
    return document(roleAssignments=list(assignments), roleDefinitions=[])


def fixed(identity: str) -> str:
    return "11111111-2222-4333-8444-555555555555"


def test_an_unexpected_assignment_is_deleted_by_its_id() -> None:
    # given Alice as the only Owner, when Eve is made Owner
    eve = assignment(EVE)
    plan = only_plan(tenant(assignment(ALICE)), tenant(assignment(ALICE), eve))
    # then the plan deletes Eve's assignment, by its id, and nothing else
    (step,) = plan.steps
    assert (step.method, step.url, step.body) == ("DELETE", f"{ARM}{eve['id']}{API}", None)
    assert plan.permissions == ("Microsoft.Authorization/roleAssignments/delete",)


@pytest.mark.parametrize(
    ("scope", "role"),
    [(SUB, OWNER), (RG, READER)],
    ids=["at the subscription", "at a resource group below it"],
)
def test_a_removed_assignment_is_put_under_a_new_name(scope: str, role: str) -> None:
    # given Alice and Bob assigned, when Bob's assignment is removed
    before = tenant(assignment(ALICE), assignment(BOB, role, scope))
    plan = only_plan(before, tenant(assignment(ALICE)), new_guid=fixed)
    # then Bob's is PUT at its scope under the injected name, shaped as ARM's example
    (step,) = plan.steps
    assert step.method == "PUT"
    new = f"{ARM}{scope}{PROVIDER}11111111-2222-4333-8444-555555555555{API}"
    assert step.url.casefold() == new.casefold()  # ARM ids are case-insensitive
    example = sample("arm/authorization_RoleAssignments_CreateForSubscription_2022-04-01.json")
    assert step.body is not None
    assert step.body.keys() == example["parameters"]["parameters"].keys()
    assert step.body["properties"] == {
        "roleDefinitionId": f"{SUB}{role}",
        "principalId": BOB,
        "principalType": "User",
    }
    assert plan.permissions == ("Microsoft.Authorization/roleAssignments/write",)
    assert drift_after(before, tenant(assignment(ALICE)), [plan]) == []


def test_a_removed_conditional_assignment_keeps_its_condition() -> None:
    before = tenant(assignment(ALICE), assignment(BOB, condition=CONDITION))
    plan = only_plan(before, tenant(assignment(ALICE)))
    assert plan.steps[0].body is not None
    props = plan.steps[0].body["properties"]
    assert (props["condition"], props["conditionVersion"]) == (CONDITION, "2.0")
    assert drift_after(before, tenant(assignment(ALICE)), [plan]) == []


def test_a_changed_condition_is_put_in_place() -> None:
    bob = assignment(BOB, condition=CONDITION)
    changed = assignment(BOB, condition="((true))")
    plan = only_plan(tenant(bob), tenant(changed))
    assert [(s.method, s.url) for s in plan.steps] == [("PUT", f"{ARM}{bob['id']}{API}")]
    assert drift_after(tenant(bob), tenant(changed), [plan]) == []


def test_a_condition_the_baseline_lacks_is_removed_by_replacing_the_assignment() -> None:
    # given Bob without a condition, when a condition is added to his assignment
    bob = assignment(BOB)
    conditioned = assignment(BOB, condition=CONDITION)
    plan = only_plan(tenant(bob), tenant(conditioned))
    # then the assignment is deleted, then made anew (ARM refuses a second one first)
    assert [s.method for s in plan.steps] == ["DELETE", "PUT"]
    assert plan.steps[0].url == f"{ARM}{conditioned['id']}{API}"
    assert drift_after(tenant(bob), tenant(conditioned), [plan]) == []


def test_puts_come_before_deletes() -> None:
    before = tenant(assignment(ALICE))
    after = tenant(assignment(EVE))
    plan = only_plan(before, after)
    assert [s.method for s in plan.steps] == ["PUT", "DELETE"]
    assert drift_after(before, after, [plan]) == []


def test_new_names_are_stable_and_the_hash_ignores_an_injected_factory() -> None:
    before = tenant(assignment(ALICE), assignment(BOB))
    after = tenant(assignment(ALICE))
    default = [only_plan(before, after) for _ in range(2)]
    assert default[0] == default[1]  # uuid5 of the drift: the same name run to run
    random = only_plan(before, after, new_guid=lambda _: str(uuid.uuid4()))
    assert random.steps[0].url != default[0].steps[0].url
    assert random.plan_hash == default[0].plan_hash


def test_an_unreadable_assignment_is_not_deleted_unseen() -> None:
    broken = assignment(EVE)
    broken["properties"]["principalId"] = None
    reason = only_reason(tenant(assignment(ALICE)), tenant(assignment(ALICE), broken))
    assert "cannot be read" in reason


def test_an_assignment_id_that_may_not_reach_a_url_is_not_planned() -> None:
    hostile = assignment(EVE)
    hostile["id"] = f"{SUB}/../x{PROVIDER}{uuid.uuid4()}"
    plans, not_planned = plan_drift(tenant(assignment(ALICE)), tenant(assignment(ALICE), hostile))
    assert plans == []
    assert "not an ARM scope" in not_planned[0].reason


def test_a_baseline_role_that_is_not_a_guid_is_not_planned() -> None:
    written = {
        "kind": "role-assignments",
        "scope": SUB,
        "expected": {"assignments": [{"principalId": BOB, "roleDefinitionId": "Owner"}]},
    }
    baselines = BaselineSet((parse_baseline(written, "baselines/ra.yaml"),))  # type: ignore[arg-type]
    plans, not_planned = plan_scan(Snapshot.from_dict(tenant()), baselines, guards="none")
    assert plans == []
    assert "not a valid id" in not_planned[0].reason
