"""Event Hubs ingestion (issue 10, part 4): events per second through the Event Hub trigger in
batches of 1, 10 and 100 messages, against the Event Grid trigger (one event an invocation),
on Azurite, with the Table operations each event costs.

The stream: the Event Grid schema events of ``examples/events-burst.json`` (NSG rule writes
on two NSGs, a role assignment, a storage account write), cycled to ``--events`` events,
each with a new id and a later time (one UTC day: one event-table partition), one event a
message as Event Grid delivers to an Event Hub. Both triggers are the registered functions
(``arm_events`` with an ``EventGridEvent``, ``hub_events`` with a list of ``EventHubEvent``),
called in-process through one :class:`~driftkeeper.runtime.Runtime` per run: fresh tables on
Azurite, each ``TableClient`` wrapped in ``tests/fakes/counting.py``'s counting proxy, the
bundled baselines, ``CoalescingReader(snapshot_reader(examples/tenant-drifted.json))`` as the
state (reads never leave the process) and an alert sink that only counts.

Per run: events per second (wall time of the invocations, best of ``--repeat``), Table
requests per event, event-table entity writes per row written ("writes/row", goal <= 1),
incident-table reads per event, and incident reads per (setting, rule) per batch: incident
``get_entity`` calls over the sum, across batches, of the distinct (resource, rule) pairs
each batch judged (drift, compliant or error rows; goal <= 1: one incident read per drifting
setting per batch).

Usage: ``python bench/event_hub.py [--events 500] [--repeat 3] [--connection-string S]``.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import azure.functions as func  # noqa: E402
from azure.data.tables import TableServiceClient  # noqa: E402

from bench import azurite  # noqa: E402
from driftkeeper import Snapshot, runtime  # noqa: E402
from driftkeeper.config import Settings  # noqa: E402
from driftkeeper.live import CoalescingReader, snapshot_reader  # noqa: E402
from driftkeeper.runtime import Runtime  # noqa: E402
from driftkeeper.store import Ledger  # noqa: E402
from tests.fakes.counting import CountingTable  # noqa: E402

START = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
SINCE = datetime(2000, 1, 1, tzinfo=UTC)


class Alerts:
    """Counts alerts; every one delivered."""

    def __init__(self) -> None:
        self.sent = 0

    def alert(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        self.sent += 1
        return [{"channel": "teams", "ok": True, "attempts": 1, "error": ""}]

    def publish(self, *args: Any, **kwargs: Any) -> None:
        pass


class CountedRuntime(Runtime):
    """A runtime whose tables count their operations."""

    def _table(self, name: str) -> Any:
        if name not in self._tables:
            self._tables[name] = CountingTable(super()._table(name))
        return self._tables[name]


def stream(count: int) -> list[dict[str, Any]]:
    """``count`` Event Grid events: the burst's, cycled, each with a new id and a later time."""
    burst = [
        e for e in json.loads((ROOT / "examples/events-burst.json").read_text()) if "eventType" in e
    ]
    out = []
    for n in range(count):
        doc = copy.deepcopy(burst[n % len(burst)])
        doc["id"] = f"{uuid.UUID(int=n + 1)}"
        when = START + timedelta(seconds=n)
        doc["eventTime"] = when.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
        out.append(doc)
    return out


def grid_event(doc: dict[str, Any]) -> func.EventGridEvent:
    return func.EventGridEvent(
        id=doc["id"],
        data=doc.get("data"),
        topic=doc.get("topic"),
        subject=doc.get("subject"),
        event_type=doc.get("eventType"),
        event_time=datetime.fromisoformat(doc["eventTime"][:19]).replace(tzinfo=UTC),
        data_version=doc.get("dataVersion"),
    )


def hub_message(doc: dict[str, Any], sequence: int) -> func.EventHubEvent:
    return func.EventHubEvent(
        body=json.dumps(doc).encode(), enqueued_time=START, sequence_number=sequence
    )


@dataclass
class Run:
    name: str
    events: int
    seconds: float
    requests: int
    rows: int
    row_writes: int
    incident_gets: int
    judged_per_batch: int
    alerts: int

    def cells(self) -> list[str]:
        return [
            self.name,
            f"{self.events / self.seconds:,.0f}",
            f"{self.requests / self.events:.2f}",
            f"{self.row_writes / max(self.rows, 1):.2f}",
            f"{self.incident_gets / self.events:.2f}",
            f"{self.incident_gets / max(self.judged_per_batch, 1):.2f}",
            str(self.alerts),
        ]


