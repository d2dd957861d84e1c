"""The stand-in's write side, request by request (``server.handle``: no sockets, no SDK).

What the real clients see end to end is in ``tests/live/test_write.py``; these pin the REST
contract details the stand-in follows.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fakes.azure_rest import SCHEDULE_REQUESTS, AzureRestServer, Lro

SUB = "ea42f556-5106-4743-99b0-c129bfa71a47"
SCOPE = f"/subscriptions/{SUB}/resourceGroups/rg"
NSG = f"{SCOPE}/providers/Microsoft.Network/networkSecurityGroups/nsg"
ASSIGNMENTS = "/providers/Microsoft.Authorization/roleAssignments"
ROLE = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/r1"
NAME = "c0000000-0000-4000-8000-00000000000c"
CA = "/identity/conditionalAccess/policies"
POLICY = "0f0f0f0f-1111-4222-8333-444455556666"
ELIGIBILITY_REQUESTS = "/roleManagement/directory/roleEligibilityScheduleRequests"
GA = "62e90394-69f5-4237-9190-012177145e10"


@pytest.fixture
def server(azure_rest_server: AzureRestServer) -> AzureRestServer:
    azure_rest_server.data = {
        "arm.networkSecurityGroups": [
            {
                "id": NSG,
                "name": "nsg",
                "type": "Microsoft.Network/networkSecurityGroups",
                "location": "northeurope",
                "properties": {"securityRules": [], "defaultSecurityRules": []},
            }
        ],
        "graph.conditionalAccessPolicies": [
            {
                "id": POLICY,
                "displayName": "CA001",
                "state": "enabled",
                "conditions": {"users": {"includeUsers": ["All"]}, "clientAppTypes": ["all"]},
            }
        ],
    }
    return azure_rest_server


def call(
    server: AzureRestServer,
    service: str,
    method: str,
    path: str,
    body: Any = None,
    *,
    api: str = "2024-05-01",
) -> Any:
    raw = f"{path}?api-version={api}" if service == "arm" else f"/v1.0{path}"
    payload = b"" if body is None else json.dumps(body).encode()
    return server.handle(service, method, raw, "Bearer t", body=payload)  # type: ignore[arg-type]


def test_schedule_request_collections_come_from_the_declarations() -> None:
    assert dict(SCHEDULE_REQUESTS) == {
        ELIGIBILITY_REQUESTS.lower(): "graph.directoryRoleEligibilitySchedules"
    }


def test_a_failure_for_one_method_leaves_the_others_alone(server: AzureRestServer) -> None:
    # given PUTs of a rule fail
    rule = f"{NSG}/securityRules/r"
    server.fail(rule, 503, times=None, method="PUT")

    # then a PUT fails, a DELETE and a GET of the same path do not
    assert call(server, "arm", "PUT", rule, {"properties": {}}).status == 503
    assert call(server, "arm", "DELETE", rule).status == 404
    assert call(server, "arm", "GET", NSG).status == 200
    assert server.emitted_events() == []


def test_a_throttled_write_is_not_made(server: AzureRestServer) -> None:
    server.fail(f"{CA}/{POLICY}", 429, times=1, retry_after=5, method="PATCH")

    answer = call(server, "graph", "PATCH", f"{CA}/{POLICY}", {"state": "disabled"})

    assert (answer.status, answer.headers["Retry-After"]) == (429, "5")
    assert server.data["graph.conditionalAccessPolicies"][0]["state"] == "enabled"


def test_graph_patch_replaces_each_given_property_whole(server: AzureRestServer) -> None:
    answer = call(
        server, "graph", "PATCH", f"{CA}/{POLICY}", {"conditions": {"clientAppTypes": ["browser"]}}
    )

    assert (answer.status, answer.body) == (204, None)
    (policy,) = server.data["graph.conditionalAccessPolicies"]
    assert policy["conditions"] == {"clientAppTypes": ["browser"]}
    assert (policy["id"], policy["state"]) == (POLICY, "enabled")


@pytest.mark.parametrize(
    ("first", "second", "status", "code"),
    [
        ((NAME, "p1", ROLE), ("d0000000-0000-4000-8000-00000000000d", "p1", ROLE), 409,
         "RoleAssignmentExists"),
        ((NAME, "p1", ROLE), (NAME, "p2", ROLE), 409, "RoleAssignmentUpdateNotPermitted"),
        ((NAME, "p1", ROLE), (NAME, "p1", ROLE), 201, None),
        ((NAME, "p1", ROLE), ("not-a-guid", "p2", ROLE), 400, "InvalidRoleAssignmentId"),
    ],
)  # fmt: skip
def test_role_assignments_follow_arms_rules(
    first: tuple[str, str, str],
    second: tuple[str, str, str],
    status: int,
    code: str | None,
    server: AzureRestServer,
) -> None:
    def put(name: str, principal: str, role: str) -> Any:
        body = {"properties": {"principalId": principal, "roleDefinitionId": role}}
        return call(server, "arm", "PUT", f"{SCOPE}{ASSIGNMENTS}/{name}", body, api="2022-04-01")

    assert put(*first).status == 201
    answer = put(*second)

    assert answer.status == status
    if code:
        assert answer.body["error"]["code"] == code
    else:
        assert answer.body["properties"]["scope"] == SCOPE


def test_eligibility_requests_assign_once(server: AzureRestServer) -> None:
    body = {"action": "adminAssign", "principalId": "p1", "roleDefinitionId": GA}

    first = call(server, "graph", "POST", ELIGIBILITY_REQUESTS, body)
    again = call(server, "graph", "POST", ELIGIBILITY_REQUESTS, body)

    assert (first.status, first.body["status"]) == (201, "Provisioned")
    assert (again.status, again.body["error"]["code"]) == (400, "RoleAssignmentExists")
    (schedule,) = server.data["graph.directoryRoleEligibilitySchedules"]
    assert (schedule["principalId"], schedule["directoryScopeId"], schedule["status"]) == (
        "p1",
        "/",
        "Provisioned",
    )


@pytest.mark.parametrize(
    ("service", "method", "path", "body"),
    [
        ("graph", "POST", "/auditLogs/directoryAudits", {"id": "x"}),
        ("graph", "PUT", f"{CA}/{POLICY}", {"state": "disabled"}),
        ("graph", "DELETE", "/policies/identitySecurityDefaultsEnforcementPolicy", None),
        ("arm", "POST", f"{NSG}/securityRules/r", {}),
        ("arm", "PATCH", f"{NSG}/securityRules/r", {}),
    ],
)
def test_what_the_services_do_not_allow_answers_405(
    service: str, method: str, path: str, body: Any, server: AzureRestServer
) -> None:
    assert call(server, service, method, path, body).status == 405
    assert server.emitted_events() == []


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]"])
def test_a_body_that_is_not_a_json_object_is_a_bad_request(
    body: bytes, server: AzureRestServer
) -> None:
    answer = server.handle("graph", "PATCH", f"/v1.0{CA}/{POLICY}", "Bearer t", body=body)
    assert answer.status == 400


@pytest.mark.parametrize(
    ("lro", "status", "headers"),
    [
        (Lro(), 202, {"Azure-AsyncOperation", "Location", "Retry-After"}),
        (Lro(style="location", retry_after=None), 202, {"Location"}),
        (Lro(style="none"), 200, set()),
    ],
)
def test_a_rule_delete_answers_as_the_lro_setting_says(
    lro: Lro, status: int, headers: set[str], server: AzureRestServer
) -> None:
    server.lro = lro
    rule = f"{NSG}/securityRules/r"
    call(server, "arm", "PUT", rule, {"properties": {"access": "Allow"}})

    answer = call(server, "arm", "DELETE", rule)

    assert (answer.status, set(answer.headers)) == (status, headers)
    for value in answer.headers.values():
        if value.startswith("https://"):
            assert "/locations/northeurope/" in value
            assert value.endswith("?api-version=2024-05-01")


def test_the_emitted_audit_records_are_served_with_the_others(server: AzureRestServer) -> None:
    call(server, "graph", "PATCH", f"{CA}/{POLICY}", {"state": "disabled"})
    (record,) = server.emitted_events("audit")

    answer = call(server, "graph", "GET", "/auditLogs/directoryAudits")

    assert answer.body["value"] == [record]
    assert record["activityDisplayName"] == "Update conditional access policy"
    assert record["category"] == "Policy"
    assert (
        json.loads(record["targetResources"][0]["modifiedProperties"][0]["newValue"])["state"]
        == "disabled"
    )
