"""Signals: what a trigger saw, parsed from Event Grid, CloudEvents and Entra audit records.

A signal is a trigger, never the truth: the pipeline re-reads the state it points at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Actor", "Signal", "SignalSource"]

SignalSource = Literal[
    "eventgrid", "cloudevents", "audit", "graph-notification", "reconcile", "rollback"
]


@dataclass(frozen=True)
class Actor:
    """Who made the change, as far as the event says (any part may be empty)."""

    upn: str = ""
    app_id: str = ""
    object_id: str = ""
    ip: str = ""

    def ids(self) -> frozenset[str]:
        """The app id and object id, case-folded, for matching against known identities."""
        return frozenset(i.casefold() for i in (self.app_id, self.object_id) if i)

    def display(self) -> str:
        return self.upn or self.app_id or self.object_id or "unknown"


@dataclass(frozen=True)
class Signal:
    """One change notification, normalized. ``id`` is the event or audit record id."""

    id: str
    source: SignalSource
    type: str
    """Event type (``Microsoft.Resources.ResourceWriteSuccess``) or audit activity."""
    time: str
    """When it happened, ISO 8601 UTC."""
    resource: str
    """ARM resource id, or the Graph object the record targets."""
    operation: str = ""
    """ARM operationName (``Microsoft.Network/networkSecurityGroups/securityRules/write``)
    or the audit activityDisplayName."""
    status: str = "succeeded"
    correlation_id: str = ""
    actor: Actor = field(default_factory=Actor)
    category: str = ""
    """Audit category (RoleManagement, Policy) or Graph change type."""
    targets: tuple[str, ...] = ()
    """What the signal touches, as ``type:id`` (``user:<id>``, ``policy:<id>``,
    ``roletemplate:<id>`` from an audit record's modified properties)."""

    def targets_of(self, *types: str) -> list[str]:
        """The ids of the targets of the given types."""
        return [t.partition(":")[2] for t in self.targets if t.partition(":")[0] in types]
