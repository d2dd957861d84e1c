"""Builders for approval tests: principals, headers, plans and requests."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from driftkeeper.rollback._approval import ApprovalRequest, plan_hash
from driftkeeper.rollback._principal import Principal

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
NSG = (
    "/subscriptions/0b0e5a5c-0000-4000-8000-000000000001/resourceGroups/rg-web"
    "/providers/Microsoft.Network/networkSecurityGroups/nsg-web"
)
RULE = "nsg-web-prod"
ALICE = Principal("a11ce000-0000-4000-8000-000000000001", "alice@contoso.example", "Alice")
BOB = Principal("b0b00000-0000-4000-8000-000000000002", "bob@contoso.example", "Bob")
CAROL = Principal("ca201000-0000-4000-8000-000000000003", "carol@contoso.example", "Carol")
MALLORY = Principal("3a110000-0000-4000-8000-000000000004", "mallory@contoso.example", "Mallory")
"""Made the drift."""
EVE = Principal("e7e00000-0000-4000-8000-000000000005", "eve@contoso.example", "Eve")
"""Signed in, not an approver."""
APPROVERS = (ALICE.object_id, BOB.upn, CAROL.object_id, MALLORY.object_id)


def plan(port: int = 3389, **extra: Any) -> dict[str, Any]:
    rule_url = f"https://management.azure.com{NSG}/securityRules/allow-rdp?api-version=2023-09-01"
    return {
        "kind": "nsg",
        "resource": NSG,
        "baseline": "baselines/nsg/web.yaml",
        "steps": [{"method": "DELETE", "url": rule_url, "body": None, "before": {"port": port}}],
        "permissions": ["Microsoft.Network/networkSecurityGroups/securityRules/delete"],
        **extra,
    }


def request(**changes: Any) -> ApprovalRequest:
    doc = changes.pop("plan", None) or plan()
    base = ApprovalRequest(
        resource=NSG,
        rule=RULE,
        generation=1,
        kind="nsg",
        baseline="baselines/nsg/web.yaml",
        plan=doc,
        plan_hash=plan_hash(doc),
        token_hash="",
        created_at=NOW,
        expires_at=NOW + timedelta(hours=1),
        required=1,
        drift_actor_ids=(MALLORY.object_id, MALLORY.upn),
        drift_actor=MALLORY.upn,
        drift_time="2026-11-30T11:58:00Z",
    )
    return replace(base, **changes)


def principal_header(principal: Principal | None = None, **claims: str) -> str:
    p = principal or ALICE
    values = {"oid": p.object_id, "preferred_username": p.upn, "name": p.name, **claims}
    doc = {
        "auth_typ": "aad",
        "name_typ": "name",
        "role_typ": "roles",
        "claims": [{"typ": k, "val": v} for k, v in values.items() if v],
    }
    return base64.b64encode(json.dumps(doc).encode()).decode()
