"""Builders for the store tests."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from azure.data.tables import TableClient

from driftkeeper._model import Change, EventRecord

NSG = (
    "/subscriptions/0000/resourceGroups/rg-web"
    "/providers/Microsoft.Network/networkSecurityGroups/nsg-web"
)

MakeTable = Callable[..., TableClient]


def event(time: str = "2026-07-01T12:00:00Z", **fields: Any) -> EventRecord:
    """An event record with sensible defaults and a fresh signal id."""
    base = EventRecord(
        signal_id=str(uuid.uuid4()),
        time=time,
        source="eventgrid",
        event_type="Microsoft.Resources.ResourceWriteSuccess",
        outcome="drift",
        resource=NSG,
        setting=NSG.lower(),
        kind="nsg",
        rule="nsg-web-prod",
        severity="high",
        message="NSG nsg-web: rule 'allow-rdp' added",
        operation="Microsoft.Network/networkSecurityGroups/securityRules/write",
        correlation_id=str(uuid.uuid4()),
        actor_upn="alice@contoso.example",
        actor_app_id="",
        actor_object_id=str(uuid.uuid4()),
        actor_ip="203.0.113.7",
        changes=(Change("rules[allow-rdp]", None, {"access": "Allow", "port": 3389}),),
    )
    return replace(base, **fields)


def row_count(table: TableClient) -> int:
    return sum(1 for _ in table.list_entities(select=["RowKey"]))
