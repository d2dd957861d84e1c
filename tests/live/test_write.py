"""Writer against the local ARM / Graph stand-in: writes land, and the real readers see them.

Every test goes through the real SDK clients (azure-mgmt-core's pipeline, msgraph-sdk's
request adapter) to the stateful stand-in; waiting goes through an injected ``sleep``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from driftkeeper import Snapshot
from driftkeeper.intake import parse_events
from driftkeeper.live import (
    AuditLogReader,
    ForeignUrlError,
    LiveClients,
    ResourceReader,
    TransientWriteError,
    WriteBudget,
    WriteError,
    Writer,
    WriteRefusedError,
    WriteResult,
)
from driftkeeper.signals import Signal
from tests.builders import corpus
from tests.fakes.azure_events import ATTACKER, DEFAULT_WRITER, Caller
from tests.fakes.azure_rest import AzureRestServer, Lro
from tests.fakes.credentials import StaticTokenCredential, token_with_claims

SUB = "ea42f556-5106-4743-99b0-c129bfa71a47"
RG_SCOPE = f"/subscriptions/{SUB}/resourceGroups/test_networksecuritygroup"
NSG_ID = f"{RG_SCOPE}/providers/Microsoft.Network/networkSecurityGroups/c7n-nsg"
NSG_API = "api-version=2024-05-01"
AUTH_API = "api-version=2022-04-01"
ROLE_ASSIGNMENTS = "/providers/Microsoft.Authorization/roleAssignments"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
OWNER_ID = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{OWNER}"
NEW_ASSIGNMENT = "b0000000-0000-4000-8000-00000000000b"
PRINCIPAL = "0c0ffee0-1111-4222-8333-444455556666"
GA = "62e90394-69f5-4237-9190-012177145e10"
GA_SCOPE = f"/roleManagement/directory/roleDefinitions/{GA}"
CA_POLICY = "ad8d2b4a-8d30-413f-88b8-144c6c8d98d9"
CA_PATH = "/identity/conditionalAccess/policies"
GA_MEMBER = "lAPpYvVpN0KRkAEhdxReEMmO4KwRqtpKkUWt3wOYIz4-1"
SECURITY_DEFAULTS = "/policies/identitySecurityDefaultsEnforcementPolicy"
AUTH_METHODS = "/policies/authenticationMethodsPolicy"
OPERATIONS = f"/subscriptions/{SUB}/providers/Microsoft.Network/locations/*"
RULE = {
    "properties": {
        "protocol": "Tcp",
        "sourcePortRange": "*",
        "destinationPortRange": "3389",
        "sourceAddressPrefix": "*",
        "destinationAddressPrefix": "*",
        "access": "Allow",
        "priority": 150,
        "direction": "Inbound",
    }
}
WRITER_OID = "7d1f7c0d-e5a1-4b7e-9c3a-d21f7ee9e0aa"
WRITER_APP = "8e1fdc0d-7a55-4c1b-8d2e-d21f7ee9e0bb"


def rule_path(name: str) -> str:
    return f"{NSG_ID}/securityRules/{name}"


def assignment_path(scope: str, name: str) -> str:
    return f"{scope}{ROLE_ASSIGNMENTS}/{name}"


@pytest.fixture
def server(azure_rest_server: AzureRestServer) -> AzureRestServer:
    azure_rest_server.data = {
        "arm.networkSecurityGroups": corpus("arm/recorded_nsg_list_after_open_ports.json")["value"],
        "arm.roleAssignments": corpus("arm/recorded_roleAssignments_list_subscription.json")[
            "value"
        ],
        "graph.conditionalAccessPolicies": corpus(
            "graph/conditionalAccess_policies_list_v1.0.json"
        ),
        "graph.directoryRoleAssignments": corpus(
            "graph/roleManagement_directory_roleAssignments_v1.0_expand_principal_GA.json"
        ),
        "graph.directoryRoleEligibilitySchedules": [],
        "graph.directoryRoleDefinitions": [],
        "graph.securityDefaults": corpus(
            "graph/policies_identitySecurityDefaultsEnforcementPolicy_get_v1.0.json"
        ),
        "graph.authenticationMethodsPolicy": corpus(
            "graph/policies_authenticationMethodsPolicy_get_v1.0.json"
        ),
    }
    return azure_rest_server


@pytest.fixture
def clients(
    server: AzureRestServer, token_credential: StaticTokenCredential
) -> Iterator[LiveClients]:
    live: LiveClients = server.live_clients(token_credential)
    yield live
    live.close()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def writer(clients: LiveClients, sleeps: list[float]) -> Writer:
    return Writer(clients, sleep=sleeps.append)


@pytest.fixture
def reader(clients: LiveClients, token_credential: StaticTokenCredential) -> ResourceReader:
    return ResourceReader(token_credential, clients=clients, subscriptions=[SUB])


def arm(server: AzureRestServer, path: str, query: str) -> str:
    return f"{server.arm_endpoint}{path}?{query}"


def graph(server: AzureRestServer, path: str) -> str:
    return f"{server.graph_endpoint}{path}"


# --- a write, then a read through the real readers ---------------------------------------------
def rules(snapshot: Snapshot) -> dict[str, dict[str, Any]]:
    (nsg,) = snapshot.items("arm.networkSecurityGroups")
    return {r["name"]: r["properties"] for r in nsg["properties"]["securityRules"]}


def assignment_names(snapshot: Snapshot) -> set[str]:
    return {a["name"] for a in snapshot.items("arm.roleAssignments")}


def ca_states(snapshot: Snapshot) -> dict[str, str]:
    return {p["id"]: p["state"] for p in snapshot.items("graph.conditionalAccessPolicies")}


def members(section: str) -> Callable[[Snapshot], set[str]]:
    return lambda snapshot: {m["principalId"] for m in snapshot.items(section)}


@dataclass(frozen=True)
class Case:
    method: str
    service: str
    path: str
    body: dict[str, Any] | None
    status: int
    kind: str
    scope: str
    then: Callable[[Snapshot], bool]


ACTIVE = "graph.directoryRoleAssignments"
ELIGIBLE = "graph.directoryRoleEligibilitySchedules"
ELIGIBILITY_REQUESTS = "/roleManagement/directory/roleEligibilityScheduleRequests"
CASES = {
    "add an NSG rule": Case(
        "PUT", "arm", rule_path("rdp-in"), RULE, 201, "nsg", NSG_ID,
        lambda s: rules(s)["rdp-in"]["destinationPortRange"] == "3389",
    ),
    "change an NSG rule": Case(
        "PUT", "arm", rule_path("test1"), {"properties": {**RULE["properties"], "access": "Deny"}},
        200, "nsg", NSG_ID, lambda s: rules(s)["test1"]["access"] == "Deny",
    ),
    "delete an NSG rule": Case(
        "DELETE", "arm", rule_path("test2"), None, 202, "nsg", NSG_ID,
        lambda s: "test2" not in rules(s) and "test1" in rules(s),
    ),
    "add a role assignment": Case(
        "PUT", "arm", assignment_path(RG_SCOPE, NEW_ASSIGNMENT),
        {"properties": {"roleDefinitionId": OWNER_ID, "principalId": PRINCIPAL}},
        201, "role-assignments", RG_SCOPE, lambda s: NEW_ASSIGNMENT in assignment_names(s),
    ),
    "add a conditional access policy": Case(
        "POST", "graph", CA_PATH, {"displayName": "CA009", "state": "enabled"}, 201,
        "conditional-access-policy", "", lambda s: "enabled" in ca_states(s).values(),
    ),
    "turn a conditional access policy on": Case(
        "PATCH", "graph", f"{CA_PATH}/{CA_POLICY}", {"state": "enabled"}, 204,
        "conditional-access-policy", f"{CA_PATH}/{CA_POLICY}",
        lambda s: ca_states(s) == {CA_POLICY: "enabled"},
    ),
    "delete a conditional access policy": Case(
        "DELETE", "graph", f"{CA_PATH}/{CA_POLICY}", None, 204,
        "conditional-access-policy", f"{CA_PATH}/{CA_POLICY}", lambda s: ca_states(s) == {},
    ),
    "add a directory role member": Case(
        "POST", "graph", "/roleManagement/directory/roleAssignments",
        {"principalId": PRINCIPAL, "roleDefinitionId": GA, "directoryScopeId": "/"}, 201,
        "directory-role", GA_SCOPE, lambda s: PRINCIPAL in members(ACTIVE)(s),
    ),
    "remove a directory role member": Case(
        "DELETE", "graph", f"/roleManagement/directory/roleAssignments/{GA_MEMBER}", None, 204,
        "directory-role", GA_SCOPE,
        lambda s: "ace08ec9-aa11-4ada-9145-addf0398233e" not in members(ACTIVE)(s),
    ),
    "make a member eligible": Case(
        "POST", "graph", ELIGIBILITY_REQUESTS,
        {"action": "adminAssign", "principalId": PRINCIPAL, "roleDefinitionId": GA,
         "directoryScopeId": "/", "justification": "on call"}, 201,
        "directory-role", GA_SCOPE, lambda s: members(ELIGIBLE)(s) == {PRINCIPAL},
    ),
    "turn security defaults off": Case(
        "PATCH", "graph", SECURITY_DEFAULTS, {"isEnabled": False}, 204,
        "security-defaults", SECURITY_DEFAULTS,
        lambda s: s.object("graph.securityDefaults")["isEnabled"] is False,  # type: ignore[index]
    ),
    "enable an authentication method": Case(
        "PATCH", "graph", f"{AUTH_METHODS}/authenticationMethodConfigurations/Fido2",
        {"@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration",
         "state": "enabled"}, 204,
        "authentication-methods", AUTH_METHODS,
        lambda s: {
            c["id"]: c["state"]
            for c in s.object("graph.authenticationMethodsPolicy")[  # type: ignore[index]
                "authenticationMethodConfigurations"
            ]
        }["Fido2"] == "enabled",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_write_lands_and_the_readers_see_it(
    case: Case, server: AzureRestServer, writer: Writer, reader: ResourceReader
) -> None:
    # given a tenant, when a write is sent through the writer
    query = AUTH_API if "roleAssignments" in case.path and case.service == "arm" else NSG_API
    url = arm(server, case.path, query) if case.service == "arm" else graph(server, case.path)
    result = writer.send(case.method, url, case.body)

    # then it succeeded, and the real reader sees exactly the new state
    assert (result.method, result.status, result.gone, result.attempts) == (
        case.method, case.status, False, 1,
    )  # fmt: skip
    scope = case.scope or f"{CA_PATH}/{result.body['id']}"
    snapshot = reader.read(case.kind, scope)
    assert snapshot.read_errors == {}
    assert case.then(snapshot)


def test_a_removal_request_ends_eligibility(
    server: AzureRestServer, writer: Writer, reader: ResourceReader
) -> None:
    # given a member made eligible
    body = {"principalId": PRINCIPAL, "roleDefinitionId": GA, "directoryScopeId": "/"}
    url = graph(server, ELIGIBILITY_REQUESTS)
    writer.send("POST", url, {"action": "adminAssign", **body})

    # when the removal is requested, then the reader no longer sees them
    result = writer.send("POST", url, {"action": "adminRemove", **body})
    assert result.body["status"] == "Revoked"
    assert members(ELIGIBLE)(reader.read("directory-role", GA_SCOPE)) == set()

    # and asking again is refused as Graph refuses it
    with pytest.raises(WriteRefusedError) as caught:
        writer.send("POST", url, {"action": "adminRemove", **body})
    assert (caught.value.status, caught.value.code) == (400, "RoleAssignmentDoesNotExist")


def test_a_role_assignment_can_be_removed(
    server: AzureRestServer, writer: Writer, reader: ResourceReader
) -> None:
    # given an assignment the writer made
    url = arm(server, assignment_path(RG_SCOPE, NEW_ASSIGNMENT), AUTH_API)
    body = {"properties": {"roleDefinitionId": OWNER_ID, "principalId": PRINCIPAL}}
    writer.send("PUT", url, body)

    # when it is deleted, then the reader no longer lists it
    result = writer.send("DELETE", url)
    assert (result.status, result.gone) == (200, False)
    assert NEW_ASSIGNMENT not in assignment_names(reader.read("role-assignments", RG_SCOPE))


# --- long-running operations ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("lro", "method", "status", "operation"),
    [
        (Lro(in_progress=0), "PUT", 201, "Succeeded"),
        (Lro(in_progress=3, retry_after=2), "PUT", 201, "Succeeded"),
        (Lro(in_progress=1), "DELETE", 202, "Succeeded"),
        (Lro(style="location", in_progress=2, retry_after=4), "PUT", 202, "204"),
        (Lro(style="location", in_progress=0), "DELETE", 202, "204"),
        (Lro(style="none"), "PUT", 201, ""),
        (Lro(style="none"), "DELETE", 200, ""),
    ],
)
def test_long_running_operations_are_followed_to_their_end(
    lro: Lro,
    method: str,
    status: int,
    operation: str,
    server: AzureRestServer,
    writer: Writer,
    sleeps: list[float],
) -> None:
    # given the stand-in answers NSG rule writes as a long-running operation of this style
    server.lro = lro
    name = "test3" if method == "DELETE" else "rdp-in"

    # when a rule is written
    result = writer.send(method, arm(server, rule_path(name), NSG_API), RULE)

    # then every poll was made, each after the Retry-After asked for, until the end
    polls = 0 if lro.style == "none" else lro.in_progress + 1
    assert (result.status, result.operation, result.polls) == (status, operation, polls)
    assert sleeps == [lro.retry_after] * polls
    polled = [r for r in server.requests if "/locations/" in r.path]
    assert len(polled) == polls
    assert {r.client_request_id for r in polled} <= {result.client_request_id}


def test_polls_without_retry_after_wait_the_poll_interval(
    server: AzureRestServer, clients: LiveClients, sleeps: list[float]
) -> None:
    server.lro = Lro(in_progress=2, retry_after=None)
    writer = Writer(clients, budget=WriteBudget(poll_interval=7), sleep=sleeps.append)

    result = writer.send("PUT", arm(server, rule_path("rdp-in"), NSG_API), RULE)

    assert (result.operation, sleeps) == ("Succeeded", [7, 7, 7])


@pytest.mark.parametrize("final", ["Failed", "Canceled"])
@pytest.mark.parametrize("style", ["azure-async-operation", "location"])
def test_an_operation_that_fails_is_refused_with_its_code(
    final: str, style: Any, server: AzureRestServer, writer: Writer, bearer_token: str
) -> None:
    server.lro = Lro(style=style, final=final, error="SecurityRuleConflict")

    with pytest.raises(WriteRefusedError) as caught:
        writer.send("PUT", arm(server, rule_path("rdp-in"), NSG_API), RULE)

    assert caught.value.code == "SecurityRuleConflict"
    assert bearer_token not in str(caught.value)


def test_an_operation_still_running_when_the_budget_is_spent_is_transient(
    server: AzureRestServer, clients: LiveClients, sleeps: list[float]
) -> None:
    server.lro = Lro(in_progress=100, retry_after=10)
    writer = Writer(clients, budget=WriteBudget(operation_seconds=30), sleep=sleeps.append)

    with pytest.raises(TransientWriteError, match="still running after 3 poll"):
        writer.send("PUT", arm(server, rule_path("rdp-in"), NSG_API), RULE)
    assert sleeps == [10, 10, 10]


def test_operation_status_polls_are_retried_when_throttled(
    server: AzureRestServer, writer: Writer, sleeps: list[float]
) -> None:
    # given the first two status polls are throttled
    server.fail(OPERATIONS, 429, times=2, retry_after=3, method="GET")

    result = writer.send("PUT", arm(server, rule_path("rdp-in"), NSG_API), RULE)

    assert (result.operation, result.polls) == ("Succeeded", 2)
    assert sleeps == [0, 3, 3, 0]


# --- retries, budget, refusals -------------------------------------------------------------------
WRITES = {
    "ARM PUT": ("PUT", "arm", rule_path("rdp-in"), RULE),
    "ARM DELETE": ("DELETE", "arm", rule_path("test1"), None),
    "Graph PATCH": ("PATCH", "graph", f"{CA_PATH}/{CA_POLICY}", {"state": "enabled"}),
    "Graph DELETE": ("DELETE", "graph", f"{CA_PATH}/{CA_POLICY}", None),
}


def url_of(server: AzureRestServer, service: str, path: str) -> str:
    return arm(server, path, NSG_API) if service == "arm" else graph(server, path)


@pytest.mark.parametrize(("method", "service", "path", "body"), WRITES.values(), ids=WRITES.keys())
@pytest.mark.parametrize(
    ("status", "retry_after", "waits"),
    [(429, 7, [7, 7]), (429, None, [1, 2]), (500, None, [1, 2]), (502, 0, [0, 0]),
     (503, 2, [2, 2]), (504, None, [1, 2])],
)  # fmt: skip
def test_throttling_and_server_errors_are_retried_honouring_retry_after(
    method: str,
    service: str,
    path: str,
    body: dict[str, Any] | None,
    status: int,
    retry_after: int | None,
    waits: list[int],
    server: AzureRestServer,
    writer: Writer,
    sleeps: list[float],
) -> None:
    # given the service fails the write twice
    server.lro = Lro(style="none")
    server.fail(path, status, times=2, retry_after=retry_after, method=method)

    # when it is written, then the third attempt lands, after the waits asked for
    result = writer.send(method, url_of(server, service, path), body)

    assert result.attempts == 3
    assert sleeps == waits
    sent = [r for r in server.requests if r.method == method]
    assert [r.status for r in sent] == [status, status, result.status]
    assert len({r.client_request_id for r in sent}) == 1


@pytest.mark.parametrize(("method", "service", "path", "body"), WRITES.values(), ids=WRITES.keys())
def test_a_spent_budget_is_a_transient_write_error(
    method: str,
    service: str,
    path: str,
    body: dict[str, Any] | None,
    server: AzureRestServer,
    writer: Writer,
    sleeps: list[float],
    bearer_token: str,
) -> None:
    server.fail(path, 503, times=None, retry_after=1, method=method)

    with pytest.raises(TransientWriteError) as caught:
        writer.send(method, url_of(server, service, path), body)

    assert (caught.value.status, caught.value.attempts) == (503, 4)
    assert sleeps == [1, 1, 1]
    assert "503 Service Unavailable" in str(caught.value)
    assert bearer_token not in str(caught.value)


def test_a_retry_after_beyond_the_budget_is_not_waited_for(
    server: AzureRestServer, writer: Writer, sleeps: list[float]
) -> None:
    server.fail(rule_path("rdp-in"), 429, times=None, retry_after=3600)

    with pytest.raises(TransientWriteError, match="would exceed the 60 s budget"):
        writer.send("PUT", arm(server, rule_path("rdp-in"), NSG_API), RULE)
    assert (sleeps, len(server.requests)) == ([], 1)


@pytest.mark.parametrize(("status", "attempts"), [(429, 2), (503, 2), (500, 1), (504, 1)])
def test_a_post_is_resent_only_when_it_cannot_have_been_acted_on(
    status: int, attempts: int, server: AzureRestServer, writer: Writer
) -> None:
    # given a create that fails once
    server.fail(CA_PATH, status, times=1, retry_after=0, method="POST")
    url = graph(server, CA_PATH)
    body = {"displayName": "CA010", "state": "enabled"}

    # when it is sent: throttled or unavailable, it is sent again; otherwise it may exist
    if attempts == 1:
        with pytest.raises(TransientWriteError, match="read before sending it again"):
            writer.send("POST", url, body)
    else:
        assert writer.send("POST", url, body).attempts == attempts
    assert len(server.requests_to(CA_PATH)) == attempts


@pytest.mark.parametrize(
    ("method", "service", "path"),
    [
        ("DELETE", "arm", rule_path("never-there")),
        ("DELETE", "arm", assignment_path(RG_SCOPE, NEW_ASSIGNMENT)),
        ("DELETE", "graph", f"{CA_PATH}/0e0e0e0e-1111-4222-8333-444455556666"),
        ("DELETE", "graph", "/roleManagement/directory/roleAssignments/gone-1"),
    ],
)
@pytest.mark.parametrize("answer", [404, 204])
def test_deleting_what_is_gone_succeeds(
    method: str, service: str, path: str, answer: int, server: AzureRestServer, writer: Writer
) -> None:
    # given the service answers a DELETE of something absent with 404 (or 204)
    server.delete_missing = answer

    result = writer.send(method, url_of(server, service, path))

    assert (result.status, result.gone, result.attempts) == (answer, answer == 404, 1)
    assert server.emitted_events() == []


REFUSALS = {
    "ARM 400 bad body": ("PUT", "arm", rule_path("rdp-in"), {"nope": 1}, None, 400,
                         "InvalidRequestFormat"),
    "ARM 403": ("PUT", "arm", rule_path("rdp-in"), RULE, "AuthorizationFailed", 403,
                "AuthorizationFailed"),
    "ARM 409 exists": ("PUT", "arm", assignment_path(RG_SCOPE, NEW_ASSIGNMENT), "duplicate",
                       None, 409, "RoleAssignmentExists"),
    "ARM 404 parentless": ("PUT", "arm", f"{RG_SCOPE}/providers/Microsoft.Network/"
                           "networkSecurityGroups/nope/securityRules/r", RULE, None, 400,
                           "InvalidResourceType"),
    "Graph 400": ("POST", "graph", ELIGIBILITY_REQUESTS, {"action": "selfActivate"}, None, 400,
                  "BadRequest"),
    "Graph 403": ("PATCH", "graph", SECURITY_DEFAULTS, {"isEnabled": True},
                  "Authorization_RequestDenied", 403, "Authorization_RequestDenied"),
    "Graph 404 PATCH": ("PATCH", "graph", f"{CA_PATH}/0e0e0e0e-1111-4222-8333-444455556666",
                        {"state": "enabled"}, None, 404, "Request_ResourceNotFound"),
}  # fmt: skip


@pytest.mark.parametrize(
    ("method", "service", "path", "body", "injected", "status", "code"),
    REFUSALS.values(),
    ids=REFUSALS.keys(),
)
def test_refusals_stop_at_once_with_the_services_code(
    method: str,
    service: str,
    path: str,
    body: Any,
    injected: str | None,
    status: int,
    code: str,
    server: AzureRestServer,
    writer: Writer,
    sleeps: list[float],
    bearer_token: str,
) -> None:
    if injected is not None:
        server.fail(path, status, times=None, retry_after=None, code=injected)
    if body == "duplicate":  # the same grant under another name
        existing = server.data["arm.roleAssignments"][0]["properties"]
        scope = existing["scope"]
        path = assignment_path(scope, NEW_ASSIGNMENT)
        body = {"properties": {k: existing[k] for k in ("roleDefinitionId", "principalId")}}
        url = arm(server, path, AUTH_API)
    else:
        url = url_of(server, service, path)

    with pytest.raises(WriteRefusedError) as caught:
        writer.send(method, url, body)

    error = caught.value
    assert (error.status, error.code, error.attempts, error.method) == (status, code, 1, method)
    assert code in str(error)
    assert str(status) in str(error)
    assert bearer_token not in f"{error} {error!r} {error.args}"
    assert len(str(error)) < 1000
    assert sleeps == []
    assert server.emitted_events() == []


# --- where a write may go ---------------------------------------------------------------------
def foreign_urls(server: AzureRestServer) -> dict[str, str]:
    arm_origin, graph_origin = server.arm_endpoint, server.graph_endpoint.removesuffix("/v1.0")
    port = int(arm_origin.rsplit(":", 1)[1])
    path = rule_path("rdp-in") + "?" + NSG_API
    return {
        "another host": f"https://management.example{path}",
        "ARM over http": arm_origin.replace("https://", "http://") + path,
        "another port": f"https://127.0.0.1:{port + 1}{path}",
        "user info": arm_origin.replace("https://", "https://admin@") + path,
        "a fragment": f"{arm_origin}{path}#x",
        "Graph beta": f"{graph_origin}/beta{SECURITY_DEFAULTS}",
        "Graph over https": graph_origin.replace("http://", "https://") + "/v1.0" + CA_PATH,
        "relative": path,
        "dot segments": f"{graph_origin}/v1.0/../beta{SECURITY_DEFAULTS}",
        "encoded dot segments": f"{graph_origin}/v1.0/%2e%2e/beta{SECURITY_DEFAULTS}",
        "garbage": "https://[::1",
    }


FOREIGN = [
    "another host", "ARM over http", "another port", "user info", "a fragment", "Graph beta",
    "Graph over https", "relative", "dot segments", "encoded dot segments", "garbage",
]  # fmt: skip


@pytest.mark.parametrize("which", FOREIGN)
def test_a_url_off_the_endpoints_is_refused_before_anything_is_sent(
    which: str, server: AzureRestServer, writer: Writer, token_credential: StaticTokenCredential
) -> None:
    url = foreign_urls(server)[which]

    with pytest.raises(ForeignUrlError) as caught:
        writer.send("PUT", url, RULE)

    assert caught.value.attempts == 0
    assert "?" not in str(caught.value)  # the path and query are not echoed
    assert server.requests == []
    assert token_credential.requested_scopes == []


def test_a_status_url_off_the_endpoint_is_not_followed(
    server: AzureRestServer, writer: Writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an answer whose operation status lives elsewhere
    original = server._long_running

    def elsewhere(*args: Any, **kwargs: Any) -> Any:
        answer = original(*args, **kwargs)
        answer.headers["Azure-AsyncOperation"] = "https://evil.example/operations/1"
        return answer

    monkeypatch.setattr(server, "_long_running", elsewhere)

    with pytest.raises(ForeignUrlError, match="leaves the ARM endpoint"):
        writer.send("PUT", arm(server, rule_path("rdp-in"), NSG_API), RULE)
    assert [r.method for r in server.requests] == ["PUT"]


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "put2"])
def test_only_write_methods_are_sent(method: str, server: AzureRestServer, writer: Writer) -> None:
    with pytest.raises(ValueError, match="not a write method"):
        writer.send(method, arm(server, rule_path("x"), NSG_API))
    assert server.requests == []


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_no_connection_is_retried_then_transient(
    method: str, token_credential: StaticTokenCredential, sleeps: list[float]
) -> None:
    # given an ARM endpoint nobody listens on
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = f"https://127.0.0.1:{port}"
    live = LiveClients(token_credential, arm_endpoint=endpoint, max_retries=0)
    try:
        with pytest.raises(TransientWriteError, match="no answer") as caught:
            Writer(live, sleep=sleeps.append).send(
                method, f"{endpoint}{rule_path('x')}?{NSG_API}", RULE
            )
    finally:
        live.close()

    # then, never having reached the service, even a POST was tried again
    assert (caught.value.status, caught.value.attempts, sleeps) == (0, 4, [1, 2, 4])


def test_a_credential_without_a_token_is_a_write_error(server: AzureRestServer) -> None:
    from azure.core.exceptions import ClientAuthenticationError

    class NoToken(StaticTokenCredential):
        def get_token_info(self, *scopes: str, options: Any = None) -> Any:
            raise ClientAuthenticationError("AADSTS7000215: Invalid client secret provided.")

        get_token = get_token_info  # type: ignore[assignment]

    live = LiveClients(
        NoToken(), arm_endpoint=server.arm_endpoint, graph_endpoint=server.graph_endpoint,
        connection_verify=str(server.ca_file),
    )  # fmt: skip
    try:
        with pytest.raises(WriteError, match="could not get an access token") as caught:
            Writer(live, sleep=lambda _: None).send(
                "PUT", arm(server, rule_path("x"), NSG_API), RULE
            )
        assert type(caught.value) is WriteError
    finally:
        live.close()


# --- our writes come back as events -------------------------------------------------------------
@pytest.mark.parametrize("supplied", [None, "5b1c0c0e-0000-4000-8000-000000000042"])
@pytest.mark.parametrize("case", ["add an NSG rule", "delete an NSG rule", "add a role assignment"])
def test_an_arm_write_emits_its_event_grid_event_with_our_request_id(
    supplied: str | None, case: str, server: AzureRestServer, writer: Writer
) -> None:
    spec = CASES[case]
    query = AUTH_API if "roleAssignments" in spec.path else NSG_API
    url = arm(server, spec.path, query)

    result = writer.send(spec.method, url, spec.body, client_request_id=supplied)

    # then the request carried the id, and the event names it, the caller and the operation
    assert result.client_request_id == (supplied or result.client_request_id)
    assert server.requests[0].client_request_id == result.client_request_id
    (event,) = server.emitted_events("eventgrid")
    data = event["data"]
    assert event["eventType"] == (
        "Microsoft.Resources.ResourceDeleteSuccess"
        if spec.method == "DELETE"
        else "Microsoft.Resources.ResourceWriteSuccess"
    )
    assert event["subject"].lower() == spec.path.lower() == data["resourceUri"].lower()
    assert data["httpRequest"]["clientRequestId"] == result.client_request_id
    assert data["httpRequest"]["method"] == spec.method
    assert (
        data["operationName"]
        == {
            "add an NSG rule": "Microsoft.Network/networkSecurityGroups/securityRules/write",
            "delete an NSG rule": "Microsoft.Network/networkSecurityGroups/securityRules/delete",
            "add a role assignment": "Microsoft.Authorization/roleAssignments/write",
        }[case]
    )
    (signal,) = parse_events(event)
    assert isinstance(signal, Signal)
    assert signal.actor.ids() == {DEFAULT_WRITER.object_id, DEFAULT_WRITER.app_id}
    assert signal.resource.lower() == spec.path.lower()
    assert signal.correlation_id == result.client_request_id


@pytest.mark.parametrize(
    "case",
    [
        "add a conditional access policy",
        "turn a conditional access policy on",
        "delete a conditional access policy",
        "add a directory role member",
        "remove a directory role member",
        "make a member eligible",
        "turn security defaults off",
        "enable an authentication method",
    ],
)
def test_a_graph_write_emits_an_audit_record_the_audit_poll_reads(
    case: str,
    server: AzureRestServer,
    writer: Writer,
    token_credential: StaticTokenCredential,
) -> None:
    spec = CASES[case]
    before = datetime.now(UTC) - timedelta(seconds=1)

    result = writer.send(spec.method, graph(server, spec.path), spec.body)

    # then one record names our app, carries our request id, and routes to the setting
    (record,) = server.emitted_events("audit")
    assert record["correlationId"] == result.client_request_id
    assert record["initiatedBy"]["app"]["servicePrincipalId"] == DEFAULT_WRITER.object_id
    assert record["initiatedBy"]["user"] is None
    with AuditLogReader(token_credential, graph_endpoint=server.graph_endpoint) as audit:
        assert audit.list_since(before) == [record]
    from driftkeeper.kinds import get_kind

    (signal,) = parse_events(record)
    assert isinstance(signal, Signal)
    assert signal.correlation_id == result.client_request_id
    assert signal.actor.ids() == {DEFAULT_WRITER.object_id, DEFAULT_WRITER.app_id}
    touched = get_kind(spec.kind).route(signal, {GA_SCOPE.casefold(): {}})
    assert touched, record["activityDisplayName"]


def test_the_caller_comes_from_the_tokens_claims(
    server: AzureRestServer, token_credential: StaticTokenCredential
) -> None:
    # given a credential whose token names driftkeeper's app and service principal
    credential = StaticTokenCredential(
        token_with_claims(oid=WRITER_OID, appid=WRITER_APP, idtyp="app", name="dk-prod")
    )
    live = LiveClients(
        credential, arm_endpoint=server.arm_endpoint, graph_endpoint=server.graph_endpoint,
        connection_verify=str(server.ca_file),
    )  # fmt: skip
    try:
        writer = Writer(live, sleep=lambda _: None)
        writer.send("PUT", arm(server, rule_path("rdp-in"), NSG_API), RULE)
        writer.send("PATCH", graph(server, SECURITY_DEFAULTS), {"isEnabled": False})
    finally:
        live.close()

    event, record = server.emitted_events()
    (arm_signal,) = parse_events(event)
    (audit_signal,) = parse_events(record)
    assert isinstance(arm_signal, Signal)
    assert isinstance(audit_signal, Signal)
    assert arm_signal.actor.ids() == audit_signal.actor.ids() == {WRITER_OID, WRITER_APP}


# --- someone else's change ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "body", "kind", "scope", "then"),
    [
        ("PUT", rule_path("any-any"), RULE, "nsg", NSG_ID, lambda s: "any-any" in rules(s)),
        ("PATCH", f"{CA_PATH}/{CA_POLICY}", {"state": "enabledForReportingButNotEnforced"},
         "conditional-access-policy", f"{CA_PATH}/{CA_POLICY}",
         lambda s: ca_states(s)[CA_POLICY] == "enabledForReportingButNotEnforced"),
    ],
)  # fmt: skip
def test_apply_changes_the_tenant_as_someone_in_the_portal(
    method: str,
    path: str,
    body: dict[str, Any],
    kind: str,
    scope: str,
    then: Callable[[Snapshot], bool],
    server: AzureRestServer,
    reader: ResourceReader,
) -> None:
    # when an attacker changes a setting directly
    emitted = server.apply(method, path, body)

    # then the readers see it, its event names the attacker, and no HTTP request was made
    assert then(reader.read(kind, scope))
    assert server.emitted_events() == [emitted]
    (signal,) = parse_events(emitted)
    assert isinstance(signal, Signal)
    assert ATTACKER.object_id in signal.actor.ids()
    assert DEFAULT_WRITER.object_id not in signal.actor.ids()
    assert {r.method for r in server.requests} == {"GET"}


def test_apply_with_another_actor_and_a_refused_change(server: AzureRestServer) -> None:
    robot = Caller(object_id="1b2c3d4e-0000-4000-8000-0000000000aa", app_id="robot-app")
    record = server.apply("PATCH", SECURITY_DEFAULTS, {"isEnabled": False}, actor=robot)
    assert record["initiatedBy"]["app"]["servicePrincipalId"] == robot.object_id

    with pytest.raises(ValueError, match="refused PATCH"):
        server.apply("PATCH", f"{CA_PATH}/0e0e0e0e-1111-4222-8333-444455556666", {})


def test_writes_replace_the_tenants_objects_never_change_them(server: AzureRestServer) -> None:
    # given what a read in flight holds before a write
    listing = server.data["arm.networkSecurityGroups"]
    held = listing[0]["properties"]["securityRules"]

    server.apply("DELETE", rule_path("test1"))

    # then it still holds the state before the write, whole
    assert server.data["arm.networkSecurityGroups"] is not listing
    assert "test1" in {r["name"] for r in held}
    assert "test1" not in {
        r["name"]
        for r in server.data["arm.networkSecurityGroups"][0]["properties"]["securityRules"]
    }


def test_result_summary_says_what_happened() -> None:
    done = WriteResult("PUT", "u", 201, 1, "c", operation="Succeeded", polls=2)
    gone = WriteResult("DELETE", "u", 404, 1, "c", gone=True)
    assert done.summary == "PUT 201 Created (operation Succeeded after 2 poll(s))"
    assert gone.summary == "DELETE 404 already gone"


@pytest.mark.parametrize(
    "budget",
    [{"attempts": 0}, {"seconds": -1}, {"poll_interval": float("nan")}, {"backoff": -0.5}],
)
def test_a_budget_must_make_sense(budget: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        WriteBudget(**budget)
