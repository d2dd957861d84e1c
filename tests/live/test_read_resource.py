"""ResourceReader, CoalescingReader and snapshot_reader against the local ARM / Graph stand-ins."""

from __future__ import annotations

import copy
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from driftkeeper import InputError, ReadError, Snapshot, TransientReadError
from driftkeeper.kinds import get_kind
from driftkeeper.live import (
    CoalescingReader,
    ResourceReader,
    read_snapshot,
    snapshot_reader,
)
from tests.builders import corpus
from tests.fakes.azure_rest import AzureRestServer
from tests.fakes.credentials import StaticAsyncTokenCredential, StaticTokenCredential

SUB = "ea42f556-5106-4743-99b0-c129bfa71a47"
OTHER_SUB = "0b1f6471-1bf0-4dda-aec3-111122223333"
SUB_SCOPE = f"/subscriptions/{SUB}"
RG_SCOPE = f"{SUB_SCOPE}/resourceGroups/test_networksecuritygroup"
OTHER_RG_SCOPE = f"{SUB_SCOPE}/resourceGroups/other-rg"
NSG_ID = f"{RG_SCOPE}/providers/Microsoft.Network/networkSecurityGroups/c7n-nsg"
OTHER_NSG_ID = f"{OTHER_RG_SCOPE}/providers/Microsoft.Network/networkSecurityGroups/web-nsg"
MG_SCOPE = "/providers/Microsoft.Management/managementGroups/custodian-test"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
GA = "62e90394-69f5-4237-9190-012177145e10"
SECURITY_ADMIN = "194ae4cb-b126-40b2-bd5b-6091b380977d"
CA_POLICY = "ad8d2b4a-8d30-413f-88b8-144c6c8d98d9"
CA_SCOPE = f"/identity/conditionalAccess/policies/{CA_POLICY}"
GA_SCOPE = f"/roleManagement/directory/roleDefinitions/{GA}"
SECURITY_DEFAULTS = "/policies/identitySecurityDefaultsEnforcementPolicy"
AUTH_METHODS = "/policies/authenticationMethodsPolicy"
ROLE_ASSIGNMENTS = "/providers/Microsoft.Authorization/roleAssignments"
DIRECTORY_ROLE_ASSIGNMENTS = "/roleManagement/directory/roleAssignments"
ELIGIBILITY = "/roleManagement/directory/roleEligibilitySchedules"


def assignment(scope: str, name: str, principal: str) -> dict[str, Any]:
    return {
        "id": f"{scope}{ROLE_ASSIGNMENTS}/{name}",
        "name": name,
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {
            "roleDefinitionId": f"{SUB_SCOPE}/providers/Microsoft.Authorization/roleDefinitions/"
            + OWNER,
            "principalId": principal,
            "principalType": "User",
            "scope": scope,
        },
    }


def eligible(role: str, principal: str) -> dict[str, Any]:
    return {
        "id": f"{role}-{principal}",
        "principalId": principal,
        "roleDefinitionId": role,
        "directoryScopeId": "/",
        "memberType": "Direct",
        "status": "Provisioned",
    }


@pytest.fixture
def server(azure_rest_server: AzureRestServer) -> AzureRestServer:
    """A recorded tenant, plus assignments below the subscription and a second role's member."""
    nsgs = corpus("arm/recorded_nsg_list_after_open_ports.json")["value"]
    other_nsg = copy.deepcopy(nsgs[0])
    other_nsg.update(id=OTHER_NSG_ID, name="web-nsg")
    other_nsg["properties"]["securityRules"] = []
    graph_members = corpus(
        "graph/roleManagement_directory_roleAssignments_v1.0_expand_principal_GA.json"
    )["value"]
    security_admin = copy.deepcopy(graph_members[0])
    security_admin.update(id="sa-1", roleDefinitionId=SECURITY_ADMIN)
    azure_rest_server.data = {
        "arm.networkSecurityGroups": [*nsgs, other_nsg],
        "arm.roleAssignments": [
            *corpus("arm/recorded_roleAssignments_list_subscription.json")["value"],
            assignment(RG_SCOPE, "a0000000-0000-4000-8000-000000000001", "p-rg-1"),
            assignment(RG_SCOPE, "a0000000-0000-4000-8000-000000000002", "p-rg-2"),
            assignment(NSG_ID, "a0000000-0000-4000-8000-000000000003", "p-nsg"),
            assignment(OTHER_RG_SCOPE, "a0000000-0000-4000-8000-000000000004", "p-other"),
        ],
        "graph.conditionalAccessPolicies": corpus(
            "graph/conditionalAccess_policies_list_v1.0.json"
        ),
        "graph.directoryRoleAssignments": [*graph_members, security_admin],
        "graph.directoryRoleEligibilitySchedules": [
            eligible(GA, "e-ga-1"),
            eligible(SECURITY_ADMIN, "e-sa-1"),
        ],
        "graph.directoryRoleDefinitions": [],
        "graph.securityDefaults": corpus(
            "graph/policies_identitySecurityDefaultsEnforcementPolicy_get_v1.0.json"
        ),
        "graph.authenticationMethodsPolicy": corpus(
            "graph/policies_authenticationMethodsPolicy_get_v1.0.json"
        ),
    }
    return azure_rest_server


