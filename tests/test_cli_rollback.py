"""``driftkeeper incidents`` and ``driftkeeper rollback approve|reject|accept|resume``, on
Azurite and the stateful ARM stand-in: the Function App records a drift and its approval
request, then an operator decides from a terminal with their own (injected) credential,
under the rules of the approval page."""

from __future__ import annotations

import copy
import io
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from azure.data.tables import TableServiceClient

from driftkeeper import InputError, runtime
from driftkeeper._model import EventRecord
from driftkeeper.cli import main
from driftkeeper.config import Settings
from driftkeeper.rollback import Principal
from driftkeeper.rollback._approval import ApprovalRequest
from driftkeeper.rollback._incident_id import incident_id
from driftkeeper.rollback._operator import principal_from_token, printable, write_proposal
from driftkeeper.runtime import Runtime
from driftkeeper.store import Incidents, Ledger
from driftkeeper.store._brakes import Brakes
from tests.fakes.azure_events import ATTACKER
from tests.fakes.azure_rest import AzureRestServer
from tests.fakes.credentials import StaticTokenCredential, token_with_claims
from tests.handlers.test_rollback_flow import BASELINE, GOOD, NSG, ROOT, SUB, grid_event, rdp_rule
from tests.rollback import builders
from tests.rollback.builders import ALICE, CAROL, EVE

MALLORY = Principal(ATTACKER.object_id, ATTACKER.upn, "Mallory")
"""Made the drift, and is an approver: she still may not decide its rollback."""
APPROVERS = (ALICE.object_id, CAROL.object_id, MALLORY.object_id)


@dataclass
class World:
    """The Function App's runtime (installed), the stand-in, and the operator's terminal."""

    rt: Runtime
    server: AzureRestServer
    functions: dict[str, Any]
    baselines: Path
    capsys: pytest.CaptureFixture[str]

    def attack(self) -> None:
        """Mallory opens RDP in the portal; Event Grid delivers the event to the app."""
        event = self.server.apply(
            "PUT", f"{NSG}/securityRules/allow-rdp-temp", rdp_rule(), actor=ATTACKER
        )
        self.functions["arm_events"].get_user_function()(grid_event(event))

    def cli(self, *argv: str, who: Principal = ALICE) -> tuple[int, str, str]:
        """Run ``driftkeeper argv`` as ``who``: (exit code, stdout, stderr)."""
        self.capsys.readouterr()
        claims = {"oid": who.object_id, "upn": who.upn, "name": who.name}
        credential = StaticTokenCredential(token_with_claims(**claims))
        out = io.StringIO()
        code = main(list(argv), out=out, credential=lambda: credential)
        return code, out.getvalue(), self.capsys.readouterr().err

    def request(self) -> ApprovalRequest:
        [found] = [r for r in self.rt.approvals().list() if r.rule == BASELINE]
        return found

    def incident_id(self) -> str:
        found = self.request()
        return incident_id(found.resource, found.rule, found.generation)

    def rdp_open(self) -> bool:
        [nsg] = [n for n in self.server.data["arm.networkSecurityGroups"] if n["id"] == NSG]
        return any(r["name"] == "allow-rdp-temp" for r in nsg["properties"]["securityRules"])

    def outcomes(self) -> list[str]:
        rows = Ledger(self.rt.table(self.rt.settings.events_table)).query(
            since=datetime(2000, 1, 1, tzinfo=UTC)
        )
        return sorted(r.outcome for r in rows if r.rule == BASELINE)

    def incident_status(self) -> str:
        return self.rt.pipeline().incidents.get(NSG, BASELINE).status


