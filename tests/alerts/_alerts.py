"""Alerts for the tests: a realistic NSG drift, and a recorder standing in for ``time.sleep``."""

from __future__ import annotations

import dataclasses
from typing import Any

from driftkeeper._model import Change, Finding
from driftkeeper.alerts import Alert
from driftkeeper.signals import Actor, Signal

NSG_ID = (
    "/subscriptions/6f1c2a3b-4d5e-4f60-8a91-b2c3d4e5f607/resourceGroups/rg-web-prod"
    "/providers/Microsoft.Network/networkSecurityGroups/nsg-web-prod"
)
PORTAL_URL = "https://portal.azure.com/#@/resource" + NSG_ID
SIGNAL_ID = "4f8c1a2e-0b6d-4c3e-9a7f-5d2e1b0c9a8f"

FINDING = Finding(
    kind="nsg",
    resource=NSG_ID,
    status="drift",
    rule="6f1c2a3b-rg-web-prod-nsg-web-prod",
    severity="high",
    message="NSG nsg-web-prod: rule 'allow-rdp-temp' added: Allow Tcp 3389 from Internet",
    changes=(
        Change("rules[allow-rdp-temp]", None, {"access": "Allow", "destinationPortRange": "3389"}),
        Change("rules[allow-https].sourceAddressPrefix", "10.0.0.0/8", "*"),
    ),
)
SIGNAL = Signal(
    id=SIGNAL_ID,
    source="eventgrid",
    type="Microsoft.Resources.ResourceWriteSuccess",
    time="2026-03-02T10:15:00+00:00",
    resource=NSG_ID + "/securityRules/allow-rdp-temp",
    operation="Microsoft.Network/networkSecurityGroups/securityRules/write",
    correlation_id="c0rre1at-1on0-0000-0000-000000000001",
    actor=Actor(
        upn="mallory@contoso.example",
        app_id="",
        object_id="11111111-2222-3333-4444-555555555555",
        ip="203.0.113.7",
    ),
)


def make_alert(**overrides: Any) -> Alert:
    alert = Alert.from_finding(
        FINDING, SIGNAL, owners=("netops@contoso.example",), response="approve"
    )
    return dataclasses.replace(alert, **overrides)


class Sleeps(list[float]):
    """Records the delays asked for instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def facts(card: dict[str, Any]) -> dict[str, str]:
    """Every fact shown: the FactSet's, and the long ids given a wrapping line each."""
    (fact_set,) = [b for b in card["body"] if b["type"] == "FactSet"]
    shown = {f["title"]: f["value"] for f in fact_set["facts"]}
    for block in card["body"]:
        if str(block.get("id", "")).startswith("fact:"):
            shown[block["id"][5:]] = block["text"].split(": ", 1)[1]
    return shown
