"""``make demo``: the whole loop on this machine.

1. Capture baselines from a known-good tenant (``examples/tenant-known-good.json``) and scan
   a drifted snapshot of it (``examples/tenant-drifted.json``), as ``driftkeeper baseline
   capture`` and ``driftkeeper scan`` do.
2. Start Azurite (from node_modules) as the event table, a local webhook as Teams, and the
   local Microsoft Graph stand-in serving the Entra audit log (the burst's directoryAudit
   records). Deliver the burst's Event Grid events to the Function App's registered
   ``arm_events`` function, then run its registered ``audit_poll`` timer, which reads the
   audit log from the stand-in. Print the alerts the webhook received and the event table;
   stop everything.

3. Rollback, on Azurite, a local webhook as Teams and the stateful ARM stand-in (over TLS),
   through the registered ``arm_events`` and ``approvals`` functions, with the NSG baseline of
   nsg-web-prod set to ``response: approve``, then to ``response: auto``
   (``DRIFTKEEPER_ROLLBACK=on``): Mallory opens RDP in the portal; an approver approves the
   rollback from the alert's link (approval-gated), then it is undone with nobody asked
   (automatic). The rules are read back from ARM, and driftkeeper's own write comes back as
   an event recorded as ``self``.

The stand-ins are the ones the tests use (tests/fakes). In part 2 setting state is read from
``examples/tenant-drifted.json``, as ``driftkeeper replay --state`` does; in part 3 live from
the ARM stand-in. Everything started is stopped, also on failure. The exit code is 1 when an
expected outcome is missing (so ``make demo`` in CI catches a regression).
"""

from __future__ import annotations

import copy
import html
import json
import re
import shutil
import ssl
import sys
import tempfile
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from urllib.request import Request, urlopen

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import azure.functions as func  # noqa: E402
from azure.functions.timer import TimerRequest  # noqa: E402

from driftkeeper import Snapshot, runtime  # noqa: E402
from driftkeeper.baseline import load_baselines  # noqa: E402
from driftkeeper.capture import capture_baselines  # noqa: E402
from driftkeeper.config import AlertSettings, Settings  # noqa: E402
from driftkeeper.engine import scan  # noqa: E402
from driftkeeper.live import CoalescingReader, snapshot_reader  # noqa: E402
from driftkeeper.report import render_records_table, render_table  # noqa: E402
from driftkeeper.runtime import Runtime  # noqa: E402
from driftkeeper.store import Cursors, Incident, Incidents, Ledger  # noqa: E402
from tests.fakes.azure_events import ATTACKER, DEFAULT_WRITER  # noqa: E402
from tests.fakes.azure_rest import AzureRestServer, make_tls_files  # noqa: E402
from tests.fakes.azurite import Azurite  # noqa: E402
from tests.fakes.credentials import StaticTokenCredential  # noqa: E402
from tests.fakes.receivers import HttpReceiver  # noqa: E402
from tests.rollback.builders import ALICE, principal_header  # noqa: E402

SELF_APP = "d1f7c0de-0000-4000-8000-00000000d12f"
GOOD = ROOT / "examples/tenant-known-good.json"
DRIFTED = ROOT / "examples/tenant-drifted.json"
BURST = ROOT / "examples/events-burst.json"
AUDIT_CURSOR = "directoryAudits"
POLL_FROM = "2026-11-22T02:55:00Z"
"""Where the audit poll starts (set as an operator would): just before the burst."""


SUB = "6f1c2a3b-4d5e-4f60-8a91-b2c3d4e5f607"
NSG = (
    f"/subscriptions/{SUB}/resourceGroups/rg-web-prod/providers/Microsoft.Network"
    "/networkSecurityGroups/nsg-web-prod"
)
RDP_RULE = "allow-rdp-temp"
NSG_BASELINE = "6f1c2a3b-rg-web-prod-nsg-web-prod"
"""The baseline of nsg-web-prod (baselines/nsg/), set to approve and then to auto in part 3."""
GUARD = "guard:nsg-internet-management-ports"
"""The built-in guard the same RDP rule trips (alerted only: a guard has no target state)."""
HOST = "driftkeeper.example.net"
"""The Function App's public host name (DRIFTKEEPER_PUBLIC_URL), for the approval links."""
APPROVAL_KEY = "demo-approval-form-key-0123456789abcdef"


class DemoError(Exception):
    """An expected outcome is missing: the demo exits 1."""


