"""The compliance report of a period: built from the day summaries and the open incidents
alone (never from the events themselves). Pure: values in, a JSON-ready dict out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .._model import SEVERITIES
from ._aggregate import Tally
from ._incidents import OpenIncident
from ._summaries import DaySummary
from ._tags import Control, guard_rule

__all__ = ["Period", "Rules", "compliance_report"]

Rules = Sequence[tuple[str, str]]
"""The deployed baselines: (rule, kind) each."""


@dataclass(frozen=True)
class Period:
    first: date
    last: date


@dataclass
class _Figures:
    judged: int = 0
    compliant: int = 0
    drift: int = 0
    errors: int = 0
    tally: Tally = field(default_factory=Tally)
    rolled_back: Tally = field(default_factory=Tally)
    by_hand: Tally = field(default_factory=Tally)
    failed: int = 0
    accepted: int = 0

    def add(self, outcome: str, tally: Tally) -> None:
        self.tally.add(tally)
        if outcome in ("compliant", "drift"):
            self.judged += tally.count
        if outcome == "compliant":
            self.compliant += tally.count
            self.by_hand.restore_seconds += tally.restore_seconds
            self.by_hand.restore_count += tally.restore_count
        elif outcome == "drift":
            self.drift += tally.count
        elif outcome == "error":
            self.errors += tally.count
        elif outcome == "rolled-back":
            self.rolled_back.restore_seconds += tally.restore_seconds
            self.rolled_back.restore_count += tally.restore_count
        elif outcome == "rollback-failed":
            self.failed += tally.count
        elif outcome == "accepted":
            self.accepted += tally.count


def _mean(seconds: float, count: int) -> float | None:
    return round(seconds / count, 3) if count else None


def _severities(incidents: Iterable[OpenIncident]) -> dict[str, int]:
    counts: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
    for incident in incidents:
        if incident.severity in counts:
            counts[incident.severity] += 1
    return counts


def _status(incidents: Sequence[OpenIncident], figures: _Figures | None) -> str:
    if any(i.track == "drift" for i in incidents):
        return "drift"
    if incidents:
        return "error"
    return "compliant" if figures is not None and figures.judged else "unknown"


def _entry(incidents: Sequence[OpenIncident], figures: _Figures | None) -> dict[str, Any]:
    f = figures or _Figures()
    return {
        "status": _status(incidents, figures),
        "openIncidents": _severities(i for i in incidents if i.track == "drift"),
        "openReadErrors": sum(1 for i in incidents if i.track == "read-error"),
        "judged": f.judged,
        "compliant": f.compliant,
        "drift": f.drift,
        "errors": f.errors,
        "complianceShare": round(f.compliant / f.judged, 4) if f.judged else None,
        "mttdSeconds": _mean(f.tally.detect_seconds, f.tally.detect_count),
        "mttrSeconds": _mean(f.tally.restore_seconds, f.tally.restore_count),
        "mttrRolledBackSeconds": _mean(f.rolled_back.restore_seconds, f.rolled_back.restore_count),
        "mttrByHandSeconds": _mean(f.by_hand.restore_seconds, f.by_hand.restore_count),
        "restored": f.tally.restore_count,
        "rollbacks": {
            "approved": f.tally.approved,
            "rejected": f.tally.rejected,
            "automatic": f.tally.automatic,
            "failed": f.failed,
            "accepted": f.accepted,
        },
    }


def _day(summary: DaySummary) -> dict[str, Any]:
    f = summary.figures
    judged = f.compliant + f.drift
    day = summary.day
    return {
        "day": f"{day[:4]}-{day[4:6]}-{day[6:]}",
        "events": f.events,
        "judged": judged,
        "compliant": f.compliant,
        "drift": f.drift,
        "errors": f.errors,
        "complianceShare": round(f.compliant / judged, 4) if judged else None,
        "mttdSeconds": _mean(f.detect_seconds, f.detect_count),
        "mttrSeconds": _mean(
            f.restored_by_rollback_seconds + f.restored_by_hand_seconds,
            f.restored_by_rollback + f.restored_by_hand,
        ),
        "rollbacks": {
            "approved": f.approved,
            "rejected": f.rejected,
            "automatic": f.automatic,
            "failed": f.failed,
            "accepted": f.accepted,
        },
    }


def compliance_report(
    period: Period,
    summaries: Sequence[DaySummary],
    incidents: Sequence[OpenIncident],
    controls: Sequence[Control],
    rules: Rules = (),
) -> dict[str, Any]:
    """Per control (baseline or guard), per kind and per responsibility: the current status
    (open incidents), open incidents by severity, MTTD, MTTR and rollbacks over ``period``."""
    by_rule: dict[str, _Figures] = {}
    by_kind: dict[str, _Figures] = {}
    rule_kind: dict[str, str] = dict(rules)
    total = _Figures()
    for summary in summaries:
        for (kind, rule, outcome, _severity), tally in summary.tallies.items():
            total.add(outcome, tally)
            if rule:
                by_rule.setdefault(rule, _Figures()).add(outcome, tally)
                rule_kind.setdefault(rule, kind)
            if kind:
                by_kind.setdefault(kind, _Figures()).add(outcome, tally)
    kinds = {c.name: c for c in controls if c.type == "kind"}
    guards = {guard_rule(c.name): c for c in controls if c.type == "guard"}
    for rule, guard in guards.items():
        rule_kind.setdefault(rule, guard.kind)
    for incident in incidents:
        rule_kind.setdefault(incident.rule, incident.kind)

    def open_of(pred: Any) -> list[OpenIncident]:
        return [i for i in incidents if pred(i)]

    control_rows = []
    for rule in sorted(rule_kind):
        kind = rule_kind[rule]
        tags = guards.get(rule) or kinds.get(kind)
        control_rows.append(
            {
                "control": rule,
                "type": "guard" if rule in guards else "baseline",
                "kind": kind,
                "responsibility": tags.responsibility if tags else "unassigned",
                "layer": tags.layer if tags else "unassigned",
                **_entry(open_of(lambda i, r=rule: i.rule == r), by_rule.get(rule)),
            }
        )
    kind_rows = []
    for name in sorted(set(kinds) | set(by_kind) | {i.kind for i in incidents if i.kind}):
        tags = kinds.get(name)
        kind_rows.append(
            {
                "kind": name,
                "title": tags.title if tags else name,
                "responsibility": tags.responsibility if tags else "unassigned",
                "layer": tags.layer if tags else "unassigned",
                **_entry(open_of(lambda i, k=name: i.kind == k), by_kind.get(name)),
            }
        )
    status_of_control = {row["control"]: row["status"] for row in control_rows}
    status_of_kind = {row["kind"]: row["status"] for row in kind_rows}
    groups: dict[str, dict[str, list[dict[str, str]]]] = {}
    for control in controls:
        status = (
            status_of_kind.get(control.name, "unknown")
            if control.type == "kind"
            else status_of_control.get(guard_rule(control.name), "unknown")
        )
        groups.setdefault(control.responsibility, {}).setdefault(control.layer, []).append(
            {"type": control.type, "name": control.name, "title": control.title, "status": status}
        )
    return {
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "summary": {
            "daysSummarized": len(summaries),
            **_entry(incidents, total if total.judged else None),
        },
        "days": [_day(s) for s in summaries],
        "controls": control_rows,
        "kinds": kind_rows,
        "responsibilities": [
            {
                "responsibility": name,
                "layers": [{"layer": layer, "items": items} for layer, items in layers.items()],
            }
            for name, layers in groups.items()
        ],
    }
