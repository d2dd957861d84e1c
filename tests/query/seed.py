"""Seeded event records for the query tests: many days, kinds, outcomes, actors, hostile
text and a few events large enough for continuation rows; and the expected answers, by a
pure Python filter over the records."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from azure.data.tables import TableClient, TableServiceClient

from driftkeeper._model import Change, EventRecord
from driftkeeper.query import EventQuery
from driftkeeper.store import Ledger, record_keys
from driftkeeper.store._keys import event_time

T0 = datetime(2026, 7, 1, tzinfo=UTC)
DAYS = 9
KINDS = ("nsg", "role-assignments", "directory-role", "conditional-access-policy")
OUTCOMES = ("drift", "compliant", "error", "accepted", "rolled-back")
SEVERITIES = ("low", "medium", "high", "critical")
HOSTILE = (
    "' or 1 eq 1",
    "x' or RowKey ne '",
    "(Kind eq 'nsg')",
    "résumé/ü-名前 😀",
    "a and b or c",
    "@kind",
    '=HYPERLINK("http://evil.example")',
)
RESOURCES = (
    "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/web",
    "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/db",
    "/roles/Global Administrator's",
    *HOSTILE,
)
UPNS = ("alice@contoso.example", "bob@contoso.example", "' or 1 eq 1", "josé@contoso.example")
OBJECT_IDS = ("a11ce000-0000-4000-8000-000000000001", "b0b00000-0000-4000-8000-000000000002")
APP_IDS = ("", "c0ffee00-0000-4000-8000-0000000000aa")
RULES = ("nsg-web-prod", "ca-mfa-admins", "role-counts", "", "baseline (prod)")
MESSAGES = ("changed", "=1+1", "+cmd|' /C calc'!A0", "-2", "@SUM(A1)", "\tTab", "line\r\nbreak")
_LARGE = ("x" * 1_200_000, "y" * 2_500_000, "ü" * 150_000 + "z" * 900_000)
LARGE = len(_LARGE)
"""Events whose diff is larger than one entity: they spill into continuation rows."""


def records(count: int, *, seed: int = 7) -> list[EventRecord]:
    """``count`` distinct records spread over :data:`DAYS` days from :data:`T0`."""
    rng = random.Random(seed)
    span = DAYS * 86_400 * 1_000_000
    out = []
    for i in range(count):
        moment = T0 + timedelta(microseconds=rng.randrange(span))
        changes = (
            (Change("rules", None, {"blob": _LARGE[i]}),)
            if i < LARGE
            else (Change(f"rules[{i}]", None, {"port": i % 65536}),)
        )
        out.append(
            EventRecord(
                signal_id=f"sig-{i:05d}",
                time=moment.isoformat().replace("+00:00", "Z"),
                source="eventgrid",
                event_type="Microsoft.Resources.ResourceWriteSuccess",
                outcome=rng.choice(OUTCOMES),  # type: ignore[arg-type]
                resource=rng.choice(RESOURCES),
                setting=f"setting-{i % 17}",
                kind=rng.choice(KINDS),
                rule=rng.choice(RULES),
                severity=rng.choice(SEVERITIES),  # type: ignore[arg-type]
                message=rng.choice(MESSAGES),
                operation="write",
                correlation_id=f"corr-{i}",
                actor_upn=rng.choice(UPNS),
                actor_app_id=rng.choice(APP_IDS),
                actor_object_id=rng.choice(OBJECT_IDS),
                actor_ip="203.0.113.7",
                changes=changes,
            )
        )
    return out


def seed_table(service: TableServiceClient, name: str, recs: Sequence[EventRecord]) -> TableClient:
    service.create_table(name)
    table = service.get_table_client(name)
    Ledger(table).record(recs)
    return table


def matches(record: EventRecord, query: EventQuery) -> bool:
    moment = event_time(record.time)
    actor = query.actor
    return (
        query.since <= moment < query.until
        and query.kind in (None, record.kind)
        and query.outcome in (None, record.outcome)
        and query.severity in (None, record.severity)
        and query.resource in (None, record.resource)
        and query.baseline in (None, record.rule)
        and (
            actor is None
            or actor in (record.actor_upn, record.actor_object_id, record.actor_app_id)
        )
    )


def expected(recs: Sequence[EventRecord], query: EventQuery) -> list[str]:
    """The signal ids ``query`` must answer, in table order."""
    chosen = sorted((record_keys(r), r.signal_id) for r in recs if matches(r, query))
    return [signal for _, signal in chosen]


def as_row(record: EventRecord) -> dict[str, object]:
    """What the API answers for ``record`` (without the keys and eventTime)."""
    return {
        "signalId": record.signal_id,
        "time": record.time,
        "source": record.source,
        "eventType": record.event_type,
        "outcome": record.outcome,
        "resource": record.resource,
        "setting": record.setting,
        "kind": record.kind,
        "rule": record.rule,
        "severity": record.severity,
        "operation": record.operation,
        "correlationId": record.correlation_id,
        "actorUpn": record.actor_upn,
        "actorAppId": record.actor_app_id,
        "actorObjectId": record.actor_object_id,
        "actorIp": record.actor_ip,
        "message": record.message,
        "changes": json.loads(json.dumps([c.to_dict() for c in record.changes])),
    }


Reader = Callable[..., object]