def expect(ok: object, what: str) -> None:
    if not ok:
        raise DemoError(what)


@cache
def registered() -> dict[str, Any]:
    """The Function App's registered functions by name (``get_functions()`` runs once per
    app object, so every part shares this)."""
    import function_app

    return {str(f.get_function_name()): f for f in function_app.app.get_functions()}


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def scan_demo(out_dir: Path = ROOT / "build" / "demo") -> int:
    """Capture baselines from the known-good tenant, then find the drift in the drifted one
    (an RDP rule opened to the internet, an Owner added, the admin MFA policy switched to
    report-only) and print the findings."""
    baselines = out_dir / "baselines"
    shutil.rmtree(baselines, ignore_errors=True)
    print(f"1. driftkeeper baseline capture --state {shown(GOOD)} --out {shown(baselines)}")
    result = capture_baselines(Snapshot.from_file(GOOD), baselines)
    print(f"   wrote {len(result.written)} baseline files")
    print(f"2. driftkeeper scan --baselines {shown(baselines)} --state {shown(DRIFTED)}\n")
    report = scan(Snapshot.from_file(DRIFTED), load_baselines(baselines))
    render_table(report, sys.stdout)
    print(f"\nscan exit code would be {report.exit_code} (0 no drift, 1 drift, 2 error)")
    return 0


def grid_event(doc: dict[str, Any]) -> func.EventGridEvent:
    """What the Functions host hands the Event Grid trigger, for one delivered event."""
    cloud = "specversion" in doc or "specVersion" in doc
    data = doc.get("data")
    when = doc.get("time" if cloud else "eventTime")
    return func.EventGridEvent(
        id=doc["id"],
        data=json.loads(data) if isinstance(data, str) else data,
        topic=doc.get("source" if cloud else "topic"),
        subject=doc.get("subject"),
        event_type=doc.get("type" if cloud else "eventType"),
        event_time=datetime.fromisoformat(when[:26]).replace(tzinfo=UTC) if when else None,
        data_version=doc.get("dataVersion", "1.0"),
    )


def print_alert(body: bytes) -> None:
    card = json.loads(body)["attachments"][0]["content"]
    blocks = card.get("body", [])
    texts = [
        b.get("text", "")
        for b in blocks
        if b.get("type") == "TextBlock" and not str(b.get("id", "")).startswith("fact:")
    ]
    facts = {
        f["title"]: f["value"] for b in blocks if b.get("type") == "FactSet" for f in b["facts"]
    }
    for b in blocks:  # long ids have a wrapping line of their own: "Title: value"
        if str(b.get("id", "")).startswith("fact:"):
            facts[b["id"][5:]] = b["text"].split(": ", 1)[1]
    shown_facts = [
        f"{title}: {facts[title]}"
        for title in ("Kind", "Resource", "Baseline", "Severity", "Who", "When")
        if title in facts
    ]
    print("   ┌ " + (texts[0] if texts else "alert").replace("\\", ""))
    for line in texts[1:2] + shown_facts:
        print("   │ " + line)
    print("   └")


def cursor_time(cursors: Cursors) -> str:
    value = cursors.get(AUDIT_CURSOR)
    if value is None:
        return "none"
    return str(json.loads(value)["time"]) if value.startswith("{") else value


