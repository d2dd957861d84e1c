"""The whole loop through the registered functions, on Azurite and the stateful ARM / Graph
stand-in: drift -> alert with an approval link -> approve -> rollback -> verified -> the
incident resolved -> our own write's event comes back -> ``self``. And the automatic loop,
with its brakes (flapping, budget) shared by two Function App instances."""

from __future__ import annotations

import copy
import json
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import azure.functions as func
import pytest
from azure.data.tables import TableServiceClient

from driftkeeper import runtime
from driftkeeper.config import AlertSettings, Settings
from driftkeeper.runtime import Runtime
from driftkeeper.store import Ledger
from tests.fakes.azure_events import ATTACKER, DEFAULT_WRITER
from tests.fakes.azure_rest import AzureRestServer
from tests.fakes.receivers import HttpReceiver
from tests.rollback.builders import ALICE, APPROVERS, principal_header

ROOT = Path(__file__).resolve().parents[2]
SUB = "6f1c2a3b-4d5e-4f60-8a91-b2c3d4e5f607"
NSG = (
    f"/subscriptions/{SUB}/resourceGroups/rg-web-prod/providers/Microsoft.Network"
    "/networkSecurityGroups/nsg-web-prod"
)
BASELINE = "6f1c2a3b-rg-web-prod-nsg-web-prod"
HOST = "driftkeeper.example.net"
KEY = "k3y-for-the-approval-form-0123456789abcdef"
DRIFTED = json.loads((ROOT / "examples/tenant-drifted.json").read_text())
GOOD = json.loads((ROOT / "examples/tenant-known-good.json").read_text())


def rdp_rule() -> dict[str, Any]:
    for nsg in DRIFTED["arm"]["networkSecurityGroups"]:
        for rule in nsg["properties"]["securityRules"]:
            if rule["name"] == "allow-rdp-temp":
                return {"properties": copy.deepcopy(rule["properties"])}
    raise AssertionError("the example has no allow-rdp-temp")


def grid_event(doc: dict[str, Any]) -> func.EventGridEvent:
    return func.EventGridEvent(
        id=doc["id"],
        data=doc.get("data"),
        topic=doc.get("topic"),
        subject=doc.get("subject"),
        event_type=doc.get("eventType"),
        event_time=datetime.fromisoformat(doc["eventTime"][:26]).replace(tzinfo=UTC),
        data_version=doc.get("dataVersion"),
    )


@dataclass
class Loop:
    rt: Runtime
    server: AzureRestServer
    teams: HttpReceiver
    functions: dict[str, Any]

    def attack(self) -> dict[str, Any]:
        """Mallory opens RDP in the portal; the event Azure emits."""
        return self.server.apply(
            "PUT", f"{NSG}/securityRules/allow-rdp-temp", rdp_rule(), actor=ATTACKER
        )

    def deliver(self, event: dict[str, Any]) -> None:
        self.functions["arm_events"].get_user_function()(grid_event(event))

    def rows(self) -> list[Any]:
        ledger = Ledger(self.rt.table(self.rt.settings.events_table))
        return ledger.query(since=datetime(2000, 1, 1, tzinfo=UTC))

    def outcomes(self) -> list[str]:
        return sorted(r.outcome for r in self.rows() if r.rule == BASELINE or r.outcome == "self")

    def cards(self) -> list[str]:
        return [r.body.decode() for r in self.teams.requests]

    def rdp_open(self) -> bool:
        snapshot = self.rt.pipeline().reader.read("nsg", NSG)
        [nsg] = snapshot.items("arm.networkSecurityGroups")
        return any(r["name"] == "allow-rdp-temp" for r in nsg["properties"]["securityRules"])

    def approve(self, token: str, decision: str = "approve") -> func.HttpResponse:
        call = self.functions["approvals"].get_user_function()
        headers = {"Host": HOST, "X-MS-CLIENT-PRINCIPAL": principal_header(ALICE)}
        page = call(
            func.HttpRequest("GET", f"https://{HOST}/api/approvals/{token}", headers=headers,
                             route_params={"token": token}, body=b"")
        )  # fmt: skip
        assert page.status_code == 200, page.get_body().decode()[:400]
        form = re.search(r'name="form" value="([0-9a-f]{64})"', page.get_body().decode())
        assert form is not None
        body = urlencode({"form": form.group(1), "decision": decision}).encode()
        return call(
            func.HttpRequest(
                "POST",
                f"https://{HOST}/api/approvals/{token}",
                headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
                route_params={"token": token},
                body=body,
            )
        )