def make_reader(
    server: AzureRestServer, credential: StaticTokenCredential, **options: Any
) -> ResourceReader:
    options.setdefault("arm_endpoint", server.arm_endpoint)
    options.setdefault("graph_endpoint", server.graph_endpoint)
    options.setdefault("max_retries", 1)
    options.setdefault("subscriptions", [SUB])
    return ResourceReader(
        credential, connection_verify=str(server.ca_file), retry_delay=0, **options
    )


@pytest.fixture
def reader(
    server: AzureRestServer, token_credential: StaticTokenCredential
) -> Iterator[ResourceReader]:
    with make_reader(server, token_credential) as reader:
        yield reader


def paths(server: AzureRestServer) -> list[tuple[str, str]]:
    return [(r.service, r.path) for r in server.requests]


# --- each kind reads only its setting ---------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "scope", "sections"),
    [
        ("nsg", NSG_ID, ["arm.networkSecurityGroups"]),
        ("role-assignments", SUB_SCOPE, ["arm.roleAssignments"]),
        ("role-assignments", RG_SCOPE, ["arm.roleAssignments"]),
        ("role-assignments", NSG_ID, ["arm.roleAssignments"]),
        ("conditional-access-policy", CA_SCOPE, ["graph.conditionalAccessPolicies"]),
        (
            "directory-role",
            GA_SCOPE,
            ["graph.directoryRoleAssignments", "graph.directoryRoleEligibilitySchedules"],
        ),
        ("security-defaults", SECURITY_DEFAULTS, ["graph.securityDefaults"]),
        ("authentication-methods", AUTH_METHODS, ["graph.authenticationMethodsPolicy"]),
    ],
)
def test_the_kind_judges_the_partial_read_as_it_judges_the_full_one(
    server: AzureRestServer,
    reader: ResourceReader,
    token_credential: StaticTokenCredential,
    kind: str,
    scope: str,
    sections: list[str],
) -> None:
    full = read_snapshot(
        token_credential,
        subscriptions=[SUB],
        arm_endpoint=server.arm_endpoint,
        graph_endpoint=server.graph_endpoint,
        connection_verify=str(server.ca_file),
    )

    partial = reader.read(kind, scope)

    assert list(partial.sections) == sections
    assert partial.read_errors == {}
    plugin = get_kind(kind)
    key = plugin.scope_key(scope)
    mine, theirs = plugin.actual(plugin.index(partial), key), plugin.actual(plugin.index(full), key)
    assert mine is not None
    assert theirs is not None
    assert mine.state  # something to compare, and the same as the full read's
    assert plugin.comparable(mine.state, partial) == plugin.comparable(theirs.state, full)


def test_an_nsg_is_one_get(server: AzureRestServer, reader: ResourceReader) -> None:
    snapshot = reader.read("nsg", NSG_ID)

    assert snapshot.items("arm.networkSecurityGroups") == [
        server.data["arm.networkSecurityGroups"][0]
    ]
    assert paths(server) == [("arm", NSG_ID)]
    assert server.requests[0].method == "GET"
    assert snapshot.source == "live"


