"""A Function App runtime on Azurite with a recorded story for the compliance routes: two
days of events (the compliance tests' story), hostile values in every text an event can
fill, the incidents they leave open, and the summaries of both days."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.functions as func
import pytest
from azure.data.tables import TableServiceClient

from driftkeeper import runtime
from driftkeeper._model import EventRecord
from driftkeeper.config import Settings
from driftkeeper.rollback._principal import Principal
from driftkeeper.runtime import Runtime
from driftkeeper.store import Incidents, Ledger
from tests.compliance.seed import row, story
from tests.rollback.builders import ALICE, EVE, principal_header

READER = Principal("5ead0000-0000-4000-8000-000000000006", "rita@contoso.example", "Rita")
SCRIPT = "<script>document.title='pwned'</script>"
HOSTILE = {
    "resource": "/subscriptions/x/<script>alert(1)</script>/nsg-<a href=https://evil.example>x</a>",
    "rule": 'web"><img src=x onerror=alert(2)>',
    "kind": "nsg<iframe src=https://evil.example/>",
    "actor_upn": "\u202eetadpu.exe\u202c mallory<a href=https://evil.example>@contoso</a>",
    "severity": "critical",
}
HOSTILE_TEXTS = (
    HOSTILE["resource"],
    HOSTILE["rule"],
    HOSTILE["kind"],
    "[U+202E]etadpu.exe[U+202C] mallory<a href=https://evil.example>@contoso</a>",
)


@pytest.fixture
def service(azurite: str) -> Iterator[TableServiceClient]:
    """A table service on Azurite; drops the tables the test made and uninstalls the runtime."""
    svc = TableServiceClient.from_connection_string(azurite, retry_total=0)
    yield svc
    for table in list(svc.list_tables()):
        if table.name.startswith(("events", "incidents", "summaries")):
            svc.delete_table(table.name)
    svc.close()
    runtime.install(None)


def settings(suffix: str, connection: str, **changes: Any) -> Settings:
    base = Settings(
        storage_connection=connection,
        events_table=f"events{suffix}",
        incidents_table=f"incidents{suffix}",
        approvers=(ALICE.object_id,),
        readers=(READER.upn,),
        auth_enabled=True,
    )
    return replace(base, **changes)


def make_runtime(service: TableServiceClient, connection: str, **changes: Any) -> Runtime:
    suffix = uuid.uuid4().hex[:12]
    return Runtime(
        settings(suffix, connection, **changes),
        table_service=service,
        summaries_table=f"summaries{suffix}",
    )


def hostile_rows(now: datetime) -> list[EventRecord]:
    return [
        row(now - timedelta(minutes=5 + i), "drift", signal_id=f"hostile-{i}", **HOSTILE)
        for i in range(3)
    ] + [
        row(
            now - timedelta(minutes=2),
            "drift",
            "https://evil.example/?q=" + SCRIPT,
            kind="nsg",
            rule="<b>bold</b>",
            severity="<i>high</i>",
            actor_upn="javascript:alert(9)",
            signal_id="hostile-url",
        ),
        row(  # lone surrogates (legal in JSON) and a severity that names page classes
            now - timedelta(minutes=1),
            "drift",
            "/subscriptions/x/nsg-\ud800",
            kind="nsg",
            rule="r-\udfff",
            severity="low tile wide",
            actor_upn="lone\ud83d",
            signal_id="hostile-surrogate",
        ),
    ]


def seed(rt: Runtime, now: datetime) -> list[EventRecord]:
    """Record the story of yesterday and today and the hostile drift, open the incidents,
    summarize both days."""
    start = datetime(now.year, now.month, now.day, tzinfo=UTC) - timedelta(days=1)
    records = [r for r in story(start) if r.time < now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")]
    records += hostile_rows(now)
    Ledger(rt.table(rt.settings.events_table)).record(records)
    incidents = Incidents(rt.table(rt.settings.incidents_table))
    for record in sorted(records, key=lambda r: r.time):
        if record.outcome in ("drift", "compliant", "error"):
            incidents.observe(record, alerting=False)
    rt.summarize([start.date(), now.date()])
    return records


def http(
    route: str, *, who: Principal | None = READER, params: Mapping[str, str] | None = None
) -> func.HttpRequest:
    headers = {"Host": "driftkeeper.example.net"}
    if who is not None:
        headers["X-MS-CLIENT-PRINCIPAL"] = principal_header(who)
    return func.HttpRequest(
        method="GET",
        url=f"https://driftkeeper.example.net/api/{route}",
        headers=headers,
        params=dict(params or {}),
        body=b"",
    )


__all__ = ["EVE", "HOSTILE", "HOSTILE_TEXTS", "READER", "http", "make_runtime", "seed"]
