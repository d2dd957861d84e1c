"""Every watched kind's drift, made by an attacker in the stand-in, rolled back through the
real readers and writer and verified; plus a throttled write and a partial failure."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from driftkeeper import Snapshot
from driftkeeper.baseline import Baseline
from driftkeeper.rollback import Plan
from driftkeeper.rollback._service import Rollbacks
from tests.fakes.azure_rest import AzureRestServer

from .conftest import BASELINES, SUB

ROOT = Path(__file__).resolve().parents[2]
GOOD = Snapshot.from_file(ROOT / "examples/tenant-known-good.json")
NSG = (
    f"/subscriptions/{SUB}/resourceGroups/rg-web-prod/providers/Microsoft.Network"
    "/networkSecurityGroups/nsg-web-prod"
)
GA = "62e90394-69f5-4237-9190-012177145e10"
OWNER = (
    f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/"
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
)
MALLORY = "4b3a2918-0706-4f5e-9d4c-3b2a19081706"
RDP = {
    "properties": {
        "protocol": "Tcp", "sourcePortRange": "*", "destinationPortRange": "3389",
        "sourceAddressPrefix": "*", "destinationAddressPrefix": "*", "access": "Allow",
        "priority": 105, "direction": "Inbound",
    }
}  # fmt: skip


@dataclass(frozen=True)
class Attack:
    kind: str
    baseline: str
    method: str
    path: str
    body: dict[str, Any] | None


ATTACKS = {
    "an NSG rule opened": Attack(
        "nsg", "6f1c2a3b-rg-web-prod-nsg-web-prod", "PUT", f"{NSG}/securityRules/rdp", RDP
    ),
    "Owner granted at the subscription": Attack(
        "role-assignments", f"subscription-{SUB}", "PUT",
        f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/"
        "0badc0de-0000-4000-8000-000000000001",
        {"properties": {"roleDefinitionId": OWNER, "principalId": MALLORY,
                        "principalType": "User"}},
    ),
    "a Conditional Access policy turned off": Attack(
        "conditional-access-policy", "ca001-require-mfa-for-administrators-c0ffee00", "PATCH",
        "/identity/conditionalAccess/policies/c0ffee00-1111-4222-8333-444455556666",
        {"state": "disabled"},
    ),
    "a Global Administrator added": Attack(
        "directory-role", "global-administrator", "POST",
        "/roleManagement/directory/roleAssignments",
        {"principalId": MALLORY, "roleDefinitionId": GA, "directoryScopeId": "/"},
    ),
    "security defaults switched on": Attack(
        "security-defaults", "security-defaults", "PATCH",
        "/policies/identitySecurityDefaultsEnforcementPolicy", {"isEnabled": True},
    ),
    "an authentication method enabled": Attack(
        "authentication-methods", "authentication-methods", "PATCH",
        "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/Fido2",
        {"@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration",
         "state": "enabled"},
    ),
}  # fmt: skip


def baseline(kind: str, name: str) -> Baseline:
    [found] = [b for b in BASELINES.of_kind(kind) if b.name == name]
    return found


@pytest.fixture
def server(azure_rest_server: AzureRestServer) -> AzureRestServer:
    azure_rest_server.data = dict(GOOD.sections)
    return azure_rest_server


def recorded_plan(rollbacks: Rollbacks, target: Baseline) -> Plan:
    """The plan as the incident recorded it (made from a live read)."""
    live = rollbacks.target(target).read()
    finding = rollbacks.target(target).judge(live)
    assert finding.status == "drift", finding.message
    plan = rollbacks.plan(finding, target, live)
    assert isinstance(plan, Plan), plan
    return plan


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
def test_each_kind_is_rolled_back_and_read_back_restored(
    attack: Attack, rollbacks: Rollbacks, server: AzureRestServer
) -> None:
    target = baseline(attack.kind, attack.baseline)
    assert rollbacks.target(target).judge(rollbacks.target(target).read()).status == "compliant"
    # given an attacker's change in the portal
    server.apply(attack.method, attack.path, attack.body)
    plan = recorded_plan(rollbacks, target)
    # when its plan runs
    result = rollbacks.run(target, plan.plan_hash, key=attack.baseline)
    # then it is verified, and a fresh read agrees
    assert result is not None
    assert result.outcome == "rolled-back", result.reason
    assert rollbacks.target(target).judge(rollbacks.target(target).read()).status == "compliant"


def test_a_throttled_write_is_retried_within_its_budget(
    rollbacks: Rollbacks, server: AzureRestServer
) -> None:
    attack = ATTACKS["an NSG rule opened"]
    target = baseline(attack.kind, attack.baseline)
    server.apply(attack.method, attack.path, attack.body)
    plan = recorded_plan(rollbacks, target)
    server.fail(attack.path, 429, times=2, retry_after=1, method="DELETE")
    result = rollbacks.run(target, plan.plan_hash, key="k")
    assert result is not None
    assert result.outcome == "rolled-back"
    assert [s.attempts for s in result.steps] == [3]


def test_a_refused_step_stops_the_plan_and_reports_what_was_applied(
    rollbacks: Rollbacks, server: AzureRestServer
) -> None:
    attack = ATTACKS["an NSG rule opened"]
    target = baseline(attack.kind, attack.baseline)
    server.apply(attack.method, attack.path, attack.body)
    second = {"properties": {**RDP["properties"], "destinationPortRange": "22", "priority": 106}}
    server.apply("PUT", f"{NSG}/securityRules/ssh", second)
    plan = recorded_plan(rollbacks, target)
    assert len(plan.steps) == 2
    server.fail(plan.steps[1].url.split("?")[0].split(server.arm_endpoint)[1], 403, times=1,
                code="AuthorizationFailed", method="DELETE")  # fmt: skip
    result = rollbacks.run(target, plan.plan_hash, key="k")
    assert result is not None
    assert result.outcome == "rollback-failed"
    assert [(s.ok, s.status) for s in result.steps] == [(True, 202), (False, 403)]
    assert "step 2 of 2 failed (1 applied)" in result.reason
    assert "AuthorizationFailed" in result.reason
    # and the setting still drifts (a person is paged by the respond stage)
    assert rollbacks.target(target).judge(rollbacks.target(target).read()).status == "drift"
