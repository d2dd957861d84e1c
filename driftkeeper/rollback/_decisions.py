"""What a decided approval request does, whoever decided it (the approval page or the CLI).

- **approve** (enough approvers): the recorded plan runs once through
  :meth:`~driftkeeper.rollback._service.Rollbacks.run` (re-read, compare, write, verify).
  Its outcome is a row of the event table and is told to the incident's channels; a
  verified rollback resolves the incident. When the setting changed since the incident was
  recorded, nothing is written: the fresh judgement is recorded and responded to like any
  other (a new approval link goes out with it).
- **reject**: nothing is written; the decision is a row (``rollback-skipped``), the incident
  stays open.
- **accept**: the drift is intended. The incident closes as accepted (the same drift keeps it
  closed, a later change opens a new one), the decision is a row (``accepted``), and the
  baseline file change it implies is proposed (returned, kept on the request, and written
  by the CLI into the operator's working copy).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .._errors import ReadError
from .._model import EventRecord, Finding
from ..signals import Actor, Signal
from ._accept import accepted_baseline
from ._service import rollback_key

if TYPE_CHECKING:
    from ..baseline import Baseline
    from ..pipeline import Pipeline
    from ._approval import ApprovalRequest

__all__ = ["accept_drift", "reject_drift", "run_approved"]


def _baseline(pipeline: Pipeline, request: ApprovalRequest) -> Baseline | None:
    for b in pipeline.baselines.of_kind(request.kind):
        if b.name == request.rule and b.scope.casefold() == request.resource.casefold():
            return b
    return None


def _who(request: ApprovalRequest, decision: str) -> str:
    names = [d.upn or d.object_id for d in request.decisions if d.decision == decision]
    return ", ".join(names) or "nobody"


def run_approved(pipeline: Pipeline, request: ApprovalRequest) -> Mapping[str, Any]:
    """Run the approved plan of ``request`` once; the result as the approvals table keeps it."""
    stage = pipeline.rollback
    if stage is None:
        return {"outcome": "rollback-skipped", "reason": "rollback is off (DRIFTKEEPER_ROLLBACK)"}
    baseline = _baseline(pipeline, request)
    if baseline is None:
        return {"outcome": "rollback-skipped", "reason": "the baseline is no longer deployed"}
    key = rollback_key(request.resource, request.rule, request.generation, request.plan_hash)
    result = stage.rollbacks.run(baseline, request.plan_hash, key=key)
    if result is None:
        return {"outcome": "rollback-skipped", "reason": "this rollback ran already"}
    decided_by = f"approved by {_who(request, 'approve')}"
    finding = result.before or Finding(
        baseline.kind, baseline.scope, "error", baseline.name, baseline.severity, result.reason
    )
    stage.record(
        finding,
        baseline.key,
        baseline,
        result,
        key=key,
        decided_by=decided_by,
        ledger=pipeline.ledger,
        incidents=pipeline.incidents,
        alerts=pipeline.alerts,
    )
    if result.after_state is not None:
        pipeline.respond_to_guards(
            _recheck(request, key), baseline.kind, baseline.scope, result.after_state
        )
    if result.changed_since and result.before is not None and result.state is not None:
        # this request is over (its link void) before the fresh drift is responded to, so
        # the new link replaces it
        if stage.approvals is not None:
            stage.approvals.finish(request, "rollback-skipped", result.to_dict())
        pipeline.respond_to_finding(_recheck(request, key), result.before, baseline, result.state)
    return result.to_dict()


def reject_drift(pipeline: Pipeline, request: ApprovalRequest) -> Mapping[str, Any]:
    """Record a rejected rollback (nothing written, the incident stays open)."""
    message = f"rollback rejected by {_who(request, 'reject')}: nothing written"
    pipeline.ledger.record([_decision_row(request, "rollback-skipped", message, "reject")])
    return {"outcome": "rollback-skipped", "reason": message}


def accept_drift(pipeline: Pipeline, request: ApprovalRequest) -> Mapping[str, Any]:
    """Close the incident as accepted and propose the baseline change."""
    who = _who(request, "accept")
    baseline = _baseline(pipeline, request)
    row = _decision_row(request, "accepted", f"drift accepted as intended by {who}", "accept")
    proposal: dict[str, Any] = {}
    if baseline is not None and pipeline.rollback is not None:
        rollbacks = pipeline.rollback.rollbacks
        target = rollbacks.target(baseline)
        try:
            live = target.read()
        except ReadError as exc:
            proposal = {"error": f"could not read the setting to propose its baseline: {exc}"}
        else:
            now = rollbacks.plan(target.judge(live), baseline, live)
            if getattr(now, "plan_hash", None) != request.plan_hash:
                # what the approver saw is not what is live now: proposing the live setting
                # would make a later, unseen change the baseline
                proposal = {
                    "error": "the setting changed since the link was sent: no baseline is "
                    "proposed (the later change is judged on its own)"
                }
            else:
                accepted = accepted_baseline(baseline, live)
                proposal = {
                    "file": accepted.file,
                    "text": accepted.text,
                    "removed": accepted.removed,
                }
    accepted_drift = replace(row, outcome="drift", changes=_changes(request))
    pipeline.incidents.accept(accepted_drift)
    pipeline.ledger.record([row])
    return {"outcome": "accepted", "reason": row.message, "proposal": proposal}


def _changes(request: ApprovalRequest) -> tuple[Any, ...]:
    from .._model import Change

    out = []
    for c in request.plan.get("changes", ()):
        if isinstance(c, Mapping):
            out.append(Change(str(c.get("path", "")), c.get("expected"), c.get("actual")))
    return tuple(out)


def _decision_row(
    request: ApprovalRequest, outcome: Any, message: str, decision: str
) -> EventRecord:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return EventRecord(
        signal_id=f"decision:{request.resource.casefold()}|{request.rule}|"
        f"{request.generation}|{request.plan_hash}|{decision}",
        time=now,
        source="rollback",
        event_type="driftkeeper.decision",
        outcome=outcome,
        resource=request.resource,
        setting=request.resource.casefold(),
        kind=request.kind,
        rule=request.rule,
        message=message,
        operation=decision,
        actor_upn=_who(request, decision)[:256],
        observed=now,
    )


def _recheck(request: ApprovalRequest, key: str) -> Signal:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return Signal(
        id=f"recheck:{key}",
        source="rollback",
        type="driftkeeper.recheck",
        time=now,
        resource=request.resource,
        category="rollback",
        actor=Actor(upn="driftkeeper (the read after a rollback)"),
        operation="verify",
    )
