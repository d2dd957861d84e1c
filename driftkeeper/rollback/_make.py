"""From findings to plans: each drift goes to its kind's planner (pure, offline)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from .._errors import InputError, PluginError
from .._model import Finding
from ..snapshot import Snapshot
from ._plan import CannotPlan, Drift, Endpoints, NotPlanned, Plan, default_guid, plan_hash

if TYPE_CHECKING:
    from ..baseline import Baseline, BaselineSet
    from ..engine import GuardMode

__all__ = ["DEFAULT_ENDPOINTS", "GUARD_REASON", "make_plans", "plan_scan"]

DEFAULT_ENDPOINTS = Endpoints()
"""Public Azure: ``https://management.azure.com`` and ``https://graph.microsoft.com/v1.0``."""

GUARD_REASON = (
    "a guard finding has no target state (only a baseline says what to restore): "
    "fix it by hand or give the setting a baseline"
)


def plan_scan(
    state: Snapshot,
    baselines: BaselineSet,
    *,
    guards: GuardMode = "default",
    endpoints: Endpoints = DEFAULT_ENDPOINTS,
    new_guid: Callable[[str], str] | None = None,
) -> tuple[list[Plan], list[NotPlanned]]:
    """Scan ``state`` against ``baselines`` and plan every drift found (a dry run)."""
    from ..engine import scan

    report = scan(state, baselines, guards=guards)
    return make_plans(report.findings, baselines, state, endpoints=endpoints, new_guid=new_guid)


def make_plans(
    findings: Iterable[Finding],
    baselines: BaselineSet,
    state: Snapshot,
    *,
    endpoints: Endpoints = DEFAULT_ENDPOINTS,
    new_guid: Callable[[str], str] | None = None,
) -> tuple[list[Plan], list[NotPlanned]]:
    """The plan of every drift finding of ``state``, and the findings not planned (guards,
    errors, kinds without a rollback, drift a kind cannot undo), each with the reason.

    Compliant findings are left out. ``new_guid`` makes the ids of new objects (default: a
    UUID 5 of the drift's identity; see :mod:`driftkeeper.rollback._plan`).
    """
    from .._state import StateView
    from ..kinds import all_kinds

    view = StateView(state)
    kinds = all_kinds()
    plans: list[Plan] = []
    skipped: list[NotPlanned] = []

    def skip(finding: Finding, reason: str) -> None:
        skipped.append(NotPlanned(finding.kind, finding.resource, finding.rule, reason))

    for finding in findings:
        if finding.status == "compliant":
            continue
        if finding.rule.startswith("guard:"):
            skip(finding, GUARD_REASON)
            continue
        if finding.status == "error":
            skip(finding, f"the setting could not be judged: {finding.message}")
            continue
        kind = kinds.get(finding.kind)
        if kind is None:
            skip(finding, f"kind {finding.kind} is not known")
            continue
        baseline = _baseline_of(finding, baselines)
        if baseline is None:
            skip(finding, f"no baseline {finding.rule!r} of kind {finding.kind} at this scope")
            continue
        drift = Drift(
            finding,
            baseline,
            kind.actual(view.index(kind.name), baseline.key),
            state,
            endpoints,
            new_guid or default_guid,
        )
        try:
            outcome = kind.plan(drift)
        except InputError as exc:  # a name or id from live state that may not reach a URL
            outcome = CannotPlan(str(exc))
        if isinstance(outcome, CannotPlan):
            skip(finding, outcome.reason)
            continue
        steps = tuple(outcome)
        declared = {w.permission for w in kind.writes}
        for step in steps:
            if step.permission not in declared:  # the permission tables would not grant it
                raise PluginError(
                    f"kind {kind.name} planned a step needing {step.permission!r}, which it "
                    "does not declare in its writes"
                )
        if not steps:
            skip(finding, "no request would change it (the drift is not in what can be written)")
            continue
        plans.append(
            Plan(
                kind=finding.kind,
                resource=finding.resource,
                baseline=baseline.name,
                steps=steps,
                permissions=tuple(sorted({s.permission for s in steps})),
                plan_hash=plan_hash(finding, steps, drift.issued),
                notes=tuple(dict.fromkeys(s.note for s in steps if s.note)),
            )
        )
    return plans, skipped


def _baseline_of(finding: Finding, baselines: BaselineSet) -> Baseline | None:
    for baseline in baselines.of_kind(finding.kind):
        if baseline.name == finding.rule and baseline.scope == finding.resource:
            return baseline
    return None
