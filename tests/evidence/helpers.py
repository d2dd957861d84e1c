"""Rows for the evidence tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime

from azure.data.tables import TableClient

from driftkeeper._model import Change, EventRecord
from driftkeeper.store import Ledger

TODAY = date(2026, 11, 22)
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def record(
    signal: str,
    time: str,
    outcome: str = "drift",
    *,
    kind: str = "nsg",
    resource: str = "/subscriptions/x/nsg-web",
    rule: str = "r",
    message: str = "",
    actor: str = "eve@contoso.com",
    ip: str = "203.0.113.7",
    source: str = "eventgrid",
) -> EventRecord:
    return EventRecord(
        signal, time, source, "Microsoft.Resources.ResourceWriteSuccess", outcome,  # type: ignore[arg-type]
        resource=resource, setting=resource.lower(), kind=kind, rule=rule, severity="high",
        message=message or f"message {signal}", actor_upn=actor, actor_ip=ip,
        changes=(Change("rules[x]", None, {"access": "Allow"}),),
    )  # fmt: skip


def ledger_table(
    make_table: Callable[..., TableClient], rows: Iterable[EventRecord]
) -> TableClient:
    """A fresh events table on Azurite holding ``rows``, written through the real Ledger."""
    client = make_table()
    Ledger(client).record(list(rows))
    return client