def events_demo() -> int:
    events = json.loads(BURST.read_text())
    grid = [e for e in events if "eventType" in e or "specversion" in e or "specVersion" in e]
    audit = [e for e in events if "activityDisplayName" in e]
    suffix = uuid.uuid4().hex[:8]
    with (
        tempfile.TemporaryDirectory(prefix="driftkeeper-demo-") as tls_dir,
        Azurite() as azurite,
        HttpReceiver() as teams,
        AzureRestServer(
            make_tls_files(Path(tls_dir)), data={"graph.directoryAudits": audit}
        ) as graph,
    ):
        endpoint = azurite.connection_string.split("TableEndpoint=")[1].rstrip(";")
        print(f"\n3. Azurite (event table) on {endpoint}")
        print(f"   Teams webhook stand-in on {teams.url}")
        print(f"   Microsoft Graph stand-in on {graph.graph_endpoint}: the Entra audit log")
        env = {"DRIFTKEEPER_TEAMS_WEBHOOK_URL": f"{teams.url}/workflows/driftkeeper"}
        settings = Settings(
            baselines_dir=str(ROOT / "baselines"),
            self_ids=frozenset({SELF_APP}),
            storage_connection=azurite.connection_string,
            events_table=f"driftevents{suffix}",
            incidents_table=f"incidents{suffix}",
            cursors_table=f"cursors{suffix}",
            graph_endpoint=graph.graph_endpoint,
            alerts=AlertSettings.from_env(env),
        )
        reader = CoalescingReader(snapshot_reader(Snapshot.from_file(DRIFTED)), window=60)
        rt = Runtime(settings, reader=reader, credential=StaticTokenCredential())
        runtime.install(rt)
        try:
            functions = registered()
            print(f"4. {len(grid)} Event Grid deliveries to the registered arm_events function")
            for doc in grid:
                functions["arm_events"].get_user_function()(grid_event(doc))
            cursors = Cursors(rt.table(settings.cursors_table))
            cursors.set(AUDIT_CURSOR, POLL_FROM)
            functions["audit_poll"].get_user_function()(TimerRequest(past_due=False))
            print(
                "   the registered audit_poll timer read the audit log from the Graph stand-in;"
                f" its cursor moved from {POLL_FROM} to {cursor_time(cursors)}"
            )
            print(f"   state reads: {reader.reads} for {len(events)} events (coalesced)")
            posts = teams.requests_to("/workflows/driftkeeper")
            print(f"\n5. {len(posts)} alert(s) reached the Teams webhook:")
            for post in posts:
                print_alert(post.body)
            print("\n6. the event table (driftkeeper events), compliant rows left out:")
            ledger = Ledger(rt.table(settings.events_table))
            records = ledger.query(since=datetime(2026, 1, 1, tzinfo=UTC))
            render_records_table([r for r in records if r.outcome != "compliant"], sys.stdout)
            compliant = sum(1 for r in records if r.outcome == "compliant")
            print(f"   (+ {compliant} compliant rows not shown)")
        finally:
            runtime.install(None)
            rt.close()  # the Graph session the timer opened
    print("   Azurite, the webhook and the Graph stand-in stopped.")
    return 0


# --- part 3: rollback, approval-gated and automatic --------------------------------------------
def rdp_rule() -> dict[str, Any]:
    """The RDP rule of the drifted example, as Mallory types it in the portal."""
    for nsg in json.loads(DRIFTED.read_text())["arm"]["networkSecurityGroups"]:
        for rule in nsg["properties"]["securityRules"]:
            if rule["name"] == RDP_RULE:
                return {"properties": copy.deepcopy(rule["properties"])}
    raise DemoError(f"{shown(DRIFTED)} has no {RDP_RULE}")


def page_text(body: bytes) -> str:
    """An HTML page's visible text, one line per block, whitespace squeezed."""
    text = re.sub(r"(?s)<(head|style|script)\b.*?</\1>", "", body.decode())
    text = re.sub(r"(?i)<(br|/p|/h\d|/li|/tr|/div|/dt|/dd|/pre|/table)\b[^>]*>", "\n", text)
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


def card_title(body: bytes) -> str:
    card = json.loads(body)["attachments"][0]["content"]
    texts = [
        b.get("text", "")
        for block in card.get("body", [])
        for b in (block, *block.get("items", []))
        if b.get("type") == "TextBlock"
    ]
    return (texts[0] if texts else "alert").replace("\\", "")


def card_link(body: bytes) -> str | None:
    """The approval link of a Teams card (its "Review the rollback" action), if any."""
    card = json.loads(body)["attachments"][0]["content"]
    for action in card.get("actions", []):
        if f"{HOST}/api/approvals/" in action.get("url", ""):
            return str(action["url"])
    return None


