"""Evaluation: normalized live state against baselines and built-in guards -> findings."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Literal

from ._diff import diff_states
from ._model import Change, Finding, ScanReport, Severity
from ._state import StateView
from .baseline import Baseline, BaselineSet
from .guards import all_guards
from .kinds import Index, Kind, all_kinds
from .snapshot import Snapshot

__all__ = ["GuardMode", "evaluate", "guard_findings", "judge_all", "scan"]

log = logging.getLogger(__name__)
GuardMode = Literal["default", "none"]
MAX_WORDS = 3


def scan(
    snapshot: Snapshot, baselines: BaselineSet, *, guards: GuardMode = "default"
) -> ScanReport:
    """Judge every baseline and (unless ``guards="none"``) every enabled guard."""
    outcomes, skipped, unbaselined = judge_all(snapshot, baselines, guards=guards)
    return ScanReport.build(outcomes, skipped, unbaselined)


def judge_all(
    snapshot: Snapshot, baselines: BaselineSet, *, guards: GuardMode = "default"
) -> tuple[list[Finding], list[str], list[str]]:
    """Every outcome (compliant ones too), the notices, and the unbaselined settings."""
    view = StateView(snapshot)
    rollback = baselines.rollback_notice()  # what the default kill switch would not do
    skipped: list[str] = [rollback] if rollback else []
    skipped.extend(snapshot.notices())
    unbaselined: list[str] = []
    outcomes: list[Finding] = []
    for name, kind in all_kinds().items():
        mine = baselines.of_kind(name)
        status, section = view.status(kind.sections)
        failed = [s for s in kind.optional_sections if snapshot.status(s) == "failed"]
        if status == "captured" and failed:
            status, section = "failed", failed[0]
        if status == "missing":
            skipped.append(
                f"{name}: {section} not captured ({len(mine)} baseline(s) not evaluated)"
            )
            continue
        if status == "failed":
            reason = snapshot.read_errors[section]
            outcomes.extend(_unreadable(b, section, reason) for b in mine)
            continue
        index = view.index(name)
        skipped.extend(kind.notices(snapshot))
        unread = [b for b in mine if not snapshot.covers_subscription(b.scope)]
        if unread:
            skipped.append(f"{name}: {len(unread)} baseline(s) of subscriptions not read")
            mine = [b for b in mine if snapshot.covers_subscription(b.scope)]
        outcomes.extend(evaluate(kind, b, index, snapshot) for b in mine)
        covered = {b.key for b in mine}
        unbaselined.extend(f"{name}: {scope}" for scope in kind.uncovered(index, covered))
    if guards != "none":
        outcomes.extend(guard_findings(view, baselines, skipped=skipped))
    return outcomes, skipped, unbaselined


def evaluate(kind: Kind, baseline: Baseline, index: Index, snapshot: Snapshot) -> Finding:
    """Compare one baseline with the live setting it names."""
    actual = kind.actual(index, baseline.key)
    if actual is None:
        return _finding(
            baseline, "drift", kind.missing_message(baseline.scope), (Change("", "exists", None),)
        )
    changes = diff_states(
        kind.comparable(baseline.state, snapshot), kind.comparable(actual.state, snapshot)
    )
    if not changes:
        return _finding(baseline, "compliant", f"{kind.title} {actual.title} matches its baseline")
    labels = _Labels(actual.labels, baseline.labels)
    words = [kind.describe(c, labels) for c in changes[:MAX_WORDS]]
    more = len(changes) - MAX_WORDS
    if more > 0:
        words.append(f"and {more} more change{'s' if more > 1 else ''}")
    return _finding(baseline, "drift", f"{kind.title} {actual.title}: " + "; ".join(words), changes)


class _Labels(Mapping[str, str]):
    """``{**baseline, **live}`` without copying either: a role-assignment index labels every
    principal of the tenant, and only the few changes a message names are looked up."""

    def __init__(self, live: Mapping[str, str], baseline: Mapping[str, str]) -> None:
        self._live = live
        self._baseline = baseline

    def __getitem__(self, key: str) -> str:
        return self._live[key] if key in self._live else self._baseline[key]

    def __iter__(self) -> Iterator[str]:
        return iter({**self._baseline, **self._live})

    def __len__(self) -> int:
        return len({**self._baseline, **self._live})


def _finding(
    baseline: Baseline,
    status: Literal["drift", "compliant", "error"],
    message: str,
    changes: tuple[Change, ...] | list[Change] = (),
) -> Finding:
    return Finding(
        kind=baseline.kind,
        resource=baseline.scope,
        status=status,
        rule=baseline.name,
        severity=baseline.severity,
        message=message,
        changes=tuple(changes),
    )


def _unreadable(baseline: Baseline, section: str, reason: str) -> Finding:
    return _finding(baseline, "error", f"could not read {section}: {reason}")


def guard_findings(
    state: Snapshot | StateView,
    baselines: BaselineSet,
    *,
    kinds: Iterable[str] | None = None,
    names: Iterable[str] | None = None,
    skipped: list[str] | None = None,
) -> Iterator[Finding]:
    """Findings of every enabled guard (of ``kinds`` / ``names``, if given) over ``state``.

    Guards whose sections were not captured are skipped (with a notice when ``skipped`` is
    given); a failed section gives an error finding.
    """
    view = state if isinstance(state, StateView) else StateView(state)
    notices = skipped if skipped is not None else []
    only = set(names) if names is not None else None
    for name, guard in all_guards().items():
        if kinds is not None and guard.kind not in kinds:
            continue
        if only is not None and name not in only:
            continue
        settings = baselines.guards.get(name)
        if settings is not None and not settings.enabled:
            notices.append(f"guard:{name}: turned off in {settings.file}")
            continue
        severity: Severity = (settings.severity if settings else None) or guard.default_severity
        params = guard.params(settings.params if settings else {})
        status, section = view.status(guard.required_sections(params))
        rule = f"guard:{name}"
        if status == "missing":
            notices.append(f"{rule}: {section} not captured")
            continue
        if status == "failed":
            reason = view.snapshot.read_errors[section]
            message = f"could not read {section}: {reason}"
            yield Finding(guard.kind, section, "error", rule, severity, message)
            continue
        for verdict in guard.check(view, params):
            yield Finding(
                kind=guard.kind,
                resource=verdict.resource,
                status="compliant" if verdict.ok else "drift",
                rule=rule,
                severity=severity,
                message=verdict.message,
                changes=verdict.changes,
            )
