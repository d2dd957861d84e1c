"""One path from a decision to its effect, for the approval page and the command line.

:func:`decide_and_apply` takes a principal's decision on a request through
:meth:`driftkeeper.store.Approvals.decide` (the rules of :mod:`._approval`, stored
conditionally) and then does what the decision says:

- the approval that reaches ``required``: :func:`execute_approved` marks the request
  ``executing``, runs the runtime's rollback executor once, and records its outcome;
- an approval or accept still short of ``required``: nothing more (recorded, pending);
- a reject, or the accept that reaches ``required``: :meth:`Runtime.decided
  <driftkeeper.runtime.Runtime.decided>` (the decision recorded; an accepted drift's
  incident closed and its baseline change proposed), kept on the request.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ._approval import ApprovalRequest, ApprovalStatus, Decided, Refused

if TYPE_CHECKING:
    from ..runtime import RollbackExecutor, Runtime
    from ..store import Approvals
    from ._principal import Principal

__all__ = ["OUTCOMES", "Applied", "apply_decided", "decide_and_apply", "execute_approved"]

log = logging.getLogger(__name__)
OUTCOMES: frozenset[str] = frozenset({"rolled-back", "rollback-failed", "rollback-skipped"})
"""What an executed request ends as."""


@dataclass(frozen=True)
class Applied:
    """What a decision did: the request as stored after it, its status (``pending`` when
    more approvers are needed), what ran or was recorded, and whether the plan ran."""

    request: ApprovalRequest
    status: ApprovalStatus
    result: Mapping[str, Any] = field(default_factory=dict)
    executed: bool = False
    waiting: int = 0
    """Approvers still needed (while ``pending``)."""

    @property
    def proposal(self) -> Mapping[str, Any]:
        """The baseline change an accepted drift implies (``file``, ``text``, ``removed``;
        or ``error``), empty when there is none."""
        proposal = self.result.get("proposal")
        return proposal if isinstance(proposal, Mapping) else {}


def execute_approved(
    store: Approvals, executor: RollbackExecutor, approved: ApprovalRequest
) -> tuple[ApprovalRequest, Mapping[str, Any]]:
    """Run ``approved``'s plan once: ``executing``, then the outcome (an unknown outcome is
    ``rollback-failed``); the request as finished and what ran. An executor that raises is
    recorded ``rollback-failed``, then the exception propagates (the caller's boundary
    reports it)."""
    running = store.finish(approved, "executing", {})
    try:
        result: Mapping[str, Any] = executor(running)
    except Exception as exc:
        store.finish(
            running, "rollback-failed", {"outcome": "rollback-failed", "error": type(exc).__name__}
        )
        raise
    outcome = str(result.get("outcome", ""))
    status: ApprovalStatus = outcome if outcome in OUTCOMES else "rollback-failed"  # type: ignore[assignment]
    return store.finish(running, status, result), result


def apply_decided(runtime: Runtime, outcome: Decided) -> Applied:
    """Do what a stored decision says (see the module)."""
    decided = outcome.request
    store = runtime.approvals()
    if outcome.execute:
        finished, result = execute_approved(store, runtime.rollback_executor(), decided)
        return Applied(finished, finished.status, result, executed=True)
    if decided.status == "pending":
        left = decided.required - len(decided.approvers_of(outcome.decision.decision))
        return Applied(decided, "pending", waiting=max(left, 0))
    result = runtime.decided(decided)
    if result:
        decided = store.finish(decided, decided.status, result)
    return Applied(decided, decided.status, result)


def decide_and_apply(
    runtime: Runtime,
    request: ApprovalRequest,
    decision: str,
    principal: Principal,
    *,
    address: str = "",
    comment: str = "",
    now: datetime | None = None,
) -> Applied | Refused:
    """``principal``'s ``decision`` on ``request`` under the rules (approvers from the
    settings, the plan hash the drift implies now), then its effect."""
    outcome = runtime.approvals().decide(
        request,
        decision,
        principal,
        current_plan_hash=runtime.current_plan_hash(request),
        approvers=runtime.settings.approvers,
        address=address,
        comment=comment,
        now=now,
    )
    extra = {
        "resource": request.resource,
        "baseline": request.rule,
        "approver": principal.object_id,
    }
    if not isinstance(outcome, Decided):
        log.info("approval refused (%d): %s", outcome.status_code, outcome.reason, extra=extra)
        if outcome.request is not None and outcome.request.status == "void":
            log.warning("approval void: the drift changed since the link was sent", extra=extra)
        return outcome
    log.info("approval: %s by %s", outcome.decision.decision, principal.shown, extra=extra)
    return apply_decided(runtime, outcome)
