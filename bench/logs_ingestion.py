"""Log Analytics sink throughput (issue 9): rows/s to a local Logs Ingestion receiver.

N event records (default 5,000, realistic rows: a ~300-character message and one change)
are written to a fresh event table on Azurite, then measured three ways, best of
``--repeat``:

- **upload**: the rows (built once) sent by ``LogsIngestionClient.upload`` in the sink's
  calls of at most 1 MB (gzip JSON over TLS to ``tests/fakes/logs_ingestion.py``);
- **send**: :meth:`LogsSink.send` as the recording path runs it (rows built from the
  records, an outbox marker written before and removed after, the calls);
- **resend**: the first call answered 500, then :meth:`LogsSink.resend` as the reconcile
  timer runs it (the marked rows read back from the event table, sent, the marker removed).

Usage: ``python bench/logs_ingestion.py [--records 5000] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from azure.data.tables import TableServiceClient  # noqa: E402

from bench import azurite  # noqa: E402
from driftkeeper._model import Change, EventRecord  # noqa: E402
from driftkeeper.loganalytics import LogsSink, Outbox, calls, log_row, logs_client  # noqa: E402
from driftkeeper.store import Ledger, record_entities  # noqa: E402
from tests.fakes.azure_rest import make_tls_files  # noqa: E402
from tests.fakes.credentials import StaticTokenCredential  # noqa: E402
from tests.fakes.logs_ingestion import LogsIngestionReceiver  # noqa: E402

STREAM = "Custom-DriftkeeperEvents_CL"
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
            setting=f"nsg-{i % 50}",
            kind="nsg",
            rule="nsg-web-prod",
            severity="high",
            message="securityRules/allow-ssh: sourceAddressPrefix changed " + "x" * 250,
            actor_upn="alice@contoso.com",
            changes=(Change("securityRules/allow-ssh/sourceAddressPrefix", "10.0.0.0/8", "*"),),
        )
        for i in range(count)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    records = make_records(args.records)
    with azurite(None) as connection, tempfile.TemporaryDirectory() as tmp:
        tls = make_tls_files(Path(tmp))
        with LogsIngestionReceiver(tls, streams=(STREAM,)) as receiver:
            run(args, records, connection, receiver, str(tls.ca_file))
    return 0


def run(
    args: argparse.Namespace,
    records: list[EventRecord],
    connection: str,
    receiver: LogsIngestionReceiver,
    ca: str,
) -> None:
    service = TableServiceClient.from_connection_string(connection)
    suffix = uuid.uuid4().hex[:8]
    events = service.create_table(f"benchevents{suffix}")
    outbox_table = service.create_table(f"benchoutbox{suffix}")
    Ledger(events).record(records)
    client = logs_client(receiver.url, StaticTokenCredential(), connection_verify=ca)
    now = [datetime.now(UTC)]
    sink = LogsSink(
        client,
        Outbox(outbox_table, clock=lambda: now[0]),
        rule_id=receiver.rule_id,
        stream=STREAM,
        events=events,
        clock=lambda: now[0],
    )
    rows = []
    for record in records:
        entities = record_entities(record)
        rows.append(log_row(entities[-1], entities[:-1]))
    groups = list(calls(rows))
    best = {"upload": float("inf"), "send": float("inf"), "resend": float("inf")}
    for _ in range(args.repeat):
        started = time.perf_counter()
        for group in groups:
            client.upload(receiver.rule_id, STREAM, group)
        best["upload"] = min(best["upload"], time.perf_counter() - started)

        started = time.perf_counter()
        sent = sink.send(records)
        best["send"] = min(best["send"], time.perf_counter() - started)
        assert sent.rows == len(records), sent

        receiver.fail(500, times=len(records))  # every call of the send fails
        failed = sink.send(records)
        receiver.recover()
        assert failed.pending == len(records), failed
        now[0] += timedelta(minutes=11)
        started = time.perf_counter()
        again = sink.resend()
        best["resend"] = min(best["resend"], time.perf_counter() - started)
        assert again.rows == len(records), again
    size = sum(c.size for c in receiver.calls if c.status == 204) / max(
        1, sum(len(c.rows) for c in receiver.calls if c.status == 204)
    )
    print(f"{len(records):,} rows of ~{size:,.0f} B JSON, {len(groups)} calls of <= 1 MB each")
    print("| way | best | rows/s |\n|---|---|---|")
    for name, seconds in best.items():
        print(f"| {name} | {seconds * 1000:,.0f} ms | {len(records) / seconds:,.0f} |")
    client.close()
    service.delete_table(events.table_name)
    service.delete_table(outbox_table.table_name)


if __name__ == "__main__":
    raise SystemExit(main())