@pytest.fixture
def make_loop(
    functions: dict[str, Any],
    azure_rest_server: AzureRestServer,
    token_credential: Any,
    azurite: str,
    http_receiver: HttpReceiver,
    tmp_path: Path,
) -> Iterator[Callable[..., Loop]]:
    azure_rest_server.data = {
        "arm.networkSecurityGroups": GOOD["arm"]["networkSecurityGroups"],
        "arm.roleAssignments": GOOD["arm"]["roleAssignments"],
    }
    service = TableServiceClient.from_connection_string(azurite)
    suffix = uuid.uuid4().hex[:12]
    built: list[Runtime] = []

    def make(response: str, **changes: Any) -> Loop:
        baselines = tmp_path / "baselines"
        if not baselines.exists():
            shutil.copytree(ROOT / "baselines" / "nsg", baselines / "nsg")
            web = baselines / "nsg" / f"{BASELINE}.yaml"
            web.write_text(web.read_text().replace("response: alert", f"response: {response}"))
        alerts = AlertSettings.from_env(
            {
                "DRIFTKEEPER_TEAMS_WEBHOOK_URL": f"{http_receiver.url}/workflows/teams",
                "DRIFTKEEPER_ALERT_ROUTES": '{"critical": ["teams"], "high": ["teams"]}',
            }
        )
        settings = Settings(
            baselines_dir=str(baselines),
            self_ids=frozenset({DEFAULT_WRITER.object_id, DEFAULT_WRITER.app_id}),
            events_table=f"events{suffix}",
            incidents_table=f"incidents{suffix}",
            cursors_table=f"cursors{suffix}",
            approvals_table=f"approvals{suffix}",
            brakes_table=f"brakes{suffix}",
            storage_connection=azurite,
            arm_endpoint=azure_rest_server.arm_endpoint,
            graph_endpoint=azure_rest_server.graph_endpoint,
            ca_bundle=str(azure_rest_server.ca_file),
            subscriptions=(SUB,),
            alerts=alerts,
            approvers=APPROVERS,
            auth_enabled=True,
            approval_key=KEY,
            public_url=f"https://{HOST}",
        )
        rt = Runtime(
            replace(settings, **changes), table_service=service, credential=token_credential
        )
        built.append(rt)
        runtime.install(rt)
        return Loop(rt, azure_rest_server, http_receiver, functions)

    yield make
    for rt in built:
        rt.close()
    for table in list(service.list_tables()):
        if table.name.endswith(suffix):
            service.delete_table(table.name)
    service.close()
    runtime.install(None)


def test_approved_rollback_end_to_end(make_loop: Callable[..., Loop]) -> None:
    loop = make_loop("approve")
    # given Mallory opens RDP, and Event Grid delivers the event
    loop.deliver(loop.attack())
    # then the alert carries an approval link, and nothing is written yet
    [card] = [c for c in loop.cards() if BASELINE in c]
    token = re.search(rf"https://{HOST}/api/approvals/([A-Za-z0-9_-]+)", card)
    assert token is not None
    assert loop.rdp_open()
    # when an approver approves it
    answer = loop.approve(token.group(1))
    assert answer.status_code == 200
    assert "rolled-back" in answer.get_body().decode()
    # then the rule is gone, the attempt is a row, and the incident resolved as rolled back
    assert not loop.rdp_open()
    assert loop.outcomes() == ["drift", "rolled-back"]
    [rolled] = [r for r in loop.rows() if r.outcome == "rolled-back"]
    assert "approved by" in rolled.message
    assert "DELETE" in rolled.message
    assert loop.rt.pipeline().incidents.get(NSG, BASELINE).status == "resolved"
    # and the guard the rule broke is judged again on the verify read: resolved too
    guard = loop.rt.pipeline().incidents.get(NSG, "guard:nsg-internet-management-ports")
    assert guard.status == "resolved"
    assert any('"rolled-back"' in c or "rolled-back" in c for c in loop.cards()[1:])
    # when our own write's event comes back
    [ours] = [e for e in loop.server.emitted_events("eventgrid") if e["data"]["claims"].get(
        "http://schemas.microsoft.com/identity/claims/objectidentifier"
    ) == DEFAULT_WRITER.object_id]  # fmt: skip
    loop.deliver(ours)
    # then it is recorded as self: never re-alerted, never rolled back
    assert loop.outcomes() == ["drift", "rolled-back", "self"]
    assert len(loop.server.emitted_events("eventgrid")) == 2


