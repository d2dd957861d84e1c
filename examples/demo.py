"""``make demo``: the whole loop on this machine.

1. Capture baselines from a known-good tenant and scan a drifted snapshot of it.
2. Start Azurite (from node_modules) as the event table, a local webhook as Teams, and a
   local Microsoft Graph stand-in serving the Entra audit log; replay a burst of events
   through the Function App's registered handlers (Event Grid trigger and audit timer);
   print the alerts the webhook received; query the event table; stop everything.

The stand-ins are the ones the tests use (tests/fakes). State is read from
``examples/tenant-drifted.json``, as ``driftkeeper replay --state`` does.
"""

from __future__ import annotations

import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import azure.functions as func  # noqa: E402

from driftkeeper import Snapshot, runtime  # noqa: E402
from driftkeeper.config import Settings  # noqa: E402
from driftkeeper.demo import main as scan_demo  # noqa: E402
from driftkeeper.live import CoalescingReader, snapshot_reader  # noqa: E402
from driftkeeper.report import render_records_table  # noqa: E402
from driftkeeper.runtime import Runtime, build_alerts  # noqa: E402
from driftkeeper.store import Ledger  # noqa: E402
from tests.fakes.azurite import Azurite  # noqa: E402
from tests.fakes.receivers import HttpReceiver  # noqa: E402

SELF_APP = "d1f7c0de-0000-4000-8000-00000000d12f"


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


def events_demo() -> int:
    events = json.loads((ROOT / "examples/events-burst.json").read_text())
    grid = [e for e in events if "eventType" in e or "specversion" in e or "specVersion" in e]
    audit = [e for e in events if "activityDisplayName" in e]
    suffix = uuid.uuid4().hex[:8]
    with Azurite() as azurite, HttpReceiver().start() as teams:
        endpoint = azurite.connection_string.split("TableEndpoint=")[1].rstrip(";")
        print(f"\n3. Azurite (event table) on {endpoint}")
        print(f"   Teams webhook stand-in on {teams.url}")
        env = {"DRIFTKEEPER_TEAMS_WEBHOOK_URL": f"{teams.url}/workflows/driftkeeper"}
        settings = Settings(
            baselines_dir=str(ROOT / "baselines"),
            self_ids=frozenset({SELF_APP}),
            storage_connection=azurite.connection_string,
            events_table=f"driftevents{suffix}",
            incidents_table=f"incidents{suffix}",
            cursors_table=f"cursors{suffix}",
        )
        drifted = Snapshot.from_file(ROOT / "examples/tenant-drifted.json")
        reader = CoalescingReader(snapshot_reader(drifted), window=60)
        rt = Runtime(settings, env, reader=reader, alerts=build_alerts(env))
        runtime.install(rt)
        try:
            import function_app

            functions = {f.get_function_name(): f for f in function_app.app.get_functions()}
            print(f"4. replaying {len(grid)} Event Grid deliveries through arm_events")
            for doc in grid:
                functions["arm_events"].get_user_function()(grid_event(doc))
            if audit:
                print(f"   and {len(audit)} Entra audit record(s) through the pipeline")
                from driftkeeper.intake import parse_events

                rt.pipeline().process(parse_events(audit))
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
    print("   Azurite and the webhook stopped.")
    return 0


def main() -> int:
    scan_demo()
    return events_demo()


if __name__ == "__main__":
    sys.exit(main())