@pytest.mark.parametrize(
    ("scope", "path", "query", "expected"),
    [
        pytest.param(SUB_SCOPE, SUB_SCOPE + ROLE_ASSIGNMENTS, [], 73, id="subscription"),
        pytest.param(RG_SCOPE, RG_SCOPE + ROLE_ASSIGNMENTS, [], 3, id="resource-group"),
        pytest.param(NSG_ID, NSG_ID + ROLE_ASSIGNMENTS, [], 1, id="resource"),
        pytest.param(
            MG_SCOPE, MG_SCOPE + ROLE_ASSIGNMENTS, ["atScope()"], 3, id="management-group"
        ),
        pytest.param("/", SUB_SCOPE + ROLE_ASSIGNMENTS, [], 78, id="root"),
    ],
)
def test_role_assignments_at_or_below_the_scope_from_every_page(
    server: AzureRestServer,
    reader: ResourceReader,
    scope: str,
    path: str,
    query: list[str],
    expected: int,
) -> None:
    # given pages of 10 (78 assignments: root, 4 at management groups, 69 at the subscription,
    # 2 at a resource group, 1 on an NSG in it, 1 at another resource group)
    server.page_size = 10

    snapshot = reader.read("role-assignments", scope)

    items = snapshot.items("arm.roleAssignments")
    assert len(items) == expected
    assert len({a["id"].casefold() for a in items}) == expected
    wanted = scope.casefold()
    for item in items:
        at = item["properties"]["scope"].casefold()
        assert wanted == "/" or at == wanted or at.startswith(wanted + "/")
    assert {r.path for r in server.requests} == {path}
    assert all(r.query.get("$filter", []) == query for r in server.requests)
    assert len(server.requests) > 1 or expected < 10  # every nextLink was followed


def test_role_assignments_at_the_root_need_subscriptions(
    server: AzureRestServer, token_credential: StaticTokenCredential
) -> None:
    with (
        make_reader(server, token_credential, subscriptions=[]) as reader,
        pytest.raises(InputError, match="needs subscriptions"),
    ):
        reader.read("role-assignments", "/")

    assert server.requests == []  # refused before any call: the pipeline records an error


def test_a_directory_role_is_read_with_a_filter(
    server: AzureRestServer, reader: ResourceReader
) -> None:
    server.page_size = 1

    snapshot = reader.read("directory-role", GA_SCOPE.upper())  # ids are case-insensitive

    active = snapshot.items("graph.directoryRoleAssignments")
    assert [a["roleDefinitionId"] for a in active] == [GA] * 3
    assert all(a["principal"]["displayName"] for a in active)  # $expand=principal
    assert [
        e["principalId"] for e in snapshot.items("graph.directoryRoleEligibilitySchedules")
    ] == ["e-ga-1"]
    only_ga = [f"roleDefinitionId eq '{GA}'"]
    assert [r.path for r in server.requests] == [DIRECTORY_ROLE_ASSIGNMENTS] * 3 + [ELIGIBILITY]
    assert all(r.query["$filter"] == only_ga for r in server.requests)
    assert all(
        r.query.get("$expand") == ["principal"]
        for r in server.requests_to(DIRECTORY_ROLE_ASSIGNMENTS)
    )


@pytest.mark.parametrize(
    ("kind", "scope", "path"),
    [
        ("conditional-access-policy", CA_SCOPE, CA_SCOPE),
        ("security-defaults", SECURITY_DEFAULTS, SECURITY_DEFAULTS),
        ("authentication-methods", AUTH_METHODS, AUTH_METHODS),
    ],
)
def test_a_graph_object_is_one_get(
    server: AzureRestServer, reader: ResourceReader, kind: str, scope: str, path: str
) -> None:
    snapshot = reader.read(kind, scope)

    assert paths(server) == [("graph", path)]
    assert snapshot.read_errors == {}


# --- gone, refused, not captured -------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "scope", "section"),
    [
        pytest.param(
            "nsg", NSG_ID.replace("c7n-nsg", "deleted"), "arm.networkSecurityGroups", id="nsg"
        ),
        pytest.param(
            "nsg",
            NSG_ID.replace("test_networksecuritygroup", "deleted-rg"),
            "arm.networkSecurityGroups",
            id="nsg-in-deleted-resource-group",
        ),
        pytest.param(
            "conditional-access-policy",
            CA_SCOPE.replace(CA_POLICY, "00000000-0000-4000-8000-000000000000"),
            "graph.conditionalAccessPolicies",
            id="ca-policy",
        ),
    ],
)
def test_a_deleted_setting_is_an_empty_section_and_reported_missing(
    server: AzureRestServer, reader: ResourceReader, kind: str, scope: str, section: str
) -> None:
    snapshot = reader.read(kind, scope)

    assert snapshot.sections == {section: []}
    assert snapshot.read_errors == {}
    assert [r.status for r in server.requests] == [404]
    plugin = get_kind(kind)
    assert plugin.actual(plugin.index(snapshot), plugin.scope_key(scope)) is None


