"""The permission table (driftkeeper/permissions.py) is the plans' own: what the Graph grants
and the rollback role hold is exactly what the kinds' plans list, and docs/permissions.md
carries the table verbatim."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from driftkeeper import Snapshot
from driftkeeper._errors import PluginError
from driftkeeper.kinds import all_kinds, all_sections
from driftkeeper.permissions import (
    AUDIT_SECTION,
    GRAPH_READS,
    arm_actions,
    graph_permissions,
    markdown_table,
    needs,
)
from driftkeeper.rollback import Plan, Step, plan_scan
from tests.builders import baselines_of

ROOT = Path(__file__).resolve().parents[1]
GOOD: dict[str, Any] = json.loads((ROOT / "examples/tenant-known-good.json").read_text())
MALLORY = "4b3a2918-0706-4f5e-9d4c-3b2a19081706"
SUB = "6f1c2a3b-4d5e-4f60-8a91-b2c3d4e5f607"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"


def attacked() -> dict[str, Any]:
    """The known-good tenant with drift that needs every write a kind declares: something
    removed and something added in every list, every object changed."""
    doc = copy.deepcopy(GOOD)
    arm, graph = doc["arm"], doc["graph"]
    # nsg: a rule removed (PUT) and one added (DELETE)
    rules = arm["networkSecurityGroups"][0]["properties"]["securityRules"]
    added = copy.deepcopy(rules[0])
    added["name"] = "allow-rdp-from-anywhere"
    added["id"] = added["id"].rsplit("/", 1)[0] + "/allow-rdp-from-anywhere"
    added["properties"]["priority"] = 4001
    rules[:] = [*rules[1:], added]
    # role-assignments: one removed (PUT), one added (DELETE)
    assignments = arm["roleAssignments"]
    extra = copy.deepcopy(assignments[0])
    extra["name"] = "0badc0de-0000-4000-8000-000000000001"
    extra["id"] = extra["id"].rsplit("/", 1)[0] + "/" + extra["name"]
    extra["properties"]["principalId"] = MALLORY
    extra["properties"]["roleDefinitionId"] = (
        f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{READER}"
    )
    assignments[:] = [*assignments[1:], extra]
    # conditional access: one policy deleted (POST), one turned off (PATCH)
    policies = graph["conditionalAccessPolicies"]
    policies[1]["state"] = "disabled"
    del policies[0]
    # directory roles: an active member removed (POST) and one added (DELETE); an eligible
    # member removed (adminAssign) and one added (adminRemove)
    active = graph["directoryRoleAssignments"]
    intruder = copy.deepcopy(active[0])
    intruder.update(id="intruder-assignment", principalId=MALLORY)
    intruder.pop("principal", None)
    active[:] = [*active[1:], intruder]
    eligible = graph["directoryRoleEligibilitySchedules"]
    newcomer = copy.deepcopy(eligible[0])
    newcomer.update(id="elig-intruder", principalId=MALLORY)
    eligible[:] = [newcomer]
    # security defaults flipped, an authentication method's state flipped
    graph["securityDefaults"]["isEnabled"] = not graph["securityDefaults"]["isEnabled"]
    method = graph["authenticationMethodsPolicy"]["authenticationMethodConfigurations"][0]
    method["state"] = "enabled" if method["state"] == "disabled" else "disabled"
    return doc


@pytest.fixture(scope="module")
def plans() -> list[Plan]:
    found, not_planned = plan_scan(
        Snapshot.from_dict(attacked()), baselines_of(GOOD), guards="none"
    )
    assert not_planned == []
    assert {p.kind for p in found} == {k.name for k in all_kinds().values() if k.writes}
    return found


def steps(plans: list[Plan]) -> list[Step]:
    return [s for p in plans for s in p.steps]


def test_every_declared_write_is_planned_by_some_drift(plans: list[Plan]) -> None:
    declared = {(w.method, w.permission) for k in all_kinds().values() for w in k.writes}
    assert {(s.method, s.permission) for s in steps(plans)} == declared


def test_the_graph_grants_of_rollback_are_the_plans_graph_permissions_beside_the_reads(
    plans: list[Plan],
) -> None:
    listed = {p for plan in plans for p in plan.permissions if "/" not in p}
    assert set(graph_permissions("rollback")) - set(graph_permissions("detect")) == listed
    assert listed == {
        "Policy.ReadWrite.ConditionalAccess",
        "Policy.ReadWrite.SecurityDefaults",
        "Policy.ReadWrite.AuthenticationMethod",
        "RoleManagement.ReadWrite.Directory",
        "RoleEligibilitySchedule.ReadWrite.Directory",
    }


def test_detection_is_read_only() -> None:
    assert set(graph_permissions("detect")) == {
        "AuditLog.Read.All",
        "Policy.Read.All",
        "Policy.Read.AuthenticationMethod",
        "RoleManagement.Read.Directory",
    }
    assert all(a.endswith("/read") for a in arm_actions("detect"))
    assert all(".Read." in p for p in graph_permissions("detect"))


def test_the_arm_writes_of_rollback_are_the_plans(plans: list[Plan]) -> None:
    listed = {p for plan in plans for p in plan.permissions if "/" in p}
    writes = {a for a in arm_actions("rollback") if not a.endswith("/read")}
    assert writes == listed


def test_every_graph_read_has_a_documented_permission_and_none_is_stale() -> None:
    graph = {name for name, section in all_sections().items() if section.api == "graph"}
    assert set(GRAPH_READS) == graph | {AUDIT_SECTION}


def test_every_need_names_its_kind_and_step() -> None:
    kinds = set(all_kinds()) | {"audit poll", "alerts"}
    for need in needs():
        assert need.kind in kinds
        assert need.step.strip()


def test_a_step_whose_permission_its_kind_does_not_declare_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given the nsg kind declaring only its rule write (not its delete)
    nsg = type(all_kinds()["nsg"])
    monkeypatch.setattr(nsg, "writes", nsg.writes[:1])
    # when a drift needs a rule deleted, planning it refuses
    with pytest.raises(PluginError, match="does not declare"):
        plan_scan(Snapshot.from_dict(attacked()), baselines_of(GOOD), guards="none")


def test_the_docs_carry_the_table_verbatim() -> None:
    text = (ROOT / "docs" / "permissions.md").read_text(encoding="utf-8")
    start = "<!-- permissions table: generated by driftkeeper.permissions.markdown_table() -->\n"
    body = text.split(start, 1)[1].split("<!-- end of permissions table -->", 1)[0]
    assert body == markdown_table()
    for mode in ("detect", "rollback"):
        for permission in graph_permissions(mode):  # type: ignore[arg-type]
            assert f"`{permission}`" in text
