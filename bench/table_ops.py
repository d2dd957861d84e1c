"""Table operations per event-table row (issue 6): what one pass through the pipeline costs
Azure Table Storage, counted on Azurite.

The event table and the incident table are real ``TableClient`` objects on Azurite, each
wrapped in a counting proxy before it is handed to ``Ledger`` / ``Incidents``. Every entity
operation is counted by type (a transaction counts once as a request and once per entity
it carries):

- ``get``: ``get_entity``; ``query``: ``query_entities`` / ``list_entities`` (per call);
- ``create``: ``create_entity``; ``update``: ``update_entity`` (conditional replace or merge);
- ``upsert``: ``upsert_entity``; ``delete``: ``delete_entity``;
- ``txn``: ``submit_transaction`` calls (requests; their entities are counted above).

Flows, each on fresh tables, with the bundled baselines and the example tenant
(``examples/tenant-drifted.json``, ``examples/tenant-known-good.json``). Only the last step
of each flow is counted; the steps before it set the tables up:

- **first drift**: an RDP rule added to ``nsg-web-prod`` (the first event of
  ``examples/events-burst.json``): the baseline and the NSG guard drift, two incidents open,
  two alerts go out (on ``--channels`` channels, all delivering);
- **repeated drift**: another write to the same NSG (a new event id, later): both incidents
  are updated, nobody is alerted;
- **compliant**: the same event judged against the known-good tenant, no incident exists;
- **resolve**: after the first drift, a later event on the known-good tenant: both
  incidents resolve (an alert each);
- **error row**: the NSG section cannot be read (403): one error row, a read-error incident
  opens and alerts;
- **redelivery**: the first drift's event delivered again (nothing changes, nobody alerted);
- **reconcile, first run** and **reconcile, next run**: ``Pipeline.reconcile`` over the
  synthetic tenant of ``bench/scan.py`` (``--size`` role assignments; every baseline and
  guard verdict is a row), on fresh tables, then a second run (another run id) that finds
  the same drift.

"rows" are the event-table rows the counted step wrote (main rows; a redelivery rewrites
its rows). Azurite is started from ``node_modules`` (``npm ci``) unless
``--connection-string`` is given. The figures are counts, not times: they do not vary
between runs.

Usage: ``python bench/table_ops.py [--channels teams,email] [--size 1000]
[--connection-string S]``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from azure.data.tables import TableServiceClient  # noqa: E402

from bench import azurite  # noqa: E402
from driftkeeper.baseline import BaselineSet, load_baselines  # noqa: E402
from driftkeeper.intake import parse_events  # noqa: E402
from driftkeeper.live import snapshot_reader  # noqa: E402
from driftkeeper.pipeline import Pipeline  # noqa: E402
from driftkeeper.snapshot import Snapshot  # noqa: E402
from driftkeeper.store import Incidents, Ledger  # noqa: E402
from tests.fakes.counting import CountingTable  # noqa: E402

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
OPS = ("get", "query", "create", "update", "upsert", "delete")


class Alerts:
    """Every alert is delivered on every channel (the sink's signature is not relied on)."""

    def __init__(self, channels: tuple[str, ...]) -> None:
        self.channels = channels
        self.sent = 0

    def alert(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        self.sent += 1
        return [{"channel": c, "ok": True, "attempts": 1, "error": ""} for c in self.channels]

    def publish(self, *args: Any, **kwargs: Any) -> None:
        pass


@dataclass
class Tables:
    events: CountingTable
    incidents: CountingTable

    def reset(self) -> None:
        self.events.reset()
        self.incidents.reset()


@dataclass
class Flow:
    name: str
    rows: int
    events: Counter[str]
    incidents: Counter[str]
    requests: int
    alerts: int

    @property
    def entity_ops(self) -> int:
        return sum(n for op, n in (self.events + self.incidents).items() if op != "txn")


def events() -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads((ROOT / "examples/events-burst.json").read_text())
    return loaded


def rdp(ident: str | None = None, when: str | None = None) -> dict[str, Any]:
    event = copy.deepcopy(events()[0])
    if ident is not None:
        event["id"] = ident
    if when is not None:
        event["eventTime"] = when
    return event


def snapshot(name: str) -> Snapshot:
    return Snapshot.from_file(ROOT / "examples" / name)


def unreadable_nsgs() -> Snapshot:
    doc = json.loads((ROOT / "examples/tenant-drifted.json").read_text())
    del doc["arm"]["networkSecurityGroups"]
    doc["readErrors"] = {"arm.networkSecurityGroups": "403 Forbidden: AuthorizationFailed"}
    return Snapshot.from_dict(doc)


class Bench:
    def __init__(self, service: TableServiceClient, channels: tuple[str, ...]) -> None:
        self.service = service
        self.channels = channels
        self.created: list[str] = []

    @contextlib.contextmanager
    def tables(self) -> Iterator[Tables]:
        names = [f"ops{uuid.uuid4().hex[:16]}" for _ in range(2)]
        clients = []
        for name in names:
            self.service.create_table(name)
            clients.append(self.service.get_table_client(name))
        try:
            yield Tables(CountingTable(clients[0]), CountingTable(clients[1]))
        finally:
            for client, name in zip(clients, names, strict=True):
                client.close()
                self.service.delete_table(name)

    def pipeline(
        self, tables: Tables, baselines: BaselineSet, state: Snapshot, alerts: Alerts
    ) -> Pipeline:
        return Pipeline(
            baselines,
            snapshot_reader(state),
            Ledger(tables.events),  # type: ignore[arg-type]
            Incidents(tables.incidents),  # type: ignore[arg-type]
            alerts,
            clock=lambda: NOW,
        )

    def flow(
        self,
        name: str,
        baselines: BaselineSet,
        steps: list[tuple[Snapshot, Callable[[Pipeline], Any]]],
    ) -> Flow:
        """Run ``steps`` on fresh tables; count the last one."""
        with self.tables() as tables:
            alerts = Alerts(self.channels)
            for index, (state, step) in enumerate(steps):
                if index == len(steps) - 1:
                    tables.reset()
                    alerts.sent = 0
                step(self.pipeline(tables, baselines, state, alerts))
            return Flow(
                name,
                len(tables.events.rows),
                Counter(tables.events.ops),
                Counter(tables.incidents.ops),
                tables.events.requests + tables.incidents.requests,
                alerts.sent,
            )


def process(*items: dict[str, Any]) -> Callable[[Pipeline], Any]:
    return lambda p: p.process(parse_events(list(items)))


def reconcile(state: Snapshot, run_id: str) -> Callable[[Pipeline], Any]:
    return lambda p: p.reconcile(state, run_id=run_id)


def run(bench: Bench, size: int) -> list[Flow]:
    baselines = load_baselines(ROOT / "baselines")
    drifted, good = snapshot("tenant-drifted.json"), snapshot("tenant-known-good.json")
    later = "2026-11-22T03:30:00Z"
    flows = [
        bench.flow("first drift (opens, alerts)", baselines, [(drifted, process(rdp()))]),
        bench.flow(
            "repeated drift (same incidents)",
            baselines,
            [(drifted, process(rdp())), (drifted, process(rdp("again", later)))],
        ),
        bench.flow("compliant (no incident)", baselines, [(good, process(rdp()))]),
        bench.flow(
            "resolve (alerts)",
            baselines,
            [(drifted, process(rdp())), (good, process(rdp("fixed", later)))],
        ),
        bench.flow(
            "error row (read failure; opens, alerts)",
            baselines,
            [(unreadable_nsgs(), process(rdp()))],
        ),
        bench.flow(
            "redelivery (nothing new)",
            baselines,
            [(drifted, process(rdp())), (drifted, process(rdp()))],
        ),
    ]
    from bench.scan import baseline_set, tenant

    t = tenant(size)
    big = baseline_set(Snapshot.from_dict(t.base, source="bench-base"))
    state = Snapshot.from_dict(t.drifted, source="bench")
    first = reconcile(state, "2026-11-22T06:00:00Z")
    flows.append(bench.flow(f"reconcile, first run ({size:,} tenant)", big, [(state, first)]))
    flows.append(
        bench.flow(
            f"reconcile, next run ({size:,} tenant)",
            big,
            [(state, first), (state, reconcile(state, "2026-11-22T12:00:00Z"))],
        )
    )
    return flows


def ops_cell(counts: Counter[str]) -> str:
    parts = [f"{counts[op]} {op}" for op in (*OPS, "txn") if counts[op]]
    return ", ".join(parts) or "none"


def table(flows: list[Flow]) -> str:
    head = (
        "| flow | rows | alerts | event table | incident table | entity ops | requests "
        "| **entity ops / row** | incident reads / row | requests / row |\n"
        "|---|---:|---:|---|---|---:|---:|---:|---:|---:|\n"
    )
    body = "".join(
        f"| {f.name} | {f.rows:,} | {f.alerts} | {ops_cell(f.events)} | {ops_cell(f.incidents)} "
        f"| {f.entity_ops:,} | {f.requests:,} | **{f.entity_ops / max(1, f.rows):.2f}** "
        f"| {f.incidents['get'] / max(1, f.rows):.2f} | {f.requests / max(1, f.rows):.2f} |\n"
        for f in flows
    )
    return head + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", default="teams,email", help="alert channels, all ok")
    parser.add_argument("--size", type=int, default=1000, help="reconcile tenant size")
    parser.add_argument("--connection-string", default=None)
    args = parser.parse_args(argv)
    channels = tuple(c.strip() for c in args.channels.split(",") if c.strip())
    with (
        azurite(args.connection_string) as conn,
        TableServiceClient.from_connection_string(conn) as service,
    ):
        flows = run(Bench(service, channels), args.size)
    print(f"Alert channels: {', '.join(channels) or 'none'} (every delivery succeeds)\n")
    print(table(flows), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