@pytest.fixture
def make_world(
    functions: dict[str, Any],
    azure_rest_server: AzureRestServer,
    token_credential: Any,
    azurite: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Callable[..., World]]:
    azure_rest_server.data = {
        "arm.networkSecurityGroups": copy.deepcopy(GOOD["arm"]["networkSecurityGroups"]),
        "arm.roleAssignments": copy.deepcopy(GOOD["arm"]["roleAssignments"]),
    }
    service = TableServiceClient.from_connection_string(azurite)
    suffix = uuid.uuid4().hex[:12]
    built: list[Runtime] = []

    def make(*, approvals: int = 1, env: dict[str, str] | None = None) -> World:
        baselines = tmp_path / "baselines"
        shutil.copytree(ROOT / "baselines" / "nsg", baselines / "nsg")
        web = baselines / "nsg" / f"{BASELINE}.yaml"
        text = web.read_text().replace("response: alert", "response: approve")
        web.write_text(text + f"approvals: {approvals}\n")
        # the operator's terminal and the Function App share one configuration
        for name, value in {
            "DRIFTKEEPER_STORAGE_CONNECTION": azurite,
            "DRIFTKEEPER_BASELINES_DIR": str(baselines),
            "DRIFTKEEPER_EVENTS_TABLE": f"events{suffix}",
            "DRIFTKEEPER_INCIDENTS_TABLE": f"incidents{suffix}",
            "DRIFTKEEPER_CURSORS_TABLE": f"cursors{suffix}",
            "DRIFTKEEPER_APPROVALS_TABLE": f"approvals{suffix}",
            "DRIFTKEEPER_BRAKES_TABLE": f"brakes{suffix}",
            "DRIFTKEEPER_ARM_ENDPOINT": azure_rest_server.arm_endpoint,
            "DRIFTKEEPER_GRAPH_ENDPOINT": azure_rest_server.graph_endpoint,
            "DRIFTKEEPER_CA_BUNDLE": str(azure_rest_server.ca_file),
            "DRIFTKEEPER_COALESCE_SECONDS": "0",
            "DRIFTKEEPER_SETTLE_SECONDS": "0",
            "AZURE_SUBSCRIPTION_ID": SUB,
            "DRIFTKEEPER_APPROVERS": ",".join(APPROVERS),
            "DRIFTKEEPER_PUBLIC_URL": "https://driftkeeper.example.net",
            **(env or {}),
        }.items():
            monkeypatch.setenv(name, value)
        settings = Settings.from_env(os.environ, alerts=False)
        rt = Runtime(settings, table_service=service, credential=token_credential)
        built.append(rt)
        runtime.install(rt)
        return World(rt, azure_rest_server, functions, baselines, capsys)

    yield make
    for rt in built:
        rt.close()
    for table in list(service.list_tables()):
        if table.name.endswith(suffix):
            service.delete_table(table.name)
    service.close()
    runtime.install(None)


@pytest.fixture
def world(make_world: Callable[..., World]) -> World:
    """A drift waiting for approval: Mallory opened RDP on the web NSG."""
    built = make_world()
    built.attack()
    assert built.rdp_open()
    assert built.request().status == "pending"
    return built


# --- incidents ----------------------------------------------------------------------------


def test_incidents_lists_each_incident_with_its_id_approval_and_plan(world: World) -> None:
    # given a second incident that resolved since
    record = EventRecord(
        "s1", "2026-11-30T10:00:00Z", "eventgrid", "write", "drift", resource="/old/thing",
        setting="k", kind="nsg", rule="old-rule", severity="low", message="m",
    )  # fmt: skip
    incidents = Incidents(world.rt.table(world.rt.settings.incidents_table))
    incidents.observe(record)
    incidents.observe(replace(record, signal_id="s2", time="2026-11-30T11:00:00Z",
                              outcome="compliant"))  # fmt: skip
    ident = world.incident_id()
    # when the operator lists the open incidents
    code, out, _ = world.cli("incidents", "--open")
    # then the drift is there with its id, approval and the plan's requests
    assert code == 0
    assert f"\n{ident}  open  high  nsg  count 1  opened " in f"\n{out}"
    assert "approval pending (0/1)" in out
    assert f"resource: {NSG}" in out
    assert "plan:     DELETE https://" in out
    assert "allow-rdp-temp" in out
    assert "old-rule" not in out
    assert "rule:     guard:nsg-internet-management-ports" in out  # its guard finding
    assert out.endswith("2 incident(s)\n")
    # and all of them, as JSON
    code, out, _ = world.cli("incidents", "--format", "json")
    assert code == 0
    doc = {d["rule"]: d for d in json.loads(out)}
    assert {r: d["status"] for r, d in doc.items()} == {
        BASELINE: "open", "guard:nsg-internet-management-ports": "open", "old-rule": "resolved"
    }  # fmt: skip
    drift, old = doc[BASELINE], doc["old-rule"]
    assert drift["id"] == ident
    assert drift["count"] == 1
    assert drift["kind"] == "nsg"
    assert drift["approval"]["status"] == "pending"
    assert [s["method"] for s in drift["approval"]["steps"]] == ["DELETE"]
    assert old["approval"] is None


HOSTILE = "\x1b]0;owned\x07\x1b[2J\u202egnp.exe\u2066x\x9b31m\r\n"


