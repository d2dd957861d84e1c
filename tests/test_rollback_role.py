"""infra/modules/rollback-role.bicep: the custom role holds exactly rollback's ARM actions
(driftkeeper/permissions.py), and its assignment's condition forbids writing or deleting an
assignment of Owner, User Access Administrator and Role Based Access Control Administrator,
and nothing else."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# pycep-parser is pinned in requirements-dev.txt: a missing parser is a broken setup, not a skip.
import pycep
import pytest

from driftkeeper.permissions import PROTECTED_ROLES, arm_actions

ROOT = Path(__file__).resolve().parents[1]
MODULE = ROOT / "infra" / "modules" / "rollback-role.bicep"
GUID = re.compile(r"[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}", re.I)
WRITE = "Microsoft.Authorization/roleAssignments/write"
DELETE = "Microsoft.Authorization/roleAssignments/delete"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"


@pytest.fixture(scope="module")
def bicep() -> dict[str, Any]:
    parsed: dict[str, Any] = pycep.BicepParser().parse(file_path=MODULE)
    return parsed


def condition_text(bicep: dict[str, Any]) -> str:
    value = bicep["variables"]["condition"]["value"]
    assert isinstance(value, str)
    return value


def test_the_module_is_subscription_scoped_with_its_parameters(bicep: dict[str, Any]) -> None:
    assert bicep["globals"]["scope"]["value"] == "subscription"
    params = bicep["parameters"]
    assert params["principalId"]["type"] == "string"
    assert params["principalId"]["default"] is None
    assert set(params) == {"principalId"}


def test_the_role_holds_exactly_rollbacks_actions_beyond_reader(bicep: dict[str, Any]) -> None:
    role = bicep["resources"]["rollbackRole"]
    assert role["type"] == "Microsoft.Authorization/roleDefinitions"
    props = role["config"]["properties"]
    assert props["type"] == "CustomRole"
    (permissions,) = props["permissions"]
    wanted = set(arm_actions("rollback")) - set(arm_actions("detect"))
    assert sorted(permissions["actions"]) == sorted(wanted)
    assert not any("*" in a for a in permissions["actions"])
    assert permissions["notActions"] == permissions["dataActions"] == []
    assert len(props["assignableScopes"]) == 1


def test_the_assignment_carries_the_condition(bicep: dict[str, Any]) -> None:
    assignment = bicep["resources"]["rollbackAssignment"]
    assert assignment["type"] == "Microsoft.Authorization/roleAssignments"
    props = assignment["config"]["properties"]
    assert props["condition"] == "condition"  # the variable: the one place it is written
    assert props["conditionVersion"] == "2.0"
    assert props["principalId"] == "principalId"
    assert props["principalType"] == "ServicePrincipal"  # the identity is a managed identity
    role_id = props["roleDefinitionId"]["operator"]["operands"]
    assert role_id == {"operand_1": "rollbackRole", "operand_2": "id"}


def test_the_condition_names_exactly_the_three_protected_roles(bicep: dict[str, Any]) -> None:
    text = condition_text(bicep)
    found = [g.lower() for g in GUID.findall(text)]
    assert set(found) == set(PROTECTED_ROLES)
    assert len(found) == 2 * len(PROTECTED_ROLES)  # once for writes, once for deletes
    # and the module's comment names the same three (for people reading it)
    comments = "\n".join(
        ln for ln in MODULE.read_text(encoding="utf-8").splitlines() if ln.startswith("//")
    )
    assert {g.lower() for g in GUID.findall(comments)} == set(PROTECTED_ROLES)


# --- what the condition allows (Azure's semantics, for the forms it uses) -----------------------
_CLAUSE = re.compile(
    r"\(\s*\(\s*!\(ActionMatches\{'(?P<action>[^']+)'\}\)\s*\)\s*OR\s*\(\s*"
    r"@(?P<source>Request|Resource)\[Microsoft\.Authorization/roleAssignments:RoleDefinitionId\]"
    r"\s+(?P<quantifier>ForAnyOfAllValues|ForAnyOfAnyValues):(?P<operator>GuidNotEquals)"
    r"\s+\{(?P<ids>[^}]*)\}\s*\)\s*\)"
)


@dataclass(frozen=True)
class Clause:
    action: str
    source: str
    quantifier: str
    ids: tuple[str, ...]

    def allows(self, action: str, role: str) -> bool:
        if action != self.action:  # !(ActionMatches{...}) is true
            return True
        differs = [role.lower() != i.lower() for i in self.ids]
        return all(differs) if self.quantifier == "ForAnyOfAllValues" else any(differs)


def clauses(text: str) -> list[Clause]:
    found = list(_CLAUSE.finditer(text))
    # the whole condition is these clauses joined by AND, nothing else
    rest = _CLAUSE.sub("", text)
    assert rest.split() == ["AND"] * (len(found) - 1)
    return [
        Clause(m["action"], m["source"], m["quantifier"], tuple(GUID.findall(m["ids"])))
        for m in found
    ]


def allowed(parts: Iterable[Clause], action: str, role: str) -> bool:
    return all(c.allows(action, role) for c in parts)


def test_writes_are_judged_on_the_request_and_deletes_on_the_resource(
    bicep: dict[str, Any],
) -> None:
    parts = clauses(condition_text(bicep))
    assert {(c.action, c.source) for c in parts} == {(WRITE, "Request"), (DELETE, "Resource")}
    assert {c.quantifier for c in parts} == {"ForAnyOfAllValues"}


@pytest.mark.parametrize("action", [WRITE, DELETE])
@pytest.mark.parametrize("role", sorted(PROTECTED_ROLES))
def test_no_protected_role_can_be_assigned_or_removed(
    bicep: dict[str, Any], action: str, role: str
) -> None:
    assert not allowed(clauses(condition_text(bicep)), action, role)
    assert not allowed(clauses(condition_text(bicep)), action, role.upper())


@pytest.mark.parametrize("action", [WRITE, DELETE])
@pytest.mark.parametrize("role", [READER, CONTRIBUTOR])
def test_other_roles_can_be_restored(bicep: dict[str, Any], action: str, role: str) -> None:
    assert allowed(clauses(condition_text(bicep)), action, role)


def test_the_nsg_actions_are_not_limited(bicep: dict[str, Any]) -> None:
    nsg = "Microsoft.Network/networkSecurityGroups/securityRules/write"
    assert allowed(clauses(condition_text(bicep)), nsg, sorted(PROTECTED_ROLES)[0])


def test_any_of_any_would_let_owner_through(bicep: dict[str, Any]) -> None:
    # why the quantifier matters: "differs from at least one of three" is always true
    loose = condition_text(bicep).replace("ForAnyOfAllValues", "ForAnyOfAnyValues")
    owner = next(i for i, name in PROTECTED_ROLES.items() if name == "Owner")
    assert allowed(clauses(loose), WRITE, owner)