def test_no_role_assignments_below_a_deleted_resource_group(
    server: AzureRestServer, reader: ResourceReader
) -> None:
    scope = f"{SUB_SCOPE}/resourceGroups/deleted-rg"

    snapshot = reader.read("role-assignments", scope)

    assert snapshot.sections == {"arm.roleAssignments": []}
    plugin = get_kind("role-assignments")
    actual = plugin.actual(plugin.index(snapshot), plugin.scope_key(scope))
    assert actual is not None
    assert actual.state == {}


def test_an_unknown_subscription_is_an_error_not_a_deletion(
    server: AzureRestServer, reader: ResourceReader
) -> None:
    snapshot = reader.read("nsg", NSG_ID.replace(SUB, OTHER_SUB))

    assert snapshot.status("arm.networkSecurityGroups") == "failed"
    assert "SubscriptionNotFound" in snapshot.read_errors["arm.networkSecurityGroups"]


@pytest.mark.parametrize(
    ("kind", "scope", "path", "section"),
    [
        ("nsg", NSG_ID, NSG_ID, "arm.networkSecurityGroups"),
        ("role-assignments", RG_SCOPE, RG_SCOPE + ROLE_ASSIGNMENTS, "arm.roleAssignments"),
        ("conditional-access-policy", CA_SCOPE, CA_SCOPE, "graph.conditionalAccessPolicies"),
        ("directory-role", GA_SCOPE, DIRECTORY_ROLE_ASSIGNMENTS, "graph.directoryRoleAssignments"),
        ("security-defaults", SECURITY_DEFAULTS, SECURITY_DEFAULTS, "graph.securityDefaults"),
    ],
)
@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_read_names_its_section(
    server: AzureRestServer,
    reader: ResourceReader,
    kind: str,
    scope: str,
    path: str,
    section: str,
    status: int,
) -> None:
    server.fail(path, status, times=None, retry_after=None)

    snapshot = reader.read(kind, scope)

    assert snapshot.status(section) == "failed"
    assert snapshot.read_errors[section].startswith(f"{status} ")
    assert section not in snapshot.sections
    assert len(server.requests_to(path)) == 1  # a 4xx is not retried


def test_eligibility_without_a_p2_license_is_not_captured(
    server: AzureRestServer, reader: ResourceReader
) -> None:
    # given a tenant without Entra ID P2: PIM does not exist there
    server.fail(ELIGIBILITY, 400, times=None, retry_after=None, code="AadPremiumLicenseRequired")

    snapshot = reader.read("directory-role", GA_SCOPE)

    assert snapshot.read_errors == {}
    assert snapshot.status("graph.directoryRoleAssignments") == "captured"
    assert snapshot.status("graph.directoryRoleEligibilitySchedules") == "missing"
    assert get_kind("directory-role").notices(snapshot) == [
        "directory-role: PIM eligibility not captured; active members only"
    ]


@pytest.mark.parametrize(
    ("status", "code"), [(403, "Authorization_RequestDenied"), (400, "BadRequest")]
)
def test_a_refused_eligibility_read_is_a_failed_read(
    server: AzureRestServer, reader: ResourceReader, status: int, code: str
) -> None:
    # given driftkeeper lacks the permission to read PIM (or Graph refuses the request)
    server.fail(ELIGIBILITY, status, times=None, retry_after=None, code=code)

    snapshot = reader.read("directory-role", GA_SCOPE)

    # then eligible members are not assumed away: the section failed
    assert snapshot.status("graph.directoryRoleEligibilitySchedules") == "failed"
    assert code in snapshot.read_errors["graph.directoryRoleEligibilitySchedules"]