def links(loop: Loop) -> list[str]:
    """The approval links of every alert so far, oldest first."""
    return [
        token
        for card in loop.cards()
        for token in dict.fromkeys(
            re.findall(rf"https://{HOST}/api/approvals/([A-Za-z0-9_-]+)", card)
        )
    ]


def test_a_drift_changed_since_its_link_is_not_written_and_gets_a_fresh_link(
    make_loop: Callable[..., Loop],
) -> None:
    loop = make_loop("approve")
    loop.deliver(loop.attack())
    [first] = links(loop)
    # given Mallory changes the rule again before anyone approves (its event not yet here)
    wider = rdp_rule()
    wider["properties"]["destinationPortRange"] = "3389-3390"
    loop.server.apply("PUT", f"{NSG}/securityRules/allow-rdp-temp", wider, actor=ATTACKER)
    writes_before = len([r for r in loop.server.requests if r.method != "GET"])
    # when the first link is approved
    answer = loop.approve(first)
    # then nothing is written, the attempt says why, and a fresh alert carries a new link
    assert "changed since" in answer.get_body().decode()
    assert len([r for r in loop.server.requests if r.method != "GET"]) == writes_before
    assert loop.rdp_open()
    *_, fresh = links(loop)
    assert fresh != first
    # and the fresh link rolls the new drift back
    assert "rolled-back" in loop.approve(fresh).get_body().decode()
    assert not loop.rdp_open()


@pytest.mark.parametrize("changed_since", [False, True], ids=["as seen", "changed since"])
def test_accepting_proposes_only_the_drift_the_approver_saw(
    make_loop: Callable[..., Loop], changed_since: bool
) -> None:
    loop = make_loop("approve")
    loop.deliver(loop.attack())
    [token] = links(loop)
    if changed_since:  # Mallory adds SSH too; its event is still on its way
        ssh = rdp_rule()
        ssh["properties"].update(destinationPortRange="22", priority=4001)
        loop.server.apply("PUT", f"{NSG}/securityRules/allow-ssh-any", ssh, actor=ATTACKER)
    page = loop.approve(token, "accept").get_body().decode()
    assert loop.rt.pipeline().incidents.get(NSG, BASELINE).status == "accepted"
    if changed_since:
        assert "no baseline is proposed" in page or "Decided" in page
        assert "allow-ssh-any" not in page
    else:
        assert "allow-rdp-temp" in page  # the proposed baseline holds the accepted rule
    assert loop.rdp_open()  # accepting writes nothing to Azure


def test_our_write_is_recognised_by_its_request_id_whoever_the_event_names(
    make_loop: Callable[..., Loop],
) -> None:
    loop = make_loop("auto", rollback="on")
    loop.deliver(loop.attack())
    [ours] = [e for e in loop.server.emitted_events("eventgrid") if e["data"]["claims"].get(
        "http://schemas.microsoft.com/identity/claims/objectidentifier"
    ) == DEFAULT_WRITER.object_id]  # fmt: skip
    # given our write's event, but naming another caller (say, a delegated credential)
    disguised = copy.deepcopy(ours)
    disguised["id"] = "disguised"
    attacker = loop.server.emitted_events("eventgrid")[0]["data"]["claims"]
    disguised["data"]["claims"] = attacker
    loop.deliver(disguised)
    # then it is judged; the setting is compliant, so its signed request id says it is ours
    rows = [r for r in loop.rows() if r.signal_id == "disguised"]
    assert rows
    assert {r.outcome for r in rows} == {"self"}
    assert all("request id" in r.message for r in rows)
    assert loop.outcomes().count("rolled-back") == 1


