"""Event-table write benchmark (issue 3): batched transactions vs single upserts, on Azurite.

N event records (default 2,000; one realistic row each, all in one day's partition) are
written to a fresh table four ways, in one run, interleaved, best of ``--repeat``:

- ``Ledger.record(all)``: upserts in transactions of up to 100 rows (what the pipeline does
  with the records of one invocation);
- ``upsert_entity`` per row: single upserts, no transaction;
- ``Ledger.record([r])`` per record (what one event with one setting costs): a lone row is
  sent as a plain upsert, because
- a one-row ``submit_transaction`` per record is measured ~3x slower than a plain upsert.

Every way writes the same rows (a fresh table each time) and is checked by counting them.
Azurite is started from ``node_modules`` (``npm ci``) unless ``--connection-string`` is
given. The result is printed as a markdown table.

Usage: ``python bench/table_writes.py [--records 2000] [--repeat 3] [--connection-string S]``.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from azure.data.tables import TableClient, TableServiceClient, UpdateMode  # noqa: E402

from bench import azurite  # noqa: E402
from driftkeeper._model import Change, EventRecord  # noqa: E402
from driftkeeper.store import Ledger, record_entities  # noqa: E402

NSG = "/subscriptions/0000/resourceGroups/rg-web/providers/Microsoft.Network/networkSecurityGroups"


def make_records(count: int) -> list[EventRecord]:
    start = datetime(2026, 7, 1, 6, tzinfo=UTC)
    return [
        EventRecord(
            signal_id=str(uuid.uuid4()),
            time=(start + timedelta(seconds=7 * i)).isoformat(),
            source="eventgrid",
            event_type="Microsoft.Resources.ResourceWriteSuccess",
            outcome="drift" if i % 10 == 0 else "compliant",
            resource=f"{NSG}/nsg-{i % 50}",
            setting=f"{NSG}/nsg-{i % 50}".lower(),
            kind="nsg",
            rule=f"nsg-{i % 50}",
            severity="high",
            message=f"NSG nsg-{i % 50}: rule 'allow-rdp' added: Allow Tcp 3389 from Internet",
            operation="Microsoft.Network/networkSecurityGroups/securityRules/write",
            correlation_id=str(uuid.uuid4()),
            actor_upn="deploy@contoso.example",
            actor_object_id=str(uuid.uuid4()),
            actor_ip="203.0.113.7",
            changes=(
                Change(
                    "rules[allow-rdp]",
                    None,
                    {"access": "Allow", "protocol": "Tcp", "port": "3389", "source": "Internet"},
                ),
            )
            if i % 10 == 0
            else (),
        )
        for i in range(count)
    ]


def batched(table: TableClient, records: list[EventRecord]) -> None:
    Ledger(table).record(records)


def per_record(table: TableClient, records: list[EventRecord]) -> None:
    ledger = Ledger(table)
    for record in records:
        ledger.record([record])


def single_upserts(table: TableClient, records: list[EventRecord]) -> None:
    for record in records:
        for entity in record_entities(record):
            table.upsert_entity(entity, mode=UpdateMode.REPLACE)


def one_row_transactions(table: TableClient, records: list[EventRecord]) -> None:
    replace = {"mode": UpdateMode.REPLACE}
    for record in records:
        table.submit_transaction([("upsert", e, replace) for e in record_entities(record)])


SINGLE = "single upserts (`upsert_entity`)"
WAYS: dict[str, Callable[[TableClient, list[EventRecord]], None]] = {
    "transactions of 100 (`Ledger.record(all)`)": batched,
    SINGLE: single_upserts,
    "`Ledger.record([r])` per record (a lone row is a plain upsert)": per_record,
    "one-row transactions (`submit_transaction`)": one_row_transactions,
}


def timed(
    conn: str, way: Callable[[TableClient, list[EventRecord]], None], records: list[EventRecord]
) -> float:
    name = f"bench{uuid.uuid4().hex}"
    with TableServiceClient.from_connection_string(conn) as service:
        service.create_table(name)
        try:
            with service.get_table_client(name) as table:
                began = time.perf_counter()
                way(table, records)
                elapsed = time.perf_counter() - began
                rows = sum(1 for _ in table.list_entities(select=["RowKey"]))
                if rows != len(records):
                    raise AssertionError(f"{rows} rows written, expected {len(records)}")
                return elapsed
        finally:
            service.delete_table(name)


def azurite_version() -> str:
    package = ROOT / "node_modules" / "azurite" / "package.json"
    if not package.exists():
        return "external"
    import json

    version: str = json.loads(package.read_text())["version"]
    return version


def node_version() -> str:
    try:
        out = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    except OSError:
        return "?"
    return out.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--connection-string", default=None)
    args = parser.parse_args(argv)

    records = make_records(args.records)
    best = {label: float("inf") for label in WAYS}
    with azurite(args.connection_string) as conn:
        timed(conn, batched, records[:200])  # warm up Azurite and the connection pool
        for _ in range(args.repeat):
            for label, way in WAYS.items():
                best[label] = min(best[label], timed(conn, way, records))

    reference = best[SINGLE]
    print(
        f"Azurite {azurite_version()} (in memory), Node {node_version()}, "
        f"Python {platform.python_version()}, azure-data-tables; "
        f"{args.records} records, best of {args.repeat}\n"
    )
    print("| way | seconds | entities/s | vs single upserts |")
    print("|---|---:|---:|---:|")
    for label, seconds in best.items():
        rate = args.records / seconds
        print(f"| {label} | {seconds:.2f} | {rate:,.0f} | {reference / seconds:.1f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