@pytest.mark.parametrize(
    ("kind", "scope"),
    [
        ("nsg", f"{NSG_ID}/securityRules/allow-rdp"),
        ("nsg", NSG_ID.replace(SUB, "not-a-guid")),
        ("nsg", NSG_ID.replace("test_networksecuritygroup", "..")),
        ("nsg", NSG_ID.replace("test_networksecuritygroup", "rg?api-version=1")),
        ("nsg", NSG_ID.replace("c7n-nsg", "nsg#x")),
        ("nsg", NSG_ID.replace("c7n-nsg", "../../other")),
        ("nsg", NSG_ID.replace("networkSecurityGroups", "virtualNetworks")),
        ("nsg", RG_SCOPE),
        ("nsg", ""),
        ("role-assignments", "/subscriptions/not-a-guid"),
        ("role-assignments", f"{RG_SCOPE}/providers/Microsoft.Network/x/.."),
        ("role-assignments", f"{RG_SCOPE}/../../providers/Microsoft.Management"),
        ("role-assignments", f"{SUB_SCOPE}{ROLE_ASSIGNMENTS}/a0000000-0000-4000-8000-000000000001"),
        ("role-assignments", f"{MG_SCOPE}?$filter=x"),
        ("role-assignments", "subscriptions/" + SUB),
        ("conditional-access-policy", "/identity/conditionalAccess/policies/x' or 1 eq 1"),
        ("conditional-access-policy", f"{CA_SCOPE}/../../../users"),
        ("directory-role", f"{GA_SCOPE}' or roleDefinitionId ne '"),
        ("directory-role", "/roleManagement/directory/roleDefinitions/"),
        ("security-defaults", AUTH_METHODS),
        ("authentication-methods", "/policies/authenticationMethodsPolicy/x"),
        ("no-such-kind", NSG_ID),
    ],
)
def test_an_invalid_scope_raises_input_error_before_any_request(
    server: AzureRestServer, reader: ResourceReader, kind: str, scope: str
) -> None:
    with pytest.raises(InputError):
        reader.read(kind, scope)

    assert server.requests == []


# --- transient failures ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "scope", "path"),
    [("nsg", NSG_ID, NSG_ID), ("conditional-access-policy", CA_SCOPE, CA_SCOPE)],
)
def test_throttling_is_retried(
    server: AzureRestServer, reader: ResourceReader, kind: str, scope: str, path: str
) -> None:
    server.fail(path, 429, times=1, retry_after=None)

    snapshot = reader.read(kind, scope)

    assert snapshot.read_errors == {}
    assert len(next(iter(snapshot.sections.values()))) == 1
    assert [r.status for r in server.requests_to(path)] == [429, 200]


@pytest.mark.parametrize(
    ("kind", "scope", "path"),
    [
        ("nsg", NSG_ID, NSG_ID),
        ("role-assignments", SUB_SCOPE, SUB_SCOPE + ROLE_ASSIGNMENTS),
        ("directory-role", GA_SCOPE, ELIGIBILITY),
        ("authentication-methods", AUTH_METHODS, AUTH_METHODS),
    ],
)
def test_persistent_503_raises_transient_read_error(
    server: AzureRestServer, reader: ResourceReader, kind: str, scope: str, path: str
) -> None:
    server.fail(path, 503, times=None, retry_after=None)

    with pytest.raises(TransientReadError, match=r"503 Service Unavailable.*after retries"):
        reader.read(kind, scope)

    assert [r.status for r in server.requests_to(path)] == [503, 503]  # 1 + 1 retry


