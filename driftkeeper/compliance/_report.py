"""The compliance report of a period: built from the day summaries and the open incidents
alone (never from the events themselves). Pure: values in, a JSON-ready dict out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from .._model import SEVERITIES
from ._aggregate import RuleFigures
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


def _mean(seconds: float, count: int) -> float | None:
    return round(seconds / count, 3) if count else None


UNKNOWN_SEVERITY = "unknown"
"""Where an open incident whose stored severity is none of :data:`SEVERITIES` is counted."""


def _severities(incidents: Iterable[OpenIncident]) -> dict[str, int]:
    counts: dict[str, int] = dict.fromkeys((*SEVERITIES, UNKNOWN_SEVERITY), 0)
    for incident in incidents:
        severity = incident.severity if incident.severity in SEVERITIES else UNKNOWN_SEVERITY
        counts[severity] += 1
    return counts


def _status(incidents: Sequence[OpenIncident], figures: RuleFigures | None) -> str:
    if any(i.track == "drift" for i in incidents):
        return "drift"
    if incidents:
        return "error"
    return "compliant" if figures is not None and figures.judged else "unknown"


def _entry(incidents: Sequence[OpenIncident], figures: RuleFigures | None) -> dict[str, Any]:
    f = figures or RuleFigures()
    return {
        "status": _status(incidents, figures),
        "openIncidents": _severities(i for i in incidents if i.track == "drift"),
        "openReadErrors": sum(1 for i in incidents if i.track == "read-error"),
        "judged": f.judged,
        "compliant": f.compliant,
        "drift": f.drift,
        "errors": f.errors,
        "complianceShare": round(f.compliant / f.judged, 4) if f.judged else None,
        "mttdSeconds": _mean(f.detect_seconds, f.detect_count),
        "mttrSeconds": _mean(f.rolled_back_seconds + f.by_hand_seconds, f.rolled_back + f.by_hand),
        "mttrRolledBackSeconds": _mean(f.rolled_back_seconds, f.rolled_back),
        "mttrByHandSeconds": _mean(f.by_hand_seconds, f.by_hand),
        "restored": f.rolled_back + f.by_hand,
        "rollbacks": {
            "approved": f.approved,
            "rejected": f.rejected,
            "automatic": f.automatic,
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
        "skipped": f.skipped,
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
    by_rule: dict[str, RuleFigures] = {}
    by_kind: dict[str, RuleFigures] = {}
    rule_kind: dict[str, str] = dict(rules)
    total = RuleFigures()
    sums: dict[tuple[str, str], list[Any]] = {}
    for summary in summaries:
        for key, values in summary.rules.items():
            acc = sums.get(key)
            if acc is None:
                sums[key] = list(values)
            else:
                sums[key] = [a + b for a, b in zip(acc, values, strict=True)]
    for (kind, rule), values in sums.items():
        figures = RuleFigures.from_list(values)
        total.add(figures)
        if rule:
            by_rule.setdefault(rule, RuleFigures()).add(figures)
            rule_kind.setdefault(rule, kind)
        if kind:
            by_kind.setdefault(kind, RuleFigures()).add(figures)
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
