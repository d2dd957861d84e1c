"""The rollback part of the respond stage: after a drift is recorded and its incident
observed, offer its plan for approval (a link in the alert) or roll it back by itself, and
record and announce what happened.

The pipeline calls :meth:`RollbackStage.prepare` before it alerts (the alert then carries the
approval link) and :meth:`RollbackStage.follow_up` after (an automatic rollback runs then,
so the alert of the drift goes out first). An approved plan runs through
:meth:`RollbackStage.approved`. Every attempt is a row of the event table (``rolled-back``,
``rollback-failed``, ``rollback-skipped``) and is told to the incident's channels; a
verified rollback resolves the incident through the ordinary path (a compliant judgement).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .._model import EventRecord, Finding
from ..signals import Actor, Signal
from ._execute import RollbackResult
from ._plan import Plan
from ._service import Rollbacks, rollback_key

if TYPE_CHECKING:
    from ..alerts import Link
    from ..baseline import Baseline
    from ..incident_policy import Observation
    from ..pipeline import AlertSink, IncidentBook, Judged, RecordSink
    from ..store._approvals import Approvals

__all__ = ["Prepared", "RollbackStage"]

log = logging.getLogger(__name__)
_MESSAGE = 4_000


@dataclass(frozen=True)
class Prepared:
    """What the rollback stage adds to one judged drift before it is alerted."""

    links: tuple[Link, ...] = ()
    fresh_link: bool = False
    """A new approval link was minted (the drift changed since the last one): alert with it
    even when the incident policy would stay quiet."""
    plan: Plan | None = None
    auto_key: str = ""
    """Set when the rollback is to run automatically (its claim and budget key)."""
    page: str = ""
    """A brake tripped: tell a person (once)."""


@dataclass
class RollbackStage:
    rollbacks: Rollbacks
    approvals: Approvals | None = None
    public_url: str = ""
    """Where the approval route is served (``https://<app>``); no links without it."""
    approval_ttl: timedelta = timedelta(hours=1)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    # --- before the alert ----------------------------------------------------------------------
    def prepare(
        self, judged: Judged, observation: Observation, *, expected_actor: bool
    ) -> Prepared:
        finding, baseline, state = judged.finding, judged.baseline, judged.state
        if (
            baseline is None
            or state is None
            or finding.status != "drift"
            or observation.track != "drift"
            or observation.incident is None
            or observation.incident.status != "open"
        ):
            return Prepared()
        choice = self.rollbacks.choice(baseline, finding, expected_actor=expected_actor)
        if choice == "alert":
            return Prepared()
        plan = self.rollbacks.plan(finding, baseline, state)
        if not isinstance(plan, Plan):
            return Prepared()
        generation = observation.incident.generation
        page = ""
        if choice == "auto":
            key = rollback_key(finding.resource, finding.rule, generation, plan.plan_hash)
            allowed, page = self.rollbacks.brake(judged.record.setting or finding.resource, key)
            if allowed:
                return Prepared(plan=plan, auto_key=key)
        links, fresh = self._approval_link(judged, observation, plan, baseline)
        return Prepared(links, fresh, plan, page=page)

    def _approval_link(
        self, judged: Judged, observation: Observation, plan: Plan, baseline: Baseline
    ) -> tuple[tuple[Link, ...], bool]:
        if self.approvals is None or not self.public_url or observation.incident is None:
            return (), False
        from ..alerts import Link
        from ._approval import ApprovalRequest

        now = self.clock()
        signal = judged.signal
        request = ApprovalRequest(
            resource=judged.finding.resource,
            rule=judged.finding.rule,
            generation=observation.incident.generation,
            kind=judged.finding.kind,
            baseline=baseline.name,
            plan={**plan.to_dict(), "changes": [c.to_dict() for c in judged.finding.changes]},
            plan_hash=plan.plan_hash,
            token_hash="",
            created_at=now,
            expires_at=now + self.approval_ttl,
            required=getattr(baseline, "approvals", 1),
            drift_actor_ids=tuple(
                sorted(
                    signal.actor.ids()
                    | ({signal.actor.upn.casefold()} if signal.actor.upn else set())
                )
            ),
            drift_actor=signal.actor.display(),
            drift_time=signal.time,
        )
        # a due alert needs a link it can show (only the hash is stored): mint a new one
        _, token = self.approvals.issue(request, new_link=observation.alert is not None)
        if token is None:
            return (), False
        url = f"{self.public_url.rstrip('/')}/api/approvals/{token}"
        return (Link("Review the rollback", url),), observation.alert is None

    # --- after the alert -----------------------------------------------------------------------
    def follow_up(
        self,
        judged: Judged,
        prepared: Prepared,
        *,
        ledger: RecordSink,
        incidents: IncidentBook,
        alerts: AlertSink | None,
    ) -> RollbackResult | None:
        """Page for a tripped brake; run an automatic rollback; record and announce it."""
        if prepared.page and alerts is not None:
            alerts.alert(
                replace(judged.finding, severity="critical", message=prepared.page),
                judged.signal,
                judged.baseline,
                "updated",
                links=prepared.links,
            )
        if not prepared.auto_key or prepared.plan is None or judged.baseline is None:
            return None
        result = self.rollbacks.run(judged.baseline, prepared.plan.plan_hash, key=prepared.auto_key)
        if result is None:
            return None  # another instance claimed it
        self.record(
            judged.finding,
            judged.record.setting,
            judged.baseline,
            result,
            key=prepared.auto_key,
            decided_by="automatic (response: auto)",
            ledger=ledger,
            incidents=incidents,
            alerts=alerts,
        )
        if result.outcome == "rolled-back" and self.rollbacks.brakes is not None:
            self.rollbacks.brakes.note_rollback(judged.record.setting or judged.finding.resource)
        return result

    # --- recording -----------------------------------------------------------------------------
    def record(
        self,
        finding: Finding,
        setting: str,
        baseline: Baseline,
        result: RollbackResult,
        *,
        key: str,
        decided_by: str,
        ledger: RecordSink,
        incidents: IncidentBook,
        alerts: AlertSink | None,
    ) -> EventRecord:
        """One row for the attempt; a verified rollback resolves the incident (announced as
        rolled back); a failed one pages."""
        now = self.clock()
        signal = Signal(
            id=f"rollback:{key}",
            source="rollback",
            type="driftkeeper.rollback",
            time=now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            resource=finding.resource,
            category="rollback",
            actor=Actor(upn=decided_by[:256]),
        )
        row = EventRecord(
            signal_id=signal.id,
            time=signal.time,
            source=signal.source,
            event_type=signal.type,
            outcome=result.outcome,
            resource=finding.resource,
            setting=setting,
            kind=finding.kind,
            rule=finding.rule,
            severity=finding.severity,
            message=_message(result, decided_by),
            operation="rollback",
            actor_upn=decided_by[:256],
            changes=finding.changes,
            observed=signal.time,
        )
        ledger.record([row])
        if result.outcome == "rolled-back" and result.after is not None:
            resolved = replace(
                row,
                outcome="compliant",
                message=f"rolled back by driftkeeper ({decided_by}); verified",
                changes=(),
            )
            observation = incidents.observe(resolved, alerting=alerts is not None)
            if alerts is not None and observation.alert == "resolved":
                alerts.alert(
                    replace(result.after, message=resolved.message),
                    signal,
                    baseline,
                    "resolved",
                    outcome="rolled-back",
                )
        elif alerts is not None and result.outcome == "rollback-failed":
            alerts.alert(
                replace(finding, severity="critical", message=row.message),
                signal,
                baseline,
                "updated",
                outcome="rollback-failed",
            )
        elif alerts is not None:
            alerts.alert(
                replace(finding, message=row.message),
                signal,
                baseline,
                "updated",
                outcome="rollback-skipped",
            )
        return row


def _message(result: RollbackResult, decided_by: str) -> str:
    steps = "; ".join(
        f"{s.method} {s.url} -> {s.status or 'no answer'}"
        + (f" ({s.error})" if s.error and s.ok else "")
        for s in result.steps
    )  # a failed step's error is in the reason already
    text = f"{result.outcome}: {result.reason} ({decided_by})"
    if steps:
        text += f". Steps: {steps}"
    return text[:_MESSAGE]


def links_of(prepared: Prepared) -> Sequence[Any]:
    return prepared.links