@pytest.mark.parametrize(
    ("kind", "scope"), [("nsg", NSG_ID), ("security-defaults", SECURITY_DEFAULTS)]
)
def test_no_answer_raises_transient_read_error(
    server: AzureRestServer, token_credential: StaticTokenCredential, kind: str, scope: str
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoints = {
        "arm_endpoint": f"https://127.0.0.1:{port}",
        "graph_endpoint": f"http://127.0.0.1:{port}/v1.0",
    }
    with (
        make_reader(server, token_credential, max_retries=0, **endpoints) as reader,
        pytest.raises(TransientReadError, match="no response from"),
    ):
        reader.read(kind, scope)


class _NoTokenCredential:
    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.exceptions import ClientAuthenticationError

        raise ClientAuthenticationError("No identity available.")


@pytest.mark.parametrize(
    ("kind", "scope"), [("nsg", NSG_ID), ("conditional-access-policy", CA_SCOPE)]
)
def test_a_credential_without_token_raises_read_error(
    server: AzureRestServer, kind: str, scope: str
) -> None:
    with (
        make_reader(server, _NoTokenCredential()) as reader,  # type: ignore[arg-type]
        pytest.raises(ReadError, match="access token") as info,
    ):
        reader.read(kind, scope)

    assert not isinstance(info.value, TransientReadError)
    assert server.requests == []


# --- clients ---------------------------------------------------------------------------------
def test_clients_are_built_once_and_shared_by_threads(
    server: AzureRestServer,
    token_credential: StaticTokenCredential,
    async_token_credential: StaticAsyncTokenCredential,
) -> None:
    reads = [("nsg", NSG_ID), ("nsg", OTHER_NSG_ID), ("conditional-access-policy", CA_SCOPE)] * 8
    with (
        make_reader(server, token_credential, async_credential=async_token_credential) as reader,
        ThreadPoolExecutor(8) as pool,
    ):
        snapshots = list(pool.map(lambda read: reader.read(*read), reads))

    assert all(s.read_errors == {} and len(s.sections) == 1 for s in snapshots)
    assert len(server.requests) == len(reads)
    # one ARM client (its token is cached) and one Graph client on the async credential
    assert token_credential.requested_scopes == [("https://127.0.0.1/.default",)]
    assert async_token_credential.requested_scopes
    assert set(async_token_credential.requested_scopes) == {("http://127.0.0.1/.default",)}


def test_a_closed_reader_refuses_to_read(
    server: AzureRestServer, token_credential: StaticTokenCredential
) -> None:
    reader = make_reader(server, token_credential)
    reader.read("security-defaults", SECURITY_DEFAULTS)
    reader.close()
    reader.close()

    with pytest.raises(RuntimeError, match="closed"):
        reader.read("nsg", NSG_ID)


def test_a_snapshot_reader_answers_with_its_snapshot() -> None:
    snapshot = Snapshot("t", "2026-11-22T10:00:00Z", {"arm.networkSecurityGroups": []})

    reader = snapshot_reader(snapshot)

    assert reader.read("nsg", NSG_ID) is snapshot
    assert reader.read("directory-role", GA_SCOPE) is snapshot


# --- coalescing ------------------------------------------------------------------------------
class CountingReader:
    """An inner reader that counts reads, can hold them until released, and can fail."""

    def __init__(self, *, hold: bool = False, fail: bool = False) -> None:
        self.calls: list[tuple[str, str]] = []
        self.release = threading.Event()
        if not hold:
            self.release.set()
        self.fail = fail
        self._lock = threading.Lock()

    def read(self, kind: str, scope: str) -> Snapshot:
        with self._lock:
            self.calls.append((kind, scope))
        assert self.release.wait(5)
        if self.fail:
            raise TransientReadError(f"429 for {scope}")
        return Snapshot("t", "now", {}, source=f"{kind} {scope}")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


SCOPES = [
    f"{OTHER_RG_SCOPE}/providers/Microsoft.Network/networkSecurityGroups/n{i}" for i in range(10)
]


def burst(count: int) -> list[tuple[str, str]]:
    """``count`` reads over the 10 scopes, spelled in varying case."""
    return [("nsg", SCOPES[i % 10].upper() if i % 3 == 0 else SCOPES[i % 10]) for i in range(count)]


def test_a_sequential_burst_reads_each_resource_once() -> None:
    inner, clock = CountingReader(), FakeClock()
    reader = CoalescingReader(inner, window=5.0, clock=clock)

    for number, (kind, scope) in enumerate(burst(1000)):
        clock.now = 1000.0 + number * 0.004  # 1,000 events in 4 s
        assert reader.read(kind, scope).source.casefold() == f"nsg {scope}".casefold()

    assert len(inner.calls) == reader.reads == 10


def test_concurrent_callers_wait_for_the_read_in_flight() -> None:
    inner = CountingReader(hold=True)
    reader = CoalescingReader(inner, window=5.0, clock=FakeClock())

    with ThreadPoolExecutor(32) as pool:
        results = [pool.submit(reader.read, kind, scope) for kind, scope in burst(1000)]
        deadline = time.monotonic() + 5
        while len(inner.calls) < 10 and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(0.05)  # the other 22 workers are parked behind the 10 reads in flight
        assert len(inner.calls) == 10
        inner.release.set()
        sources = {r.result(timeout=5).source.casefold() for r in results}

    assert len(inner.calls) == reader.reads == 10
    assert sources == {f"nsg {scope}".casefold() for scope in SCOPES}


def test_a_read_is_reused_for_the_window_then_repeated() -> None:
    inner, clock = CountingReader(), FakeClock()
    reader = CoalescingReader(inner, window=5.0, clock=clock)

    first = reader.read("role-assignments", SUB_SCOPE + "/")
    clock.now += 4.9
    assert reader.read("role-assignments", SUB_SCOPE.upper()) is first  # same scope key
    clock.now += 0.1  # 5 s after the first read began
    again = reader.read("role-assignments", SUB_SCOPE)

    assert again is not first
    assert len(inner.calls) == reader.reads == 2


def test_an_exception_reaches_every_waiter_and_is_not_kept() -> None:
    inner = CountingReader(hold=True, fail=True)
    reader = CoalescingReader(inner, window=5.0, clock=FakeClock())

    with ThreadPoolExecutor(8) as pool:
        waiting = [pool.submit(reader.read, "nsg", NSG_ID) for _ in range(8)]
        deadline = time.monotonic() + 5
        while not inner.calls and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(0.05)
        inner.release.set()
        for future in waiting:
            with pytest.raises(TransientReadError, match="429"):
                future.result(timeout=5)
    assert len(inner.calls) == 1

    inner.fail = False
    snapshot = reader.read("nsg", NSG_ID)  # within the window, yet read again

    assert snapshot.source == f"nsg {NSG_ID}"
    assert len(inner.calls) == reader.reads == 2


def test_a_negative_window_is_refused() -> None:
    with pytest.raises(ValueError, match="window"):
        CoalescingReader(CountingReader(), window=-1)


def test_coalesced_live_reads_cost_one_get(server: AzureRestServer, reader: ResourceReader) -> None:
    coalesced = CoalescingReader(reader)

    with ThreadPoolExecutor(16) as pool:
        snapshots = list(pool.map(lambda _: coalesced.read("nsg", NSG_ID), range(200)))

    assert all(s is snapshots[0] for s in snapshots)
    assert paths(server) == [("arm", NSG_ID)]
    assert coalesced.reads == 1


# --- freshness: a change is never judged on a read that began before it -------------------
SD_SCOPE = "/policies/identitySecurityDefaultsEnforcementPolicy"
T0 = datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)