def test_values_from_the_store_are_printed_safely(
    make_world: Callable[..., World],
) -> None:
    # given an incident and an approval request whose every value is hostile
    world = make_world()
    resource = f"/subscriptions/{SUB}/{HOSTILE}"
    record = EventRecord(
        "s1", "2026-11-30T10:00:00Z", "eventgrid", "write", "drift", resource=resource,
        setting="k", kind=f"nsg{HOSTILE}", rule=f"rule{HOSTILE}", severity=HOSTILE, message="m",
    )  # fmt: skip
    Incidents(world.rt.table(world.rt.settings.incidents_table)).observe(record)
    plan = builders.plan(steps=[{"method": HOSTILE, "url": f"https://x/{HOSTILE}", "body": None}])
    world.rt.approvals().issue(
        builders.request(resource=resource, rule=f"rule{HOSTILE}", plan=plan)
    )
    # when they are listed
    code, table, _ = world.cli("incidents")
    _, raw, _ = world.cli("incidents", "--format", "json")
    # then no control, bidi or C1 character reaches the terminal: they are shown escaped
    assert code == 0
    for out in (table, raw):
        assert not any(c in out for c in "\x1b\x07\x9b\r\u202e\u2066")
        assert set(out) <= {*map(chr, range(0x20, 0x7F)), "\n"}
    assert "\\x1b]0;owned\\x07" in table
    assert "[U+202E]" in table
    assert "plan:     \\x1b" in table
    # and the JSON still carries the values exactly
    [entry] = json.loads(raw)
    assert entry["rule"] == f"rule{HOSTILE}"
    assert entry["approval"]["steps"][0]["url"] == f"https://x/{HOSTILE}"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("plain text", "plain text"),
        ("tab\there", "tab\\x09here"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("c1\x9bx", "c1\\x9bx"),
        ("bidi\u202eevil", "bidi[U+202E]evil"),
        ("iso\u2066late\u2069", "iso[U+2066]late[U+2069]"),
        ("zero\u200bwidth\ufeff", "zero[U+200B]width[U+FEFF]"),
        ("line\u2028sep", "line[U+2028]sep"),
        ("accents é ü 漢字", "accents é ü 漢字"),
    ],
)
def test_printable(value: str, shown: str) -> None:
    assert printable(value) == shown


# --- deciding ---------------------------------------------------------------------------


def test_approve_rolls_back_for_real(world: World) -> None:
    # when an approver approves the incident's rollback from a terminal
    code, out, err = world.cli(
        "rollback", "approve", world.incident_id(), "--comment", "CHG-42\x1b[2J"
    )
    # then the plan ran against the tenant and verified, as through the approval page
    assert (code, err) == (0, "")
    assert out.startswith(f"rolled-back (approve by {ALICE.upn})")
    assert not world.rdp_open()
    assert world.outcomes() == ["drift", "rolled-back"]
    assert world.incident_status() == "resolved"
    # and the decision is recorded: who, from the terminal, with the cleaned comment
    found = world.request()
    assert found.status == "rolled-back"
    [decision] = found.decisions
    assert (decision.object_id, decision.upn) == (ALICE.object_id, ALICE.upn)
    assert (decision.address, decision.comment) == ("cli", "CHG-42[2J")
    # and the id decides nothing more
    code, _, err = world.cli("rollback", "approve", world.incident_id(), who=CAROL)
    assert code == 2
    assert "its request is rolled-back" in err


def test_two_approvers_are_needed_when_the_baseline_says_so(
    make_world: Callable[..., World],
) -> None:
    world = make_world(approvals=2)
    world.attack()
    ident = world.incident_id()
    code, out, _ = world.cli("rollback", "approve", ident)
    assert code == 0
    assert "1 more approver(s) needed" in out
    assert world.rdp_open()
    # the same approver again is refused, a second one runs the plan
    code, _, err = world.cli("rollback", "approve", ident)
    assert code == 2
    assert "already decided" in err
    code, out, _ = world.cli("rollback", "approve", ident, who=CAROL)
    assert code == 0
    assert out.startswith("rolled-back")
    assert not world.rdp_open()