@dataclass
class RollbackLoop:
    """The stand-ins of part 3 and a Runtime configured through Settings, as in
    tests/handlers/test_rollback_flow.py."""

    rt: Runtime
    server: AzureRestServer
    teams: HttpReceiver

    @property
    def functions(self) -> dict[str, Any]:
        return registered()

    def attack(self) -> dict[str, Any]:
        """Mallory opens RDP in the portal; the Event Grid event Azure emits."""
        return self.server.apply(
            "PUT", f"{NSG}/securityRules/{RDP_RULE}", rdp_rule(), actor=ATTACKER
        )

    def deliver(self, event: dict[str, Any]) -> None:
        self.functions["arm_events"].get_user_function()(grid_event(event))

    def rules(self) -> list[str]:
        """nsg-web-prod's rule names, read back from ARM (the stand-in) over TLS."""
        request = Request(  # noqa: S310 (an https URL of the stand-in)
            f"{self.server.arm_endpoint}{NSG}?api-version=2024-05-01",
            headers={"Authorization": "Bearer demo-reader"},
        )
        context = ssl.create_default_context(cafile=str(self.server.ca_file))
        with urlopen(request, context=context, timeout=10) as answer:  # noqa: S310
            nsg = json.load(answer)
        return [str(r["name"]) for r in nsg["properties"]["securityRules"]]

    def rows(self) -> list[Any]:
        ledger = Ledger(self.rt.table(self.rt.settings.events_table))
        return [
            r for r in ledger.query(since=datetime(2000, 1, 1, tzinfo=UTC))
            if r.outcome != "compliant"
        ]  # fmt: skip

    def outcomes(self) -> list[str]:
        """The outcomes of nsg-web-prod's baseline and of driftkeeper's own writes."""
        return sorted(
            r.outcome for r in self.rows() if r.rule == NSG_BASELINE or r.outcome == "self"
        )

    def incident(self) -> Incident | None:
        """The incident of nsg-web-prod's baseline, from the incidents table."""
        return Incidents(self.rt.table(self.rt.settings.incidents_table)).get(NSG, NSG_BASELINE)

    def cards(self, start: int = 0) -> list[bytes]:
        return [r.body for r in self.teams.requests_to("/workflows/teams")[start:]]

    def our_events(self) -> list[dict[str, Any]]:
        """The Event Grid events of driftkeeper's own writes (its identity in the claims)."""
        oid = "http://schemas.microsoft.com/identity/claims/objectidentifier"
        return [
            e for e in self.server.emitted_events("eventgrid")
            if e["data"]["claims"].get(oid) == DEFAULT_WRITER.object_id
        ]  # fmt: skip

    def approvals_page(self, link: str, method: str, body: bytes = b"") -> tuple[int, str]:
        """The registered ``approvals`` function, as App Service Authentication hands it a
        request from Alice (an approver) signed in."""
        token = link.rsplit("/", 1)[1]
        headers = {"Host": HOST, "X-MS-CLIENT-PRINCIPAL": principal_header(ALICE)}
        if method == "POST":
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        answer = self.functions["approvals"].get_user_function()(
            func.HttpRequest(
                method, link, headers=headers, route_params={"token": token}, body=body
            )
        )
        return answer.status_code, answer.get_body().decode()

    def show_rules(self, before: list[str]) -> list[str]:
        after = self.rules()
        gone = [r for r in before if r not in after]
        print(
            f"   nsg-web-prod's rules read back from ARM ({len(after)}): {', '.join(after)}"
            + (f"; gone: {', '.join(gone)}" if gone else "")
        )
        return after

    def show_rows(self) -> None:
        rows = self.rows()
        render_records_table(rows, sys.stdout)


def make_loop(
    storage_connection: str,
    server: AzureRestServer,
    teams: HttpReceiver,
    baselines: Path,
    response: str,
    **changes: Any,
) -> RollbackLoop:
    """A Runtime whose nsg-web-prod baseline has ``response``, on fresh tables."""
    web = baselines / "nsg" / f"{NSG_BASELINE}.yaml"
    web.write_text(re.sub(r"(?m)^response: \w+", f"response: {response}", web.read_text()))
    expect(f"response: {response}" in web.read_text(), f"{web.name} has no response: line")
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(
        baselines_dir=str(baselines),
        self_ids=frozenset({DEFAULT_WRITER.object_id, DEFAULT_WRITER.app_id}),
        storage_connection=storage_connection,
        events_table=f"rbevents{suffix}",
        incidents_table=f"rbincidents{suffix}",
        cursors_table=f"rbcursors{suffix}",
        approvals_table=f"rbapprovals{suffix}",
        brakes_table=f"rbbrakes{suffix}",
        arm_endpoint=server.arm_endpoint,
        graph_endpoint=server.graph_endpoint,
        ca_bundle=str(server.ca_file),
        subscriptions=(SUB,),
        alerts=AlertSettings.from_env(
            {"DRIFTKEEPER_TEAMS_WEBHOOK_URL": f"{teams.url}/workflows/teams"}
        ),
        approvers=(ALICE.object_id,),
        auth_enabled=True,
        approval_key=APPROVAL_KEY,
        public_url=f"https://{HOST}",
    )
    rt = Runtime(replace(settings, **changes), credential=StaticTokenCredential())
    runtime.install(rt)
    return RollbackLoop(rt, server, teams)


