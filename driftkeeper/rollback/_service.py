"""Rollback as a service of the pipeline: plan a drift, offer it for approval, or roll it
back by itself within the brakes; run an approved plan once.

:class:`Rollbacks` is what the respond stage and the approval route call. It decides, from
the kill switch (``DRIFTKEEPER_ROLLBACK``), the baseline's ``response`` and the brakes, what
a drift gets:

- ``alert``: nothing more than the alert (kill switch off, ``response: alert``, a guard, no
  plan);
- ``approve``: an approval link in the alert (``response: approve``; also ``auto`` when the
  kill switch says ``approve-only``, the setting flapped, or the budget's breaker tripped);
- ``auto``: the rollback runs now (``response: auto``, kill switch ``on``, the actor is not
  one of the baseline's expected actors, the budget allows it).

Whatever starts it, a rollback runs through :func:`~driftkeeper.rollback._execute.execute`,
claimed first in the store (:meth:`~driftkeeper.store._brakes.Brakes.claim_run`) so two
instances never run it twice.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from .._errors import ReadError
from .._model import Finding
from .._state import StateView
from ..baseline import Baseline, BaselineSet
from ..engine import evaluate
from ..kinds import get_kind
from ..snapshot import Snapshot
from ._brakes import RollbackMode, flaps
from ._execute import RollbackResult, StepResult, Target, execute
from ._make import make_plans
from ._plan import Endpoints, NotPlanned, Plan, Step

if TYPE_CHECKING:
    from ..live import Writer
    from ..pipeline import StateReader
    from ..store._brakes import Brakes

__all__ = ["Choice", "Rollbacks", "rollback_key"]

log = logging.getLogger(__name__)

Choice = Literal["alert", "approve", "auto"]


def rollback_key(resource: str, rule: str, generation: int, plan_hash: str) -> str:
    """The key a rollback is claimed and counted by: one incident generation, one plan."""
    return f"{resource.casefold()}|{rule}|{generation}|{plan_hash}"


@dataclass
class Rollbacks:
    """Plans, brakes and execution for one process (every part injected)."""

    baselines: BaselineSet
    reader: StateReader
    writer: Writer | None
    brakes: Brakes | None
    mode: RollbackMode = "approve-only"
    budget: int = 10
    endpoints: Endpoints = field(default_factory=Endpoints)
    owner: str = "driftkeeper"
    """Who claims runs (the instance), for the record."""
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    sent: list[str] = field(default_factory=list)
    """The client request ids of every write sent by this process."""
    request_id: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))
    """Makes each write's client request id (signed ones: :mod:`._request_ids`)."""

    # --- planning -----------------------------------------------------------------------------
    def plan(self, finding: Finding, baseline: Baseline, state: Snapshot) -> Plan | NotPlanned:
        """The plan that restores ``baseline`` from ``state`` (or why there is none)."""
        plans, skipped = make_plans(
            [finding], BaselineSet((baseline,)), state, endpoints=self.endpoints
        )
        if plans:
            return plans[0]
        if skipped:
            return skipped[0]
        return NotPlanned(finding.kind, finding.resource, finding.rule, "nothing to undo")

    # --- deciding -----------------------------------------------------------------------------
    def choice(
        self, baseline: Baseline | None, finding: Finding, *, expected_actor: bool
    ) -> Choice:
        """What the kill switch and the baseline allow for this drift (brakes aside)."""
        if self.mode == "off" or baseline is None or finding.status != "drift" or expected_actor:
            return "alert"  # an expected actor's change is alerted at low severity only
        if baseline.response == "approve":
            return "approve"
        if baseline.response == "auto":
            if self.mode == "on" and not expected_actor and self.writer is not None:
                return "auto"
            return "approve"
        return "alert"

    def brake(self, setting: str, key: str) -> tuple[bool, str]:
        """Whether an automatic rollback of ``setting`` may run now, and if not why (and
        whether this caller should page: the reason is non-empty only for the one that
        tripped a brake)."""
        if self.brakes is None:
            return False, ""
        now = self.clock()
        state = self.brakes.flapping(setting)
        if state.manual:
            return False, ""
        if flaps(state, now=now):
            if self.brakes.stop_auto(setting):
                return False, (
                    f"automatic rollback stopped for {setting}: it drifted again after "
                    f"{len(state.rollbacks)} automatic rollbacks within an hour; "
                    "approval is needed from now on (driftkeeper rollback resume --setting "
                    f"{setting})"
                )
            return False, ""
        before = self.brakes.breaker()
        allowed, after = self.brakes.spend(key, budget=self.budget)
        if not allowed:
            return False, after.reason if after.tripped and not before.tripped else ""
        return True, ""

    # --- running ------------------------------------------------------------------------------
    def run(self, baseline: Baseline, expected_hash: str, *, key: str) -> RollbackResult | None:
        """Run the plan recorded as ``expected_hash`` once: None when another caller claimed
        it (it runs there) or ran it already."""
        if self.writer is None:
            return RollbackResult("rollback-skipped", "writing is not configured")
        if self.brakes is not None and not self.brakes.claim_run(key, owner=self.owner):
            return None
        result = execute(self.target(baseline), expected_hash)
        if self.brakes is not None:
            self.brakes.finish_run(key, result.outcome, result.to_dict())
        return result

    def target(self, baseline: Baseline) -> Target:
        """How :func:`execute` reads, judges, plans and writes ``baseline``'s setting."""
        kind = get_kind(baseline.kind)

        def read() -> Snapshot:
            snapshot = self.reader.read(kind.name, baseline.scope, newer_than=self.clock())
            for section in kind.sections:
                if snapshot.status(section) != "captured":
                    why = snapshot.read_errors.get(section, "not captured")
                    raise ReadError(f"could not read {section}: {why}")
            return snapshot

        def judge(snapshot: Snapshot) -> Finding:
            index = StateView(snapshot).index(kind.name)
            return evaluate(kind, baseline, index, snapshot)

        def plan(finding: Finding, snapshot: Snapshot) -> Plan | str:
            made = self.plan(finding, baseline, snapshot)
            return made.reason if isinstance(made, NotPlanned) else made

        def write(step: Any, request_id: str) -> StepResult:
            assert self.writer is not None
            self.sent.append(request_id)
            done = self.writer.send(step.method, step.url, step.body, client_request_id=request_id)
            created = done.body.get("id") if isinstance(done.body, dict) else None
            note = "already gone" if done.gone else ""
            if done.method == "POST" and isinstance(created, str):
                note = f"created {created[:80]}"  # a recreated object has a new id
            return StepResult(
                done.method,
                done.url,
                done.status,
                True,
                done.attempts,
                done.client_request_id,
                note,
            )

        return Target(read, judge, plan, write, request_id=self.request_id)


def step_lines(steps: tuple[Step, ...]) -> list[str]:
    """``METHOD URL`` of each step, for messages."""
    return [f"{s.method} {s.url}" for s in steps]