def test_a_rollback_that_does_not_run_exits_1(
    make_world: Callable[..., World], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a terminal whose kill switch is off (the Function App's is not)
    world = make_world()
    world.attack()
    monkeypatch.setenv("DRIFTKEEPER_ROLLBACK", "off")
    code, out, _ = world.cli("rollback", "approve", world.incident_id())
    assert code == 1
    assert out.startswith("rollback-skipped")
    assert world.rdp_open()
    assert world.request().status == "rollback-skipped"


def _expire(world: World) -> None:
    found = world.request()
    past = datetime.now(UTC) - timedelta(minutes=1)
    world.rt.approvals().finish(replace(found, expires_at=past), "pending", {})


@pytest.mark.parametrize(
    ("who", "prepare", "reason"),
    [
        (EVE, None, "you are not an approver (DRIFTKEEPER_APPROVERS)"),
        (MALLORY, None, "the person who made the change cannot decide its rollback"),
        (ALICE, _expire, "this approval link has expired"),
    ],
    ids=["not-an-approver", "self-approval", "expired"],
)
@pytest.mark.parametrize("decision", ["approve", "reject", "accept"])
def test_refused_decisions_change_nothing(
    world: World,
    who: Principal,
    prepare: Callable[[World], None] | None,
    reason: str,
    decision: str,
) -> None:
    if prepare is not None:
        prepare(world)
    code, out, err = world.cli("rollback", decision, world.incident_id(), who=who)
    assert (code, out) == (2, "")
    assert err == f"driftkeeper: refused: {reason}\n"
    assert world.rdp_open()
    assert world.request().status == "pending"
    assert world.request().decisions == ()
    assert world.outcomes() == ["drift"]


@pytest.mark.parametrize(
    ("ident", "message"),
    [
        ("000000000000", "no pending approval request"),
        ("not-an-id", "is not an incident id"),
        ("\x1b[2Jabc", "\\x1b[2Jabc is not an incident id"),
    ],
)
def test_an_unknown_incident_is_refused(world: World, ident: str, message: str) -> None:
    code, out, err = world.cli("rollback", "approve", ident)
    assert (code, out) == (2, "")
    assert message in err
    assert "\x1b" not in err
    assert world.rdp_open()


def test_a_token_without_an_object_id_decides_nothing(world: World) -> None:
    out = io.StringIO()
    credential = StaticTokenCredential("opaque-not-a-jwt")
    code = main(
        ["rollback", "approve", world.incident_id()], out=out, credential=lambda: credential
    )
    assert code == 2
    assert "names no object id" in world.capsys.readouterr().err
    assert world.request().status == "pending"
    assert credential.requested_scopes == [(f"{world.rt.settings.arm_endpoint}/.default",)]


class _NotSignedIn:
    def get_token(self, *scopes: str) -> Any:
        from azure.core.exceptions import ClientAuthenticationError

        raise ClientAuthenticationError("DefaultAzureCredential failed\nsee the troubleshooting")


def test_an_operator_who_is_not_signed_in_is_told_so(world: World) -> None:
    code = main(["rollback", "approve", world.incident_id()], credential=_NotSignedIn)
    assert code == 2
    err = world.capsys.readouterr().err
    assert err == (
        "driftkeeper: error: could not get a token from your Azure credential (az login?): "
        "DefaultAzureCredential failed\n"
    )
    assert world.request().status == "pending"


def test_reject_leaves_the_change_and_records_it(world: World) -> None:
    code, out, _ = world.cli("rollback", "reject", world.incident_id(), "--comment", "intended")
    assert code == 0
    assert out.startswith(f"rejected (reject by {ALICE.upn}) rollback rejected by {ALICE.upn}")
    assert world.rdp_open()
    assert world.request().status == "rejected"
    assert world.incident_status() == "open"
    assert world.outcomes() == ["drift", "rollback-skipped"]


def test_accept_closes_the_incident_and_writes_the_proposed_baseline(world: World) -> None:
    web = world.baselines / "nsg" / f"{BASELINE}.yaml"
    assert "allow-rdp-temp" not in web.read_text()
    code, out, _ = world.cli("rollback", "accept", world.incident_id())
    assert code == 0
    assert out.startswith(f"accepted (accept by {ALICE.upn})")
    assert f"wrote {web}: review and merge" in out
    # the live setting is now the baseline file's, what people wrote in it kept
    text = web.read_text()
    assert "allow-rdp-temp" in text
    assert "approvals: 1" in text
    assert "response: approve" in text
    assert world.incident_status() == "accepted"
    assert world.request().status == "accepted"
    assert world.rdp_open()


def test_accept_does_not_write_outside_the_baselines_directory(
    make_world: Callable[..., World], tmp_path: Path
) -> None:
    # given a baseline file that is a link to a file outside the baselines directory
    world = make_world()
    web = world.baselines / "nsg" / f"{BASELINE}.yaml"
    outside = tmp_path / "outside.yaml"
    shutil.move(web, outside)
    web.symlink_to(outside)
    before = outside.read_text()
    world.attack()
    # when the drift is accepted
    code, _, err = world.cli("rollback", "accept", world.incident_id())
    # then the decision stands, but nothing is written through the link
    assert code == 2
    assert "the drift is accepted, but the proposed file" in err
    assert "outside the baselines directory" in err
    assert outside.read_text() == before
    assert world.request().status == "accepted"


@pytest.mark.parametrize(
    ("file", "message"),
    [
        ("../elsewhere.yaml", "outside the baselines directory"),
        ("/etc/driftkeeper.yaml", "outside the baselines directory"),
        ("nsg/x.sh", "is not a YAML file"),
        ("", "names no baseline file"),
    ],
)
def test_write_proposal_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, file: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "baselines").mkdir()
    name = f"baselines/{file}" if file and not file.startswith("/") else file
    with pytest.raises(InputError, match=message):
        write_proposal({"file": name, "text": "x: 1\n"}, "baselines")
    assert not (tmp_path / "elsewhere.yaml").exists()


def test_write_proposal_writes_and_deletes_inside(tmp_path: Path) -> None:
    root = tmp_path / "baselines"
    target = root / "nsg" / "web.yaml"
    written = write_proposal({"file": str(target), "text": "a: 1\n"}, root)
    assert (written.path, written.removed, target.read_text()) == (target, False, "a: 1\n")
    removed = write_proposal({"file": str(target), "removed": True, "text": ""}, root)
    assert removed.removed
    assert not target.exists()


# --- who the operator is ------------------------------------------------------------------


def _jwt(payload: Any) -> str:
    import base64

    raw = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"e30.{raw}.sig"


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        (
            {"oid": ALICE.object_id.upper(), "upn": ALICE.upn, "name": "Alice",
             "groups": [CAROL.object_id, "not-a-guid", CAROL.object_id]},
            Principal(ALICE.object_id, ALICE.upn, "Alice", (CAROL.object_id,)),
        ),
        ({"oid": ALICE.object_id, "preferred_username": "a@x.example"},
         Principal(ALICE.object_id, "a@x.example")),
        ({"oid": ALICE.object_id, "unique_name": "live.com#a@x.example"},
         Principal(ALICE.object_id, "live.com#a@x.example")),
        ({"oid": ALICE.object_id, "upn": "eve\u202e@x.example", "name": 5},
         Principal(ALICE.object_id)),
    ],
)  # fmt: skip
def test_principal_from_token(claims: dict[str, Any], expected: Principal) -> None:
    assert principal_from_token(_jwt(claims)) == expected