def approval_gated(loop: RollbackLoop) -> None:
    print(f"\n8. Approval-gated: {NSG_BASELINE} has response: approve")
    event = loop.attack()
    print(f"   Mallory opens RDP on nsg-web-prod in the portal: PUT .../securityRules/{RDP_RULE}")
    before = loop.rules()
    loop.deliver(event)
    cards = loop.cards()
    print(f"   its Event Grid event delivered to arm_events; {len(cards)} alert(s) reached Teams:")
    links = [link for link in map(card_link, cards) if link]
    for body in cards:
        link = card_link(body)
        print(f"   ┌ {card_title(body)}")
        print(f"   └ {'approval link: ' + link if link else 'no approval link (a guard)'}")
    expect(len(links) == 1, f"one alert with an approval link, got {len(links)}")
    expect(RDP_RULE in loop.rules(), f"{RDP_RULE} open until someone approves")
    print(f"   nothing written yet: {RDP_RULE} is still on nsg-web-prod")

    status, page = loop.approvals_page(links[0], "GET")
    text = page_text(page.encode())
    expect(status == 200, f"the approval page answers 200, got {status}: {text[:300]}")
    heading = text.splitlines()[0]
    steps = re.findall(r"(?m)^\d+\. (DELETE|PUT|PATCH|POST) (\S+)", text)
    print(f'   {ALICE.upn} (an approver) opens the link: {status} "{heading}"')
    for method, url in steps:
        print(f"     plan: {method} .../{url.split('/providers/', 1)[-1].split('?')[0]}")
    form = re.search(r'name="form" value="([0-9a-f]{64})"', page)
    expect(form, "the approval page carries the anti-forgery value")
    assert form is not None
    body = urlencode({"form": form.group(1), "decision": "approve"}).encode()
    status, result = loop.approvals_page(links[0], "POST", body)
    answer = " / ".join(page_text(result.encode()).splitlines())
    print(f"   Alice presses Approve (POST, with the page's anti-forgery value): {status}")
    print(f'   the result page: "{answer}"')
    expect(status == 200 and "rolled-back" in answer, f"approved and rolled back: {answer}")

    after = loop.show_rules(before)
    expect(RDP_RULE not in after, f"{RDP_RULE} gone after the approved rollback")
    ours = loop.our_events()
    expect(len(ours) == 1, f"driftkeeper's rollback emitted one event, got {len(ours)}")
    loop.deliver(ours[0])
    self_rows = [r for r in loop.rows() if r.outcome == "self"]
    print(
        f"   driftkeeper's own DELETE emitted {len(ours)} event; delivered to arm_events, "
        f"it is recorded as {', '.join(r.outcome for r in self_rows) or 'nothing'}"
    )
    expect(
        loop.outcomes() == ["drift", "rolled-back", "self"],
        f"rows drift, rolled-back, self; got {loop.outcomes()}",
    )
    incident = loop.incident()
    status_text = incident.status if incident else "none"
    print(f"   the incident of {NSG_BASELINE}: {status_text}")
    expect(status_text == "resolved", f"the incident resolved, got {status_text}")
    guard = Incidents(loop.rt.table(loop.rt.settings.incidents_table)).get(NSG, GUARD)
    print(
        f"   the incident of {GUARD}: {guard.status if guard else 'none'}"
        " (guards are never rolled back; our own write is not judged)"
    )
    print("   the event table, compliant rows left out:")
    loop.show_rows()


def automatic(loop: RollbackLoop) -> None:
    print(f"\n9. Automatic: {NSG_BASELINE} has response: auto, DRIFTKEEPER_ROLLBACK=on")
    seen = len(loop.cards())
    emitted = len(loop.our_events())
    event = loop.attack()
    print(f"   Mallory opens RDP again: PUT .../securityRules/{RDP_RULE}")
    before = loop.rules()
    expect(RDP_RULE in before, f"{RDP_RULE} open after Mallory's PUT")
    loop.deliver(event)
    cards = loop.cards(seen)
    print(f"   its Event Grid event delivered to arm_events; {len(cards)} alert(s) reached Teams:")
    for body in cards:
        print(f"   · {card_title(body)}")
    expect(not any(card_link(c) for c in cards), "no approval link: nobody is asked")
    after = loop.show_rules(before)
    expect(RDP_RULE not in after, f"{RDP_RULE} gone after the automatic rollback")
    rolled = [r for r in loop.rows() if r.outcome == "rolled-back"]
    expect(
        len(rolled) == 1 and "automatic" in rolled[0].message,
        f"one automatic rolled-back row, got {[r.message for r in rolled]}",
    )
    ours = loop.our_events()[emitted:]
    for doc in ours:
        loop.deliver(doc)
    print(f"   driftkeeper's own DELETE ({len(ours)} event) delivered too; no human involved")
    expect(
        loop.outcomes() == ["drift", "rolled-back", "self"],
        f"rows drift, rolled-back, self; got {loop.outcomes()}",
    )
    incident = loop.incident()
    print(f"   the incident of {NSG_BASELINE}: {incident.status if incident else 'none'}")
    print("   the event table, compliant rows left out:")
    loop.show_rows()


