"""``driftkeeper setup graph-permissions``: the Graph application permissions of a mode,
granted through msgraph-sdk against the local Graph stand-in (real HTTP)."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest

from driftkeeper.cli import main
from driftkeeper.permissions import GRAPH_APP_ID, MAIL_SEND, graph_permissions
from tests.fakes.azure_rest import AzureRestServer, app_role
from tests.fakes.credentials import StaticTokenCredential

ROLLBACK_WRITES = {
    "Policy.ReadWrite.ConditionalAccess",
    "Policy.ReadWrite.SecurityDefaults",
    "Policy.ReadWrite.AuthenticationMethod",
    "RoleManagement.ReadWrite.Directory",
    "RoleEligibilitySchedule.ReadWrite.Directory",
}
DETECT = {
    "AuditLog.Read.All",
    "Policy.Read.All",
    "Policy.Read.AuthenticationMethod",
    "RoleManagement.Read.Directory",
}
OTHER_ROLES = ("Directory.Read.All", "Directory.ReadWrite.All", MAIL_SEND)

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def tenant(azure_rest_server: AzureRestServer) -> AzureRestServer:
    roles = [app_role(p) for p in sorted(DETECT | ROLLBACK_WRITES) + list(OTHER_ROLES)]
    roles.append(app_role("User.Read", member_types=("User",)))  # delegated only
    azure_rest_server.add_service_principal("Microsoft Graph", app_id=GRAPH_APP_ID, app_roles=roles)
    return azure_rest_server


@pytest.fixture
def identity(tenant: AzureRestServer) -> dict[str, str]:
    return tenant.add_service_principal("id-driftkeeper")


@pytest.fixture
def run(
    azure_rest_server: AzureRestServer,
    token_credential: StaticTokenCredential,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Run:
    server = azure_rest_server
    monkeypatch.setenv("DRIFTKEEPER_GRAPH_ENDPOINT", server.graph_endpoint)
    monkeypatch.setenv("DRIFTKEEPER_ARM_ENDPOINT", server.arm_endpoint)
    monkeypatch.setenv("DRIFTKEEPER_CA_BUNDLE", str(server.ca_file))
    monkeypatch.delenv("DRIFTKEEPER_IDENTITY_PRINCIPAL_ID", raising=False)

    def go(*argv: str) -> tuple[int, str, str]:
        out = io.StringIO()
        code = main(
            ["setup", "graph-permissions", *argv], out=out, credential=lambda: token_credential
        )
        return code, out.getvalue(), capsys.readouterr().err

    return go


def granted(server: AzureRestServer, principal: str) -> set[str]:
    names = {app_role(p)["id"]: p for p in (*DETECT, *ROLLBACK_WRITES, *OTHER_ROLES)}
    return {names[a["appRoleId"]] for a in server.app_role_assignments(principal)}


def posts(server: AzureRestServer) -> list[str]:
    return [r.path for r in server.requests if r.method != "GET"]


def test_the_modes_grant_the_read_set_and_the_five_writes_beside_it() -> None:
    assert set(graph_permissions("detect")) == DETECT
    assert set(graph_permissions("rollback")) == DETECT | ROLLBACK_WRITES


def test_a_dry_run_prints_the_plan_and_grants_nothing(
    run: Run, tenant: AzureRestServer, identity: dict[str, str]
) -> None:
    code, out, _ = run("--mode", "rollback", "--principal", identity["id"], "--dry-run")
    assert code == 0
    assert {line.removeprefix("would grant: ") for line in out.splitlines()[:-1]} == (
        DETECT | ROLLBACK_WRITES
    )
    assert "would grant 9, already held 0 of 9" in out
    assert posts(tenant) == []
    assert tenant.app_role_assignments() == []


@pytest.mark.parametrize("mode", ["detect", "rollback"])
def test_granting_is_idempotent(
    mode: str, run: Run, tenant: AzureRestServer, identity: dict[str, str]
) -> None:
    wanted = set(graph_permissions(mode))  # type: ignore[arg-type]
    # when the mode is granted twice
    first = run("--mode", mode, "--principal", identity["id"])
    sent = len(posts(tenant))
    second = run("--mode", mode, "--principal", identity["id"])
    # then the first run granted every permission, the second none
    assert first[0] == second[0] == 0
    assert f"granted {len(wanted)}, already held 0" in first[1]
    assert f"granted 0, already held {len(wanted)}" in second[1]
    assert sent == len(wanted)
    assert len(posts(tenant)) == sent
    assert granted(tenant, identity["id"]) == wanted
    # and each assignment names Microsoft Graph as its resource
    graph = next(r for r in tenant.requests if "appId eq" in str(r.query.get("$filter")))
    assert graph.status == 200
    assert {a["resourceDisplayName"] for a in tenant.app_role_assignments()} == {"Microsoft Graph"}


def test_rollback_after_detect_adds_only_the_writes_and_keeps_what_is_held(
    run: Run, tenant: AzureRestServer, identity: dict[str, str]
) -> None:
    assert run("--mode", "detect", "--principal", identity["id"])[0] == 0
    code, out, _ = run("--mode", "rollback", "--principal", identity["id"])
    assert code == 0
    assert {
        ln.removeprefix("granted: ") for ln in out.splitlines() if ln.startswith("granted: ")
    } == (ROLLBACK_WRITES)
    # and going back to detect removes nothing: the writes are reported, never revoked
    code, out, _ = run("--mode", "detect", "--principal", identity["id"])
    assert code == 0
    assert granted(tenant, identity["id"]) == DETECT | ROLLBACK_WRITES
    extra = {ln.split(": ", 1)[1] for ln in out.splitlines() if ln.startswith("held beyond")}
    assert extra == ROLLBACK_WRITES
    assert not any(r.method == "DELETE" for r in tenant.requests)


def test_the_principal_may_be_an_app_id_and_mail_is_added_on_request(
    run: Run, tenant: AzureRestServer, identity: dict[str, str]
) -> None:
    code, _, _ = run("--mode", "detect", "--mail", "--principal", identity["appId"])
    assert code == 0
    assert granted(tenant, identity["id"]) == DETECT | {MAIL_SEND}


def test_the_default_principal_is_the_azd_output(
    run: Run, tenant: AzureRestServer, identity: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRIFTKEEPER_IDENTITY_PRINCIPAL_ID", identity["id"])
    assert run("--mode", "detect")[0] == 0
    assert granted(tenant, identity["id"]) == DETECT


@pytest.mark.parametrize(
    ("principal", "words"),
    [
        ("0badc0de-0000-4000-8000-00000000dead", "no service principal with object id or app id"),
        ("not-a-guid", "not an object id or app id"),
        ("", "give --principal"),
    ],
)
def test_an_unknown_principal_is_a_clear_error(
    principal: str, words: str, run: Run, tenant: AzureRestServer
) -> None:
    code, out, err = run("--mode", "rollback", "--principal", principal)
    assert code == 2
    assert words in err
    assert posts(tenant) == []
    assert out == ""


def test_a_permission_graph_does_not_offer_is_refused_before_any_grant(
    run: Run, azure_rest_server: AzureRestServer
) -> None:
    # given a Graph service principal without the PIM permission
    roles = [app_role(p) for p in sorted(DETECT | ROLLBACK_WRITES) if "Eligibility" not in p]
    azure_rest_server.add_service_principal("Microsoft Graph", app_id=GRAPH_APP_ID, app_roles=roles)
    target = azure_rest_server.add_service_principal("id-driftkeeper")
    code, _, err = run("--mode", "rollback", "--principal", target["id"])
    assert code == 2
    assert "RoleEligibilitySchedule.ReadWrite.Directory" in err
    assert azure_rest_server.app_role_assignments() == []


def test_throttled_reads_are_retried(
    run: Run, tenant: AzureRestServer, identity: dict[str, str]
) -> None:
    path = f"/servicePrincipals/{identity['id']}/appRoleAssignments"
    tenant.fail(path, 429, times=1, retry_after=1, method="GET")
    code, _, _ = run("--mode", "detect", "--principal", identity["id"])
    assert code == 0
    assert [r.status for r in tenant.requests_to(path) if r.method == "GET"] == [429, 200]
    assert granted(tenant, identity["id"]) == DETECT


def test_a_grant_made_meanwhile_counts_as_held(
    run: Run, tenant: AzureRestServer, identity: dict[str, str]
) -> None:
    # given a grant another administrator makes between our read and our write: Graph's
    # duplicate answer (400 "Permission being assigned already exists on the object")
    path = f"/servicePrincipals/{identity['id']}/appRoleAssignments"
    tenant.fail(
        path,
        400,
        times=1,
        retry_after=None,
        code="Request_BadRequest",
        message="Permission being assigned already exists on the object",
        method="POST",
    )
    code, out, _ = run("--mode", "detect", "--principal", identity["id"])
    assert code == 0
    assert "granted 3, already held 1 of 4" in out


def test_a_refused_grant_stops_with_the_service_words(
    run: Run, tenant: AzureRestServer, identity: dict[str, str]
) -> None:
    path = f"/servicePrincipals/{identity['id']}/appRoleAssignments"
    tenant.fail(
        path,
        403,
        times=None,
        retry_after=None,
        code="Authorization_RequestDenied",
        message="Insufficient privileges to complete the operation.",
        method="POST",
    )
    code, _, err = run("--mode", "detect", "--principal", identity["id"])
    assert code == 2
    assert "403" in err
    assert "Insufficient privileges" in err
    assert tenant.app_role_assignments() == []


def test_the_assignments_are_read_page_by_page(
    run: Run, tenant: AzureRestServer, identity: dict[str, str]
) -> None:
    tenant.page_size = 2
    assert run("--mode", "rollback", "--principal", identity["id"])[0] == 0
    code, out, _ = run("--mode", "rollback", "--principal", identity["id"])
    assert code == 0
    assert "granted 0, already held 9 of 9" in out