def one_run(
    connection: str, functions: dict[str, Any], docs: list[dict[str, Any]], batch: int | None
) -> Run:
    suffix = uuid.uuid4().hex[:12]
    settings = Settings(
        baselines_dir=str(ROOT / "baselines"),
        storage_connection=connection,
        events_table=f"hubev{suffix}",
        incidents_table=f"hubinc{suffix}",
        cursors_table=f"hubcur{suffix}",
    )
    service = TableServiceClient.from_connection_string(connection)
    alerts = Alerts()
    reader = CoalescingReader(
        snapshot_reader(Snapshot.from_file(ROOT / "examples/tenant-drifted.json")), window=3600
    )
    rt = CountedRuntime(settings, table_service=service, reader=reader, alerts=alerts)
    runtime.install(rt)
    try:
        rt.pipeline()  # baselines loaded and tables created before the clock starts
        for name in (settings.events_table, settings.incidents_table):
            rt.table(name).reset()
        started = time.perf_counter()
        if batch is None:
            arm_events = functions["arm_events"].get_user_function()
            for doc in docs:
                arm_events(grid_event(doc))
            batches = [docs[n : n + 1] for n in range(len(docs))]
        else:
            hub_events = functions["hub_events"].get_user_function()
            batches = [docs[n : n + batch] for n in range(0, len(docs), batch)]
            offset = 0
            for group in batches:
                hub_events([hub_message(d, offset + i) for i, d in enumerate(group)])
                offset += len(group)
        seconds = time.perf_counter() - started
        events_table = rt.table(settings.events_table)
        incidents_table = rt.table(settings.incidents_table)
        row_writes = sum(
            n for op, n in events_table.ops.items() if op in ("create", "update", "upsert")
        )
        rows = Ledger(events_table.client).query(since=SINCE)
        judged = _judged_per_batch(rows, batches)
        return Run(
            "Event Grid trigger (1 event / invocation)"
            if batch is None
            else f"Event Hub trigger, batches of {batch}",
            len(docs),
            seconds,
            events_table.requests + incidents_table.requests,
            len(events_table.rows),
            row_writes,
            incidents_table.ops["get"],
            judged,
            alerts.sent,
        )
    finally:
        runtime.install(None)
        rt.close()
        for name in (settings.events_table, settings.incidents_table, settings.cursors_table):
            service.delete_table(name)
        service.close()


def _judged_per_batch(rows: list[Any], batches: list[list[dict[str, Any]]]) -> int:
    """The sum over batches of the distinct (resource, rule) pairs each judged (the rows
    with a rule that the incident policy applies: drift, compliant, error)."""
    batch_of = {doc["id"]: n for n, group in enumerate(batches) for doc in group}
    pairs = {
        (batch_of[r.signal_id], r.resource, r.rule)
        for r in rows
        if r.outcome in ("drift", "compliant", "error") and r.rule and r.signal_id in batch_of
    }
    return len(pairs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--connection-string")
    args = parser.parse_args(argv)

    import function_app

    functions = {f.get_function_name(): f for f in function_app.app.get_functions()}
    docs = stream(args.events)
    print(
        f"{args.events} events; Python {platform.python_version()} on {platform.machine()}, "
        f"best of {args.repeat}"
    )
    header = [
        "path",
        "events/s",
        "Table requests/event",
        "writes/row",
        "incident reads/event",
        "incident reads / (setting, rule) / batch",
        "alerts",
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    with azurite(args.connection_string) as connection:
        one_run(connection, functions, docs[:50], 10)  # warm-up: Azurite, imports, baselines
        for batch in (None, 1, 10, 100):
            runs = [one_run(connection, functions, docs, batch) for _ in range(args.repeat)]
            best = min(runs, key=lambda r: r.seconds)
            counts = Counter((r.requests, r.row_writes, r.incident_gets) for r in runs)
            assert len(counts) == 1, f"Table operation counts differ between runs: {counts}"
            print("| " + " | ".join(best.cells()) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
