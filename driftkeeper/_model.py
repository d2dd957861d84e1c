"""Frozen values passed between the engine's stages: changes, findings, scan reports."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

__all__ = [
    "RESPONSES",
    "SEVERITIES",
    "SEVERITY_RANK",
    "Change",
    "EventRecord",
    "Finding",
    "Outcome",
    "Response",
    "ScanReport",
    "Severity",
    "Status",
]

Severity = Literal["low", "medium", "high", "critical"]
Response = Literal["alert", "approve", "auto"]
Status = Literal["drift", "compliant", "error"]
Outcome = Literal[
    "compliant",
    "drift",
    "ignored",
    "self",
    "invalid",
    "error",
    "unbaselined",
    "rolled-back",
    "rollback-failed",
    "rollback-skipped",
    "accepted",
]
"""What became of one (signal, setting) in the event table (``unbaselined``: a watched setting
changed that no baseline covers; it opens no incident; ``rolled-back``, ``rollback-failed``,
``rollback-skipped``: one attempt to restore a setting's baseline; ``accepted``: a person
accepted the drift as intended)."""

SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")
RESPONSES: tuple[Response, ...] = ("alert", "approve", "auto")
SEVERITY_RANK: Mapping[str, int] = MappingProxyType({s: i for i, s in enumerate(SEVERITIES)})
"""The order of severities: low 0 .. critical 3 (the one definition of it)."""


@dataclass(frozen=True)
class Change:
    """One field that differs: ``expected`` is the baseline's value, ``actual`` the live one.

    ``None`` on one side means "absent" there: an item added (expected None) or removed
    (actual None).
    """

    path: str
    expected: Any
    actual: Any

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "expected": self.expected, "actual": self.actual}


@dataclass(frozen=True)
class Finding:
    """The outcome of judging one setting against one baseline or guard."""

    kind: str
    resource: str
    status: Status
    rule: str
    severity: Severity
    message: str
    changes: tuple[Change, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "resource": self.resource,
            "status": self.status,
            "rule": self.rule,
            "severity": self.severity,
            "changes": [c.to_dict() for c in self.changes],
            "message": self.message,
        }


@dataclass(frozen=True)
class ScanReport:
    """Everything a scan found: drift and error findings, compliant count, notices."""

    findings: tuple[Finding, ...]
    compliant: int
    skipped: tuple[str, ...] = ()
    unbaselined: tuple[str, ...] = field(default=())

    @classmethod
    def build(
        cls, outcomes: Iterable[Finding], skipped: Iterable[str], unbaselined: Iterable[str]
    ) -> ScanReport:
        findings: list[Finding] = []
        compliant = 0
        for outcome in outcomes:
            if outcome.status == "compliant":
                compliant += 1
            else:
                findings.append(outcome)
        findings.sort(
            key=lambda f: (f.status != "error", -SEVERITY_RANK[f.severity], f.kind, f.resource)
        )
        return cls(tuple(findings), compliant, tuple(skipped), tuple(sorted(unbaselined)))

    @property
    def drift(self) -> int:
        return sum(1 for f in self.findings if f.status == "drift")

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.status == "error")

    @property
    def exit_code(self) -> int:
        """0: no drift; 1: drift; 2: a setting could not be judged (a failed read)."""
        if self.errors:
            return 2
        return 1 if self.drift else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": {
                "drift": self.drift,
                "compliant": self.compliant,
                "errors": self.errors,
                "skipped": list(self.skipped),
                "unbaselined": list(self.unbaselined),
            },
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass(frozen=True)
class EventRecord:
    """One row of the event table: what one signal meant for one setting.

    ``setting`` is the comparison key of the setting (the baseline's scope key, or the
    guard's resource), so the same signal judged twice gives the same row.
    """

    signal_id: str
    time: str
    """When the change happened (the event's time), ISO 8601 UTC."""
    source: str
    event_type: str
    outcome: Outcome
    resource: str = ""
    setting: str = ""
    kind: str = ""
    rule: str = ""
    severity: str = ""
    message: str = ""
    operation: str = ""
    correlation_id: str = ""
    actor_upn: str = ""
    actor_app_id: str = ""
    actor_object_id: str = ""
    actor_ip: str = ""
    changes: tuple[Change, ...] = ()
    observed: str = field(default="", compare=False)
    """When driftkeeper read the state it judged (ISO 8601 UTC; empty: the event's time).
    Incidents order judgements by it, not by the event's own time: the sender's clock may
    be skewed, and two judgements of one setting apply in the order their reads were made.
    Not a column of the event table."""
