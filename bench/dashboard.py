"""The compliance routes over a quarter (issue 9): ``/api/dashboard`` and
``/api/compliance`` on 90 days holding 1,000,000 events, on Azurite.

1. **Seed** ``--events`` event rows over the last ``--days`` days (today included) into the
   event table, through ``driftkeeper.store.record_entities`` (the Ledger's rows) in batch
   transactions of 100 rows of one day partition, ``--threads`` at a time. The rows follow a
   tenant of ``--settings`` settings: mostly compliant reconcile judgements, drift, errors,
   restores by hand and by rollback (approved, automatic, failed, rejected), accepted drift.
   The incidents table gets the open incidents of the last day.
2. **Summarize** every day, oldest first (``Runtime.summarize``: each day's partition read
   once, its summary upserted).
3. **Time** ``GET /api/dashboard`` and ``GET /api/compliance?from&to`` over the whole period
   through the registered functions, in process (a signed-in reader; App Service
   Authentication trusted): best and median of ``--runs`` runs, after one warm-up.

Azurite is started from ``node_modules`` (``npm ci``) with a larger Node heap, unless
``--connection-string`` is given. Goal: each route under 1 s.

Usage: ``python bench/dashboard.py [--events 1000000] [--days 90] [--runs 5]``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import azure.functions as func  # noqa: E402
from azure.core.exceptions import ServiceResponseError  # noqa: E402
from azure.data.tables import TableServiceClient, TransactionOperation, UpdateMode  # noqa: E402

from driftkeeper import runtime  # noqa: E402
from driftkeeper._model import EventRecord  # noqa: E402
from driftkeeper.compliance import day_key, open_incidents, recent_drift  # noqa: E402
from driftkeeper.config import Settings  # noqa: E402
from driftkeeper.runtime import Runtime  # noqa: E402
from driftkeeper.store import Incidents, record_entities  # noqa: E402

KINDS = (
    ("nsg", "/subscriptions/0000/resourceGroups/rg{n}/providers/Microsoft.Network/"
     "networkSecurityGroups/nsg-{n}"),
    ("role-assignments", "/subscriptions/{n:04d}"),
    ("conditional-access-policy", "/identity/conditionalAccess/policies/ca-{n}"),
    ("directory-role", "/roleManagement/directory/roleDefinitions/role-{n}"),
    ("security-defaults", "/policies/identitySecurityDefaultsEnforcementPolicy"),
    ("authentication-methods", "/policies/authenticationMethodsPolicy"),
)  # fmt: skip
GUARDS = {
    "nsg": "guard:nsg-internet-management-ports",
    "directory-role": "guard:global-admin-count",
    "role-assignments": "guard:subscription-owner-count",
    "conditional-access-policy": "guard:ca-mfa-privileged-roles",
}
SEVERITIES = ("low", "medium", "high", "critical")
OUTCOMES = (
    ("compliant", 70.0),
    ("drift", 14.0),
    ("error", 2.0),
    ("ignored", 4.0),
    ("self", 2.0),
    ("unbaselined", 2.0),
    ("rolled-back", 3.0),
    ("rollback-failed", 0.5),
    ("rollback-skipped", 1.5),
    ("accepted", 1.0),
)
READER = {"oid": "5ead0000-0000-4000-8000-000000000006", "upn": "rita@contoso.example"}


def settings_of(n: int) -> list[tuple[str, str, str, str]]:
    """(kind, resource, rule, severity) of ``n`` settings."""
    out = []
    for i in range(n):
        kind, template = KINDS[i % len(KINDS)]
        resource = template.format(n=i)
        rule = GUARDS[kind] if kind in GUARDS and i % 5 == 0 else f"{kind}-{i}"
        out.append((kind, resource, rule, SEVERITIES[i % 4]))
    return out


def record(day: date, index: int, per_day: int, rng: random.Random, setting: Any) -> EventRecord:
    kind, resource, rule, severity = setting
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
        microseconds=int(86_400_000_000 * (index + rng.random()) / per_day)
    )
    outcome = rng.choices([o for o, _ in OUTCOMES], [w for _, w in OUTCOMES])[0]
    actor, message = f"user{rng.randrange(40)}@contoso.example", f"{outcome} on {rule}"
    if outcome in ("rolled-back", "rollback-failed"):
        actor = "automatic (response: auto)" if rng.random() < 0.4 else f"approved by {actor}"
    elif outcome == "rollback-skipped" and rng.random() < 0.5:
        message = f"rollback rejected by {actor}: nothing written"
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return EventRecord(
        signal_id=f"{stamp}:{index}",
        time=stamp,
        source="reconcile" if outcome == "compliant" else "eventgrid",
        event_type="Microsoft.Resources.ResourceWriteSuccess",
        outcome=outcome,  # type: ignore[arg-type]
        resource=resource,
        setting=resource.lower(),
        kind=kind,
        rule="" if outcome == "unbaselined" else rule,
        severity=severity,
        message=message,
        operation="Microsoft.Network/networkSecurityGroups/write",
        actor_upn=actor,
    )


def day_batches(
    days: list[date], per_day: int, settings: list[Any], seed: int
) -> Iterator[list[dict[str, Any]]]:
    for offset, day in enumerate(days):
        rng = random.Random(seed + offset)
        rows: list[dict[str, Any]] = []
        for index in range(per_day):
            rows.extend(record_entities(record(day, index, per_day, rng, rng.choice(settings))))
            if len(rows) >= 100:
                yield rows[:100]
                rows = rows[100:]
        if rows:
            yield rows


def seed_events(
    table: Any, days: list[date], per_day: int, settings: list[Any], threads: int
) -> int:
    replace = {"mode": UpdateMode.REPLACE}
    done = 0
    lock = threading.Lock()

    def send(batch: list[dict[str, Any]]) -> None:
        nonlocal done
        operations = [(TransactionOperation.UPSERT, e, replace) for e in batch]
        for attempt in range(5):  # upserts: a retried batch writes the same rows
            try:
                table.submit_transaction(operations)
                break
            except ServiceResponseError:
                if attempt == 4:
                    raise
                time.sleep(1 + attempt)
        with lock:
            done += len(batch)

    with ThreadPoolExecutor(threads) as pool:
        pending = []
        for batch in day_batches(days, per_day, settings, seed=9):
            pending.append(pool.submit(send, batch))
            if len(pending) >= threads * 4:
                pending.pop(0).result()
        for future in pending:
            future.result()
    return done


def principal_header() -> str:
    doc = {
        "auth_typ": "aad",
        "claims": [
            {"typ": "http://schemas.microsoft.com/identity/claims/objectidentifier",
             "val": READER["oid"]},
            {"typ": "preferred_username", "val": READER["upn"]},
        ],
    }  # fmt: skip
    return base64.b64encode(json.dumps(doc).encode()).decode()


def timed(call: Any, request: func.HttpRequest, runs: int) -> tuple[float, float, int, int]:
    call(request)  # warm-up
    times = []
    size = status = 0
    for _ in range(runs):
        start = time.perf_counter()
        response = call(request)
        times.append(time.perf_counter() - start)
        size, status = len(response.get_body()), response.status_code
    return min(times), statistics.median(times), size, status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--settings", type=int, default=600)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--connection-string")
    args = parser.parse_args(argv)

    server = None
    connection = args.connection_string
    if connection is None:
        from tests.fakes.azurite import Azurite

        os.environ.setdefault("NODE_OPTIONS", "--max-old-space-size=16384")
        server = Azurite()
        server.start()
        connection = server.connection_string
    try:
        return run(args, connection)
    finally:
        if server is not None:
            server.stop()


def run(args: argparse.Namespace, connection: str) -> int:
    suffix = uuid.uuid4().hex[:8]
    service = TableServiceClient.from_connection_string(connection)
    rt = Runtime(
        Settings(
            storage_connection=connection,
            events_table=f"benchevents{suffix}",
            incidents_table=f"benchincidents{suffix}",
            readers=(READER["upn"],),
            auth_enabled=True,
        ),
        table_service=service,
        summaries_table=f"benchsummaries{suffix}",
    )
    today = datetime.now(UTC).date()
    days = [today - timedelta(days=args.days - 1 - i) for i in range(args.days)]
    per_day = max(1, args.events // args.days)
    tenant = settings_of(args.settings)

    start = time.perf_counter()
    rows = seed_events(rt.table(rt.settings.events_table), days, per_day, tenant, args.threads)
    seeding = time.perf_counter() - start
    print(
        f"seeded {per_day * len(days):,} events ({rows:,} rows) over {len(days)} days "
        f"in {seeding:.1f} s ({rows / seeding:,.0f} rows/s)"
    )
    incidents = Incidents(rt.table(rt.settings.incidents_table))
    rng = random.Random(3)
    for setting in tenant:
        if rng.random() < 0.2:
            incidents.observe(record(today, 0, per_day, rng, setting), alerting=False)

    start = time.perf_counter()
    results = rt.summarize(days)
    summarizing = time.perf_counter() - start
    counted = sum(r.figures.events for r in results)
    print(
        f"summarized {len(days)} days ({counted:,} events) in {summarizing:.1f} s "
        f"({summarizing / len(days) * 1000:.0f} ms per day)"
    )
    assert counted == per_day * len(days), (counted, per_day * len(days))

    import function_app

    functions = {f.get_function_name(): f for f in function_app.app.get_functions()}
    runtime.install(rt)
    period = {"from": days[0].isoformat(), "to": days[-1].isoformat()}
    for route in ("dashboard", "compliance"):
        request = func.HttpRequest(
            method="GET",
            url=f"https://bench.example/api/{route}",
            headers={"X-MS-CLIENT-PRINCIPAL": principal_header()},
            params=period,
            body=b"",
        )
        best, median, size, status = timed(functions[route].get_user_function(), request, args.runs)
        assert status == 200, status
        print(
            f"/api/{route} over {len(days)} days: best {best * 1000:.0f} ms, median "
            f"{median * 1000:.0f} ms of {args.runs} ({size:,} bytes)"
        )
    runtime.install(None)
    parts = {
        "summaries read": lambda: rt.summaries().read(day_key(days[0]), day_key(days[-1])),
        "open incidents read": lambda: open_incidents(rt.table(rt.settings.incidents_table)),
        "recent drift query": lambda: recent_drift(
            rt.table(rt.settings.events_table), datetime.now(UTC)
        ),
    }
    for name, part in parts.items():
        took = []
        for _ in range(3):
            start = time.perf_counter()
            part()
            took.append(time.perf_counter() - start)
        print(f"  of which {name}: best {min(took) * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
