"""read_snapshot against the local ARM / Graph stand-ins, fed with recorded responses."""

from __future__ import annotations

import copy
import json
import logging
import re
import socket
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from driftkeeper import InputError, ReadError, Snapshot, TransientReadError
from driftkeeper.live import read_snapshot
from driftkeeper.snapshot import declared_sections
from tests.builders import corpus
from tests.fakes.azure_rest import AzureRestServer
from tests.fakes.credentials import StaticAsyncTokenCredential, StaticTokenCredential

SUB = "ea42f556-5106-4743-99b0-c129bfa71a47"
OTHER_SUB = "0b1f6471-1bf0-4dda-aec3-111122223333"
ROLE_ASSIGNMENTS = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments"
ROLE_DEFINITIONS = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions"
CA_POLICIES = "/identity/conditionalAccess/policies"
DIRECTORY_ROLE_ASSIGNMENTS = "/roleManagement/directory/roleAssignments"
ELIGIBILITY = "/roleManagement/directory/roleEligibilitySchedules"
MG_ASSIGNMENT_ID = (
    "/providers/Microsoft.Management/managementGroups/mg-root/providers/"
    "Microsoft.Authorization/roleAssignments/5b1c2a4e-0000-4000-8000-00000000abcd"
)


@pytest.fixture
def server(azure_rest_server: AzureRestServer) -> AzureRestServer:
    """The stand-ins serving a recorded tenant: one subscription, Graph policies and roles."""
    azure_rest_server.data = {
        "arm.networkSecurityGroups": corpus("arm/recorded_nsg_list_after_open_ports.json"),
        "arm.roleAssignments": corpus("arm/recorded_roleAssignments_list_subscription.json"),
        "arm.roleDefinitions": [
            corpus(f"arm/recorded_roleDefinition_{role}.json")
            for role in ("Owner", "Contributor", "Reader")
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


def served(server: AzureRestServer, section: str) -> Any:
    value = server.data[section]
    return value["value"] if isinstance(value, dict) and "value" in value else value


def read(
    server: AzureRestServer,
    credential: StaticTokenCredential,
    async_credential: StaticAsyncTokenCredential | None = None,
    **options: Any,
) -> Snapshot:
    options.setdefault("subscriptions", [SUB])
    options.setdefault("arm_endpoint", server.arm_endpoint)
    options.setdefault("graph_endpoint", server.graph_endpoint)
    options.setdefault("max_retries", 1)
    return read_snapshot(
        credential,
        tenant_id="tenant-1",
        connection_verify=str(server.ca_file),
        async_credential=async_credential,
        retry_delay=0,
        **options,
    )


# --- paging and shapes ----------------------------------------------------------------------
def test_every_page_of_role_assignments_is_read_in_rest_shape(
    server: AzureRestServer, token_credential: StaticTokenCredential
) -> None:
    # given 74 recorded assignments served 10 to a page
    server.page_size = 10

    snapshot = read(server, token_credential, include_graph=False)

    pages = server.requests_to(ROLE_ASSIGNMENTS)
    assert len(pages) == 8
    assert [r.skiptoken for r in pages] == [None, "10", "20", "30", "40", "50", "60", "70"]
    assert all(r.bearer and r.query.get("api-version") for r in server.requests)
    assignments = snapshot.items("arm.roleAssignments")
    assert [a["id"] for a in assignments] == [
        a["id"] for a in served(server, "arm.roleAssignments")
    ]
    for assignment in assignments:
        assert set(assignment) == {"id", "name", "type", "properties"}
        assert assignment["properties"]["roleDefinitionId"].startswith(f"/subscriptions/{SUB}/")
        assert assignment["properties"]["principalId"]
        assert assignment["properties"]["scope"]


def test_nsgs_come_back_exactly_as_served(
    server: AzureRestServer, token_credential: StaticTokenCredential
) -> None:
    # one generic ARM client (ARMPipelineClient): the JSON ARM sent, unknown fields included
    snapshot = read(server, token_credential, include_graph=False)

    (nsg,) = snapshot.items("arm.networkSecurityGroups")
    assert nsg == served(server, "arm.networkSecurityGroups")[0]
    rules = nsg["properties"]["securityRules"]
    assert {r["name"] for r in rules} >= {"test1", "test6"}
    assert all("properties" in r and "etag" in r for r in rules)


@pytest.mark.parametrize(
    ("section", "kind"), [("arm.roleAssignments", "assignment"), ("arm.roleDefinitions", "role")]
)
def test_authorization_objects_come_back_exactly_as_served(
    server: AzureRestServer, token_credential: StaticTokenCredential, section: str, kind: str
) -> None:
    # the typed SDK (msrest models) dropped nulls and the 7th fraction digit of timestamps;
    # the generic client keeps every field, null and digit
    snapshot = read(server, token_credential, include_graph=False)

    got = snapshot.items(section)
    expected = served(server, section)
    assert len(got) == len(expected), kind
    assert got == expected
    assert any(re.search(r"\.\d{7}Z", json.dumps(item)) for item in expected), (
        "the recorded samples carry 7 fraction digits"
    )


def test_graph_objects_have_the_served_keys(
    server: AzureRestServer,
    token_credential: StaticTokenCredential,
    async_token_credential: StaticAsyncTokenCredential,
) -> None:
    server.page_size = 1

    snapshot = read(server, token_credential, async_token_credential, include_arm=False)

    # Graph objects are kept exactly as served (no model round trip)
    for section in (
        "graph.conditionalAccessPolicies",
        "graph.directoryRoleAssignments",
        "graph.directoryRoleEligibilitySchedules",
        "graph.directoryRoleDefinitions",
    ):
        assert snapshot.items(section) == served(server, section), section
    for section in ("graph.securityDefaults", "graph.authenticationMethodsPolicy"):
        expected = dict(served(server, section))
        expected.pop("@odata.context", None)
        assert snapshot.object(section) == expected, section
    # principal came back because $expand survived into every nextLink
    pages = server.requests_to(DIRECTORY_ROLE_ASSIGNMENTS)
    assert len(pages) == 3
    assert all(r.query.get("$expand") == ["principal"] for r in pages)
    assert len(server.requests_to(CA_POLICIES)) == 2
    assert all(r.bearer for r in server.requests)
    assert set(async_token_credential.requested_scopes) == {("http://127.0.0.1/.default",)}
    assert token_credential.requested_scopes == []


def test_snapshot_has_every_section_and_round_trips(
    server: AzureRestServer, token_credential: StaticTokenCredential
) -> None:
    snapshot = read(server, token_credential)

    assert list(snapshot.sections) == list(declared_sections())
    assert snapshot.read_errors == {}
    assert snapshot.source == "live"
    assert snapshot.tenant_id == "tenant-1"
    datetime.strptime(snapshot.captured_at, "%Y-%m-%dT%H:%M:%SZ")
    again = Snapshot.from_dict(json.loads(json.dumps(snapshot.to_dict())))
    assert again.sections == snapshot.sections


def test_objects_seen_by_two_subscriptions_are_kept_once(
    server: AzureRestServer, token_credential: StaticTokenCredential
) -> None:
    # given an assignment inherited from a management group, seen by both subscriptions
    inherited = copy.deepcopy(served(server, "arm.roleAssignments")[0])
    inherited["id"] = MG_ASSIGNMENT_ID
    inherited["properties"]["scope"] = "/providers/Microsoft.Management/managementGroups/mg-root"
    other_nsg = copy.deepcopy(served(server, "arm.networkSecurityGroups")[0])
    other_nsg["id"] = other_nsg["id"].replace(SUB, OTHER_SUB)
    server.data["arm.roleAssignments"] = [*served(server, "arm.roleAssignments"), inherited]
    server.data["arm.networkSecurityGroups"] = [
        *served(server, "arm.networkSecurityGroups"),
        other_nsg,
    ]

    snapshot = read(server, token_credential, subscriptions=[SUB, OTHER_SUB], include_graph=False)

    ids = [a["id"] for a in snapshot.items("arm.roleAssignments")]
    assert len(ids) == 75
    assert ids.count(MG_ASSIGNMENT_ID) == 1
    assert len(snapshot.items("arm.networkSecurityGroups")) == 2


def test_without_subscriptions_the_arm_sections_are_not_captured(
    server: AzureRestServer, token_credential: StaticTokenCredential
) -> None:
    snapshot = read(server, token_credential, subscriptions=[], include_graph=False)

    assert snapshot.sections == {}
    assert snapshot.status("arm.roleAssignments") == "missing"
    assert server.requests == []


@pytest.mark.parametrize(
    ("subscriptions", "error"),
    [(SUB, TypeError), ([SUB, "../../providers/x"], InputError), ([""], InputError)],
)
def test_subscription_ids_are_checked_before_any_call(
    server: AzureRestServer,
    token_credential: StaticTokenCredential,
    subscriptions: Any,
    error: type[Exception],
) -> None:
    with pytest.raises(error):
        read(server, token_credential, subscriptions=subscriptions)

    assert server.requests == []


# --- failures --------------------------------------------------------------------------------
def test_throttled_calls_are_retried_after_retry_after(
    server: AzureRestServer, token_credential: StaticTokenCredential
) -> None:
    server.page_size = 10
    server.fail(ROLE_ASSIGNMENTS, 429, times=1, retry_after=1)
    server.fail(CA_POLICIES, 429, times=1, retry_after=1)

    snapshot = read(server, token_credential)

    assert snapshot.read_errors == {}
    assert len(snapshot.items("arm.roleAssignments")) == 74
    assert len(snapshot.items("graph.conditionalAccessPolicies")) == 2
    arm_calls = server.requests_to(ROLE_ASSIGNMENTS)
    assert [(r.status, r.skiptoken) for r in arm_calls[:2]] == [(429, None), (200, None)]
    assert len(arm_calls) == 9
    assert [r.status for r in server.requests_to(CA_POLICIES)] == [429, 200]


@pytest.mark.parametrize(
    ("status", "code"), [(403, "Authorization_RequestDenied"), (404, "Request_ResourceNotFound")]
)
def test_a_refused_graph_section_is_a_read_error_and_the_rest_is_captured(
    server: AzureRestServer, token_credential: StaticTokenCredential, status: int, code: str
) -> None:
    server.fail(ELIGIBILITY, status, times=None, retry_after=None)

    snapshot = read(server, token_credential)

    assert list(snapshot.read_errors) == ["graph.directoryRoleEligibilitySchedules"]
    message = snapshot.read_errors["graph.directoryRoleEligibilitySchedules"]
    assert message.startswith(f"{status} ")
    assert code in message
    assert snapshot.status("graph.directoryRoleEligibilitySchedules") == "failed"
    assert "graph.directoryRoleEligibilitySchedules" not in snapshot.sections
    assert set(snapshot.sections) == set(declared_sections()) - {
        "graph.directoryRoleEligibilitySchedules"
    }
    assert len(server.requests_to(ELIGIBILITY)) == 1  # a 4xx is not retried
    assert "graph.directoryRoleEligibilitySchedules" in snapshot.to_dict()["readErrors"]


def test_an_unknown_subscription_fails_the_arm_sections_only(
    server: AzureRestServer, token_credential: StaticTokenCredential
) -> None:
    snapshot = read(server, token_credential, subscriptions=[SUB, OTHER_SUB])

    assert set(snapshot.read_errors) == {
        name for name, section in declared_sections().items() if section.api == "arm"
    }
    for message in snapshot.read_errors.values():
        assert message == (
            f"subscription {OTHER_SUB}: 404 Not Found: SubscriptionNotFound: "
            f"The subscription '{OTHER_SUB}' could not be found."
        )
    assert snapshot.status("arm.roleAssignments") == "failed"
    assert snapshot.status("graph.conditionalAccessPolicies") == "captured"


@pytest.mark.parametrize(
    ("path", "service"), [(ROLE_DEFINITIONS, "ARM"), (DIRECTORY_ROLE_ASSIGNMENTS, "Graph")]
)
def test_persistent_503_raises_transient_read_error(
    server: AzureRestServer, token_credential: StaticTokenCredential, path: str, service: str
) -> None:
    server.fail(path, 503, times=None, retry_after=None)

    with pytest.raises(TransientReadError, match=r"503 Service Unavailable.*after retries"):
        read(server, token_credential)

    assert [r.status for r in server.requests_to(path)] == [503, 503], service  # 1 + 1 retry


@pytest.mark.parametrize("service", ["arm", "graph"])
def test_no_answer_raises_transient_read_error(
    server: AzureRestServer, token_credential: StaticTokenCredential, service: str
) -> None:
    # given an endpoint where nothing listens (the port of a socket just closed)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    scheme, version = ("https", "") if service == "arm" else ("http", "/v1.0")
    options: dict[str, Any] = {f"{service}_endpoint": f"{scheme}://127.0.0.1:{port}{version}"}
    options["include_graph" if service == "arm" else "include_arm"] = False

    with pytest.raises(TransientReadError, match="no response from"):
        read(server, token_credential, max_retries=0, **options)


def test_the_bearer_token_is_never_logged(
    server: AzureRestServer,
    token_credential: StaticTokenCredential,
    bearer_token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    server.page_size = 10
    server.fail(ELIGIBILITY, 403, times=None, retry_after=None)

    snapshot = read(server, token_credential)

    assert snapshot.read_errors
    assert "Authorization" in caplog.text  # azure-core logs the header names (redacted)
    assert bearer_token not in caplog.text
    for record in caplog.records:
        assert bearer_token not in record.getMessage()
    assert bearer_token not in json.dumps(snapshot.to_dict())


class _NoTokenCredential:
    """A credential that cannot get a token (as when no identity is configured)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.exceptions import ClientAuthenticationError

        raise ClientAuthenticationError("No identity available.\nSecond line.")


@pytest.mark.parametrize(("service", "only"), [("ARM", "include_graph"), ("Graph", "include_arm")])
def test_a_credential_without_token_raises_read_error(
    server: AzureRestServer, service: str, only: str
) -> None:
    with pytest.raises(
        ReadError, match=f"access token for .*{service}.*No identity available"
    ) as info:
        read(server, _NoTokenCredential(), **{only: False})  # type: ignore[arg-type]

    assert not isinstance(info.value, TransientReadError)
    assert server.requests == []


def test_multi_value_enums_in_ca_policies_survive_the_live_read(
    server: AzureRestServer,
    token_credential: StaticTokenCredential,
    async_token_credential: StaticAsyncTokenCredential,
) -> None:
    # kiota's models cannot write these back: a model round trip would drop them
    policy = copy.deepcopy(served(server, "graph.conditionalAccessPolicies")[0])
    policy["conditions"]["users"]["includeGuestsOrExternalUsers"] = {
        "guestOrExternalUserTypes": "internalGuest,b2bCollaborationGuest",
        "externalTenants": {"@odata.type": "#microsoft.graph.conditionalAccessAllExternalTenants",
                            "membershipKind": "all"},
    }  # fmt: skip
    policy["grantControls"]["authenticationStrength"] = {
        "id": "00000000-0000-0000-0000-000000000002",
        "allowedCombinations": ["windowsHelloForBusiness", "password,sms", "fido2"],
    }
    server.data["graph.conditionalAccessPolicies"] = [policy]

    snapshot = read(server, token_credential, async_token_credential, include_arm=False)

    [got] = snapshot.items("graph.conditionalAccessPolicies")
    assert got == policy


# --- helpers ---------------------------------------------------------------------------------
def assert_same_json(got: Any, expected: Any, where: str = "") -> None:
    """``got`` equals ``expected`` but for what the SDK round trip is known to change.

    - a ``null`` in ``expected`` may be missing from ``got``;
    - ``got`` may add ``@odata.type``; ``expected``'s ``@odata.context`` may be missing;
    - timestamps may be re-written (equal to the microsecond).
    """
    if isinstance(expected, dict):
        assert isinstance(got, dict), where
        for key, value in expected.items():
            if key not in got:
                assert value is None or key == "@odata.context", f"{where}/{key} dropped"
                continue
            assert_same_json(got[key], value, f"{where}/{key}")
        extra = set(got) - set(expected) - {"@odata.type"}
        assert not extra, f"{where}: unexpected keys {extra}"
    elif isinstance(expected, list):
        assert isinstance(got, list), where
        assert len(got) == len(expected), where
        for index, (mine, theirs) in enumerate(zip(got, expected, strict=True)):
            assert_same_json(mine, theirs, f"{where}[{index}]")
    elif got != expected:
        assert _timestamp(got) == _timestamp(expected) is not None, f"{where}: {got!r}"


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or "T" not in value:
        return None
    text = value.replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # keep microseconds: the SDKs write at most 6 fraction digits
        digits = "".join(c for c in rest if c.isdigit())
        text = f"{head}.{digits[:6]}{rest[len(digits) :]}"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def test_cli_scan_of_a_live_read_finds_the_drift(
    server: AzureRestServer, token_credential: StaticTokenCredential, tmp_path: Path
) -> None:
    # given baselines captured from the recorded tenant *before* Cloud Custodian opened ports
    import io
    from functools import partial

    from driftkeeper.capture import capture_baselines
    from driftkeeper.cli import main

    before = {
        "schema": "driftkeeper.snapshot/1",
        "arm": {"networkSecurityGroups": corpus("arm/recorded_nsg_list_before_open_ports.json")},
    }
    capture_baselines(Snapshot.from_dict(before), tmp_path)
    live = partial(
        read_snapshot,
        token_credential,
        arm_endpoint=server.arm_endpoint,
        graph_endpoint=server.graph_endpoint,
        connection_verify=server.ca_file,
        include_graph=False,
    )
    # when `driftkeeper scan` reads the tenant live (the server serves the "after" state)
    out = io.StringIO()
    code = main(
        ["scan", "--baselines", str(tmp_path), "--subscription", SUB, "--format", "json"],
        live=lambda subs: live(subscriptions=subs),
        out=out,
    )
    # then the opened rules are drift
    report = json.loads(out.getvalue())
    assert code == 1
    [nsg] = [
        f for f in report["findings"] if f["kind"] == "nsg" and not f["rule"].startswith("guard:")
    ]
    assert "rule 'test1' added" in nsg["message"]