def test_coalescing_never_shares_a_read_older_than_the_change() -> None:
    inner, wall = CountingReader(), [T0]
    coalesced = CoalescingReader(inner, window=60, wall_clock=lambda: wall[0])
    # given a read that began at 10:00:00, a change from before it shares it
    coalesced.read("security-defaults", SD_SCOPE, newer_than=T0 - timedelta(seconds=5))
    coalesced.read("security-defaults", SD_SCOPE, newer_than=T0 - timedelta(seconds=1))
    assert len(inner.calls) == 1
    # a change from after the read began reads again
    wall[0] += timedelta(seconds=2)
    coalesced.read("security-defaults", SD_SCOPE, newer_than=wall[0] - timedelta(seconds=1))
    assert len(inner.calls) == 2


def test_a_change_during_an_in_flight_read_gets_its_own_read() -> None:
    inner, wall = CountingReader(hold=True), [T0]
    coalesced = CoalescingReader(inner, window=60, wall_clock=lambda: wall[0])
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(coalesced.read, "security-defaults", SD_SCOPE, newer_than=T0)
        while not inner.calls:
            time.sleep(0.01)
        # a change made after the in-flight read began must not join it
        wall[0] += timedelta(seconds=3)
        later = wall[0] - timedelta(seconds=1)
        second = pool.submit(coalesced.read, "security-defaults", SD_SCOPE, newer_than=later)
        while len(inner.calls) < 2:
            time.sleep(0.01)
        inner.release.set()
        first.result(5)
        second.result(5)
    assert len(inner.calls) == 2


def test_settle_lets_the_changes_of_a_burst_share_one_read() -> None:
    inner, slept = CountingReader(), []
    coalesced = CoalescingReader(
        inner, window=60, wall_clock=lambda: T0, settle=2.0, sleep=slept.append
    )
    # a change at 10:00:00 is read after settling: changes until 10:00:02 share the read
    coalesced.read("security-defaults", SD_SCOPE, newer_than=T0)
    coalesced.read("security-defaults", SD_SCOPE, newer_than=T0 + timedelta(seconds=1.5))
    assert (len(inner.calls), slept) == (1, [2.0])
    # a change after the read began needs a read of its own
    coalesced.read("security-defaults", SD_SCOPE, newer_than=T0 + timedelta(seconds=3))
    assert len(inner.calls) == 2
