"""Event rows for the compliance tests: a small story per (resource, rule)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from driftkeeper._model import EventRecord

NSG = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/web"
CA = "/identity/conditionalAccess/policies/ca-1"
ROLE = "/roleManagement/directory/roleDefinitions/62e90394"


def row(when: datetime, outcome: str, resource: str = NSG, **fields: Any) -> EventRecord:
    """One event row at ``when``."""
    fields.setdefault("kind", "nsg")
    fields.setdefault("rule", "nsg-web")
    fields.setdefault("severity", "high")
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return EventRecord(
        signal_id=fields.pop("signal_id", f"{outcome}:{resource}:{stamp}:{fields['rule']}"),
        time=stamp,
        source=fields.pop("source", "eventgrid"),
        event_type="Microsoft.Resources.ResourceWriteSuccess",
        outcome=outcome,  # type: ignore[arg-type]
        resource=resource,
        setting=resource.lower(),
        **fields,
    )


def story(day: datetime) -> list[EventRecord]:
    """Two days of events starting at midnight of ``day``: restores by hand and by rollback
    (approved and automatic), a rejected and a failed rollback, an accepted drift, a read
    error, and a drift that opens on the first day and is restored on the second."""
    h = timedelta(hours=1)
    m = timedelta(minutes=1)
    ca = {"kind": "conditional-access-policy", "rule": "ca-mfa", "severity": "critical"}
    role = {"kind": "directory-role", "rule": "guard:global-admin-count", "severity": "medium"}
    return [
        row(day + 1 * h, "compliant"),
        row(day + 10 * h, "drift", actor_upn="mallory@contoso.example"),
        row(day + 10 * h + 5 * m, "drift", signal_id="again"),  # same incident, still open
        row(day + 10 * h + 30 * m, "compliant"),  # by hand: 30 min
        row(day + 11 * h, "drift", CA, **ca),
        row(
            day + 11 * h + 2 * m,
            "rollback-skipped",
            CA,
            message="rollback rejected by bob@x: nothing written",
            actor_upn="bob@x",
            **ca,
        ),
        row(
            day + 11 * h + 4 * m,
            "rollback-failed",
            CA,
            message="rollback-failed: 403",
            actor_upn="approved by alice@x",
            **ca,
        ),
        row(
            day + 11 * h + 5 * m,
            "rolled-back",
            CA,
            message="rolled-back: ok",
            actor_upn="approved by alice@x",
            **ca,
        ),  # rolled back: 5 min
        row(day + 12 * h, "drift", ROLE, **role),
        row(
            day + 12 * h + 1 * m,
            "rolled-back",
            ROLE,
            actor_upn="automatic (response: auto)",
            **role,
        ),  # rolled back: 1 min
        row(day + 13 * h, "drift", ROLE, **{**role, "rule": "dr-admins"}),
        row(
            day + 13 * h + 3 * m,
            "accepted",
            ROLE,
            actor_upn="carol@x",
            **{**role, "rule": "dr-admins"},
        ),
        row(day + 14 * h, "error", CA, **ca),
        row(day + 15 * h, "ignored", CA, **ca),
        row(day + 23 * h, "drift"),  # open at the end of the first day
        row(day + 24 * h + 2 * h, "compliant"),  # restored on the second day by hand: 3 h
        row(day + 24 * h + 3 * h, "compliant", CA, **ca),
        row(day + 24 * h + 4 * h, "drift", CA, **ca),  # open at the end
    ]