def test_a_request_id_of_ours_on_an_attackers_change_hides_nothing(
    make_loop: Callable[..., Loop],
) -> None:
    loop = make_loop("auto", rollback="on")
    loop.deliver(loop.attack())
    [ours] = [e for e in loop.server.emitted_events("eventgrid") if e["data"]["claims"].get(
        "http://schemas.microsoft.com/identity/claims/objectidentifier"
    ) == DEFAULT_WRITER.object_id]  # fmt: skip
    # given Mallory opens RDP again, sending our write's request id (it is in the Activity Log)
    replayed = loop.attack()
    replayed["data"]["correlationId"] = ours["data"]["correlationId"]
    loop.deliver(replayed)
    # then the change is judged as any other: drift, and rolled back again
    rows = [r for r in loop.rows() if r.signal_id == replayed["id"] and r.rule == BASELINE]
    assert [r.outcome for r in rows] == ["drift"]
    assert loop.outcomes().count("rolled-back") == 2
    assert not loop.rdp_open()


def test_automatic_rollback_end_to_end(make_loop: Callable[..., Loop]) -> None:
    loop = make_loop("auto", rollback="on")
    loop.deliver(loop.attack())
    assert not loop.rdp_open()
    assert loop.outcomes() == ["drift", "rolled-back"]
    [rolled] = [r for r in loop.rows() if r.outcome == "rolled-back"]
    assert "automatic" in rolled.message
    guard = loop.rt.pipeline().incidents.get(NSG, "guard:nsg-internet-management-ports")
    assert guard.status == "resolved"
    # the guard's drift row of Mallory's event is kept: the verify judgement is its own row
    guard_rows = [r for r in loop.rows() if r.rule == "guard:nsg-internet-management-ports"]
    assert sorted(r.outcome for r in guard_rows) == ["compliant", "drift"]


def test_approve_only_gives_an_auto_baseline_a_link_instead(make_loop: Callable[..., Loop]) -> None:
    loop = make_loop("auto", rollback="approve-only")
    loop.deliver(loop.attack())
    assert loop.rdp_open()
    assert any(f"https://{HOST}/api/approvals/" in c for c in loop.cards())


def test_flapping_stops_auto_mode_and_pages_once(make_loop: Callable[..., Loop]) -> None:
    loop = make_loop("auto", rollback="on")
    # given Mallory keeps reopening RDP: three times rolled back automatically
    for _ in range(3):
        loop.deliver(loop.attack())
        assert not loop.rdp_open()
    # when she does it a fourth time within the hour
    loop.deliver(loop.attack())
    # then it stays open, a person is paged, and the alert asks for approval
    assert loop.rdp_open()
    pages = [c for c in loop.cards() if "automatic rollback stopped" in c]
    assert len(pages) == 1
    assert [r.outcome for r in loop.rows()].count("rolled-back") == 3


def test_the_budget_breaker_is_shared_by_two_instances(make_loop: Callable[..., Loop]) -> None:
    first = make_loop("auto", rollback="on", auto_rollback_budget=1)
    second = make_loop("auto", rollback="on", auto_rollback_budget=1)
    # one automatic rollback by the first instance uses the whole budget
    runtime.install(first.rt)
    first.deliver(first.attack())
    assert not first.rdp_open()
    # the next drift, judged by the second instance, trips the breaker: no rollback, a page
    runtime.install(second.rt)
    second.deliver(second.attack())
    assert second.rdp_open()
    assert any("more than 1 automatic rollbacks" in c for c in second.cards())
    assert [r.outcome for r in second.rows()].count("rolled-back") == 1
