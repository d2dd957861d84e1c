"""The plan of a rollback, as data: the exact requests that restore one drifted setting.

A kind says how its drift is undone (:meth:`driftkeeper.kinds.Kind.plan`): from a
:class:`Drift` (the finding, its baseline, the live setting and the snapshot it came from) it
returns the mutating requests (:class:`Step`) or why it cannot (:class:`CannotPlan`).
:func:`driftkeeper.rollback.make_plans` turns those into :class:`Plan` values, and what is not
planned into :class:`NotPlanned` values. Everything here is pure: nothing is sent.

New ids (a role assignment's name) come from :meth:`Drift.new_guid`: by default a UUID 5 of
the drift's identity (kind, baseline scope, item), so the same drift always gets the same
id and a retried PUT is idempotent. A factory may be injected; whatever it returns, the
plan's hash is computed with each generated id replaced by its identity, so the hash (which
approval tokens are bound to) never depends on it.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .._diff import canonical_json
from .._model import Finding
from ..snapshot import Snapshot

if TYPE_CHECKING:
    from ..baseline import Baseline
    from ..kinds import Setting

__all__ = [
    "ARM_ENDPOINT",
    "GRAPH_ENDPOINT",
    "GUID_NAMESPACE",
    "CannotPlan",
    "Drift",
    "Endpoints",
    "Method",
    "NotPlanned",
    "Plan",
    "Step",
    "Write",
    "plan_hash",
]

ARM_ENDPOINT = "https://management.azure.com"
GRAPH_ENDPOINT = "https://graph.microsoft.com/v1.0"
GUID_NAMESPACE = uuid.UUID("5d0a7a2e-6b1f-4d0c-9a55-2f1b7e0c8d11")
"""The UUID 5 namespace of the ids plans generate (fixed: changing it changes plan ids)."""

Method = Literal["PUT", "PATCH", "POST", "DELETE"]


@dataclass(frozen=True)
class Endpoints:
    """Where requests go: ARM and Graph v1.0 roots (a local stand-in in the tests; the
    Function App's ``DRIFTKEEPER_ARM_ENDPOINT`` / ``DRIFTKEEPER_GRAPH_ENDPOINT``)."""

    arm: str = ARM_ENDPOINT
    graph: str = GRAPH_ENDPOINT

    def arm_url(self, path: str, api_version: str) -> str:
        """An absolute ARM URL; ``path`` is already validated and encoded."""
        return f"{self.arm.rstrip('/')}{path}?api-version={api_version}"

    def graph_url(self, path: str) -> str:
        """An absolute Graph v1.0 URL; ``path`` is already validated and encoded."""
        return f"{self.graph.rstrip('/')}{path}"


@dataclass(frozen=True)
class Step:
    """One mutating request, and the permission it needs (an ARM action or a Graph
    application permission)."""

    method: Method
    url: str
    body: Mapping[str, Any] | None
    permission: str
    note: str = ""
    """Something the person approving should know (a recreated policy gets a new id)."""

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "url": self.url, "body": self.body}


@dataclass(frozen=True)
class Write:
    """A kind of mutating request a kind's plan may send, declared as data (``Kind.writes``):
    the service, method and path, the permission it needs and what it is for. The
    permission tables (:mod:`driftkeeper.permissions`, ``docs/permissions.md``, the Graph
    grants of ``driftkeeper setup graph-permissions``, the rollback role's actions) are
    derived from these declarations, and :func:`~driftkeeper.rollback.make_plans` refuses a
    step whose permission its kind did not declare."""

    api: Literal["arm", "graph"]
    method: Method
    path: str
    """The path, for people (``{placeholders}`` for what varies)."""
    permission: str
    """An ARM action (``Microsoft.Network/.../write``) or a Graph application permission."""
    purpose: str
    """The step of the rollback it is (``recreate a removed rule``)."""

    def step(self, url: str, body: Mapping[str, Any] | None, note: str = "") -> Step:
        """The step sending this write to ``url`` with ``body``."""
        return Step(self.method, url, body, self.permission, note)


@dataclass(frozen=True)
class CannotPlan:
    """A kind's answer when the drift cannot be undone by requests: why not."""

    reason: str


@dataclass(frozen=True)
class Plan:
    """The requests that restore one drifted setting to its baseline, in order."""

    kind: str
    resource: str
    baseline: str
    """The baseline's name (the finding's rule)."""
    steps: tuple[Step, ...]
    permissions: tuple[str, ...]
    """What the steps need, sorted, each once."""
    plan_hash: str
    """sha256 of the canonical JSON of the drift (kind, resource, rule, changes) and the steps
    (generated ids replaced by their identity): what an approval is bound to. The same drift
    gives the same hash run to run; another drift, or other requests, another hash."""
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "resource": self.resource,
            "baseline": self.baseline,
            "steps": [s.to_dict() for s in self.steps],
            "permissions": list(self.permissions),
            "planHash": self.plan_hash,
        }
        if self.notes:
            out["notes"] = list(self.notes)
        return out


@dataclass(frozen=True)
class NotPlanned:
    """A drift or error finding no plan is made for, and why."""

    kind: str
    resource: str
    rule: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "resource": self.resource,
            "rule": self.rule,
            "reason": self.reason,
        }


def default_guid(identity: str) -> str:
    """The id of a new object: a UUID 5 of the drift's ``identity`` (stable run to run)."""
    return str(uuid.uuid5(GUID_NAMESPACE, identity))


@dataclass(frozen=True)
class Drift:
    """What a kind plans from: a drift finding, its baseline, the live setting (None when it
    no longer exists) and the snapshot it was read from."""

    finding: Finding
    baseline: Baseline
    live: Setting | None
    snapshot: Snapshot
    endpoints: Endpoints = Endpoints()
    guid_factory: Callable[[str], str] = default_guid
    issued: dict[str, str] = field(default_factory=dict, compare=False)
    """The ids handed out, each with its identity (for :func:`plan_hash`)."""

    def new_guid(self, identity: str) -> str:
        """A new object's id for the item ``identity`` of this drift."""
        full = f"{self.finding.kind}|{self.baseline.key}|{identity}"
        value = str(uuid.UUID(self.guid_factory(full)))
        self.issued[value] = full
        return value


def plan_hash(finding: Finding, steps: Sequence[Step], issued: Mapping[str, str]) -> str:
    """The stable hash of a plan (see :attr:`Plan.plan_hash`): the drift it undoes (kind,
    resource, rule and changes) and its steps, generated ids replaced by their identity."""
    text = canonical_json(
        {
            "kind": finding.kind,
            "resource": finding.resource,
            "rule": finding.rule,
            "drift": [c.to_dict() for c in finding.changes],
            "steps": [s.to_dict() for s in steps],
        }
    )
    for value, identity in sorted(issued.items()):
        text = text.replace(value, f"<new id: {identity}>")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
