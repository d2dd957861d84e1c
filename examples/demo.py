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

The stand-ins are the ones the tests use (tests/fakes). Setting state is read from
``examples/tenant-drifted.json``, as ``driftkeeper replay --state`` does.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
from driftkeeper.store import Cursors, Ledger  # noqa: E402
from tests.fakes.azure_rest import AzureRestServer, make_tls_files  # noqa: E402
from tests.fakes.azurite import Azurite  # noqa: E402
from tests.fakes.credentials import StaticTokenCredential  # noqa: E402
from tests.fakes.receivers import HttpReceiver  # noqa: E402

SELF_APP = "d1f7c0de-0000-4000-8000-00000000d12f"
GOOD = ROOT / "examples/tenant-known-good.json"
DRIFTED = ROOT / "examples/tenant-drifted.json"
BURST = ROOT / "examples/events-burst.json"
AUDIT_CURSOR = "directoryAudits"
POLL_FROM = "2026-11-22T02:55:00Z"
"""Where the audit poll starts (set as an operator would): just before the burst."""


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
    texts = [b.get("text", "") for b in card.get("body", []) if b.get("type") == "TextBlock"]
    facts = [
        f"{f['title']}: {f['value']}"
        for b in card.get("body", [])
        if b.get("type") == "FactSet"
        for f in b.get("facts", [])
    ]
    print("   ┌ " + (texts[0] if texts else "alert").replace("\\", ""))
    for line in texts[1:2] + facts[:6]:
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
        HttpReceiver().start() as teams,
        AzureRestServer(
            make_tls_files(Path(tls_dir)), data={"graph.directoryAudits": audit}
        ).start() as graph,
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
            import function_app

            functions = {f.get_function_name(): f for f in function_app.app.get_functions()}
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


def main() -> int:
    scan_demo()
    return events_demo()


if __name__ == "__main__":
    sys.exit(main())