@pytest.mark.parametrize(
    "token",
    [
        "",
        "opaque",
        "a.b",
        "a.!!!.c",
        _jwt({"upn": ALICE.upn}),
        _jwt({"oid": "not-a-guid"}),
        _jwt(["oid"]),
        "e30." + "QQ" * 40_000 + ".x",
        "a.b.c.d.e",
    ],
)
def test_principal_from_token_refuses(token: str) -> None:
    assert principal_from_token(token) is None


# --- resume -------------------------------------------------------------------------------


def test_resume_resets_a_tripped_breaker(make_world: Callable[..., World]) -> None:
    world = make_world()
    brakes = Brakes(world.rt.table(world.rt.settings.brakes_table))
    brakes.spend("first", budget=1)
    assert brakes.spend("second", budget=1)[1].tripped
    # a person who is not an approver may not turn automatic rollback back on
    code, _, err = world.cli("rollback", "resume", who=EVE)
    assert code == 2
    assert "not an approver" in err
    assert brakes.breaker().tripped
    # an approver may
    code, out, _ = world.cli("rollback", "resume")
    assert code == 0
    assert out.startswith(f"breaker: reset by {ALICE.upn} at ")
    breaker = brakes.breaker()
    assert not breaker.tripped
    assert breaker.spent == ()
    assert breaker.reset_by == ALICE.upn


def test_resume_turns_auto_mode_back_on_for_a_setting_that_flapped(
    make_world: Callable[..., World],
) -> None:
    world = make_world()
    brakes = Brakes(world.rt.table(world.rt.settings.brakes_table))
    setting = NSG.lower()
    for _ in range(3):
        brakes.note_rollback(setting)
    assert brakes.stop_auto(setting)
    code, out, _ = world.cli("rollback", "resume", "--setting", setting)
    assert code == 0
    assert out == f"setting {setting}: automatic rollback on, 0 recent automatic rollback(s)\n"
    state = brakes.flapping(setting)
    assert not state.manual
    assert state.rollbacks == ()