def compliance(loop: RollbackLoop, out_dir: Path = ROOT / "build" / "demo") -> None:
    """10 and 11. What the auditor and the compliance team get from the same tables."""
    from driftkeeper import __version__
    from driftkeeper.evidence import write_pack

    rt, s = loop.rt, loop.rt.settings
    today = datetime.now(UTC).date()
    print("\n10. Evidence for the auditor: the approval-gated part's tables")
    pack = write_pack(
        events=rt.table(s.events_table),
        incidents=rt.table(s.incidents_table),
        approvals=rt.table(s.approvals_table),
        seals=rt.seals(),
        first=today,
        last=today,
        out=out_dir / "evidence",
        chromium=shutil.which("chromium"),
        version=__version__,
    )
    expect("report.html" in pack.files and "manifest.json" in pack.files, "an evidence pack")
    for name in pack.files:
        print(f"   {shown(pack.directory / name)}")
    if pack.pdf_skipped:
        print(f"   (no PDF: {pack.pdf_skipped})")
    print("   today is not sealed yet (only closed days are); `driftkeeper seal` seals them")
    print("\n11. The compliance dashboard (GET /api/dashboard, as a reader sees it)")
    runtime.install(rt)
    rt.summarize([today])
    page = registered()["dashboard"].get_user_function()(
        func.HttpRequest(
            "GET",
            f"https://{HOST}/api/dashboard",
            headers={"Host": HOST, "X-MS-CLIENT-PRINCIPAL": principal_header(ALICE)},
            params={},
            body=b"",
        )
    )
    expect(page.status_code == 200, f"the dashboard (got {page.status_code})")
    html = out_dir / "dashboard.html"
    html.write_bytes(page.get_body())
    print(f"   {page.status_code}, {len(page.get_body()):,} bytes; open file://{html}")
    print("   (deployed: https://<your app>/api/dashboard; /api/events and /api/compliance")
    print("   serve the same rows as JSON or CSV to Power BI, Grafana or Excel)")


def rollback_demo() -> int:
    good = json.loads(GOOD.read_text())
    data = {
        "arm.networkSecurityGroups": good["arm"]["networkSecurityGroups"],
        "arm.roleAssignments": good["arm"]["roleAssignments"],
    }
    with (
        tempfile.TemporaryDirectory(prefix="driftkeeper-demo-rollback-") as work,
        Azurite() as azurite,
        HttpReceiver() as teams,
        AzureRestServer(make_tls_files(Path(work)), data=data) as server,
    ):
        baselines = Path(work) / "baselines"
        shutil.copytree(ROOT / "baselines" / "nsg", baselines / "nsg")
        print("\n7. Rollback: Azurite (event, incident, approval tables), a Teams webhook and the")
        print(f"   ARM stand-in over TLS on {server.arm_endpoint}, holding the NSGs of")
        print(f"   {shown(GOOD)}; driftkeeper writes as app {DEFAULT_WRITER.app_id}")
        loops: list[RollbackLoop] = []
        try:
            loops.append(make_loop(azurite.connection_string, server, teams, baselines, "approve"))
            approval_gated(loops[-1])
            loops.append(
                make_loop(
                    azurite.connection_string, server, teams, baselines, "auto", rollback="on"
                )
            )
            automatic(loops[-1])
            compliance(loops[0])
        finally:
            runtime.install(None)
            for loop in loops:
                loop.rt.close()
    print("   Azurite, the webhook and the ARM/Graph stand-in stopped.")
    return 0


def main() -> int:
    try:
        scan_demo()
        events_demo()
        rollback_demo()
    except DemoError as exc:
        print(f"\ndemo FAILED: expected {exc}", file=sys.stderr)
        return 1
    print("\nAll expected outcomes seen.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
