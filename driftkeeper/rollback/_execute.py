"""Executing one rollback: re-read, re-plan, write, verify. Nothing is reported as rolled
back unless the read after the writes says the setting matches its baseline.

The steps, for one drifted setting and the plan an incident recorded (``expected``, by its
hash):

1. Read the setting. It cannot be read: nothing is written (``rollback-skipped``).
2. Judge it. Compliant already: nothing is written. Judged otherwise than drift, or a plan
   made from this read differs from the recorded one (someone changed it since): nothing is
   written; the caller records the fresh judgement and, for an approval, voids the token.
3. Write the plan's steps in order, each with its own client request id (the events our
   writes cause come back carrying it, and are recorded as ``self``). A step refused, or
   still throttled when its retry budget runs out, stops the plan: the steps before it
   stay applied and are reported (``rollback-failed``).
4. Read again and judge: compliant is ``rolled-back``; anything else ``rollback-failed``.

Everything this module talks to is injected (a :class:`Target`), so it runs the same from an
approval, from automatic rollback, in tests and in the demo.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from .._errors import ReadError, WriteError
from .._model import Finding
from ..snapshot import Snapshot

__all__ = ["RollbackOutcome", "RollbackResult", "StepResult", "Target", "execute"]

RollbackOutcome = Literal["rolled-back", "rollback-failed", "rollback-skipped"]


class PlannedStep(Protocol):
    """One request of a plan (:class:`~driftkeeper.rollback.Step`)."""

    @property
    def method(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def body(self) -> Any: ...


class PlannedRollback(Protocol):
    """A plan (:class:`~driftkeeper.rollback.Plan`)."""

    @property
    def plan_hash(self) -> str: ...
    @property
    def steps(self) -> Sequence[PlannedStep]: ...


@dataclass(frozen=True)
class StepResult:
    """One request of a plan, as sent and answered."""

    method: str
    url: str
    status: int
    """The final HTTP status (0: no answer)."""
    ok: bool
    attempts: int
    client_request_id: str
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "url": self.url,
            "status": self.status,
            "ok": self.ok,
            "attempts": self.attempts,
            "clientRequestId": self.client_request_id,
            "error": self.error,
        }


@dataclass(frozen=True)
class RollbackResult:
    """What one attempt did."""

    outcome: RollbackOutcome
    reason: str
    steps: tuple[StepResult, ...] = ()
    before: Finding | None = None
    """The judgement of the read before writing (None: it could not be read)."""
    after: Finding | None = None
    """The judgement of the verify read (None: nothing was written, or it failed)."""
    changed_since: bool = False
    """The setting no longer matches what the incident recorded: re-evaluate and alert."""
    reads: int = 0
    writes: int = 0
    state: Snapshot | None = field(default=None, compare=False, repr=False)
    """The read before writing (to re-evaluate when the setting changed since)."""
    after_state: Snapshot | None = field(default=None, compare=False, repr=False)
    """The verify read (the setting's guards are judged on it again)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "reason": self.reason,
            "steps": [s.to_dict() for s in self.steps],
            "before": self.before.to_dict() if self.before else None,
            "after": self.after.to_dict() if self.after else None,
            "changedSince": self.changed_since,
            "reads": self.reads,
            "writes": self.writes,
        }


@dataclass
class Target:
    """The one setting a rollback is about, and how to read, judge, plan and write it."""

    read: Callable[[], Snapshot]
    """A fresh read of the setting (raises :class:`~driftkeeper.ReadError`)."""
    judge: Callable[[Snapshot], Finding]
    """The baseline's judgement of a read."""
    plan: Callable[[Finding, Snapshot], PlannedRollback | str]
    """The plan that restores the baseline from a read, or why there is none."""
    write: Callable[[PlannedStep, str], StepResult]
    """Send one step with the given client request id (raises
    :class:`~driftkeeper.WriteError` when it fails)."""
    request_id: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))
    sent: list[str] = field(default_factory=list)
    """The client request ids of the writes sent (so their events are recognised)."""


def execute(target: Target, expected_hash: str) -> RollbackResult:
    """Run the plan recorded as ``expected_hash`` against the live setting, safely."""
    try:
        before_state = target.read()
    except ReadError as exc:
        return RollbackResult("rollback-skipped", f"could not read the setting: {exc}", reads=1)
    before = target.judge(before_state)
    if before.status == "compliant":
        return RollbackResult(
            "rollback-skipped", "already matches its baseline: nothing written", (), before,
            reads=1,
        )  # fmt: skip
    if before.status != "drift":
        return RollbackResult(
            "rollback-skipped", f"could not judge the setting: {before.message}", (), before,
            reads=1,
        )  # fmt: skip
    plan = target.plan(before, before_state)
    if isinstance(plan, str):
        return RollbackResult("rollback-skipped", f"no plan: {plan}", (), before, reads=1)
    if plan.plan_hash != expected_hash:
        return RollbackResult(
            "rollback-skipped",
            "the setting changed since the incident was recorded: nothing written",
            (),
            before,
            changed_since=True,
            reads=1,
            state=before_state,
        )
    done: list[StepResult] = []
    for step in plan.steps:
        request_id = target.request_id()
        target.sent.append(request_id)
        try:
            done.append(target.write(step, request_id))
        except WriteError as exc:
            done.append(_failed_step(step, request_id, exc))
            applied = sum(1 for s in done if s.ok)
            return RollbackResult(
                "rollback-failed",
                f"step {len(done)} of {len(plan.steps)} failed ({applied} applied): {exc}",
                tuple(done),
                before,
                reads=1,
                writes=len(done),
            )
    return _verify(target, before, tuple(done))


def _verify(target: Target, before: Finding, done: tuple[StepResult, ...]) -> RollbackResult:
    try:
        state = target.read()
        after = target.judge(state)
    except ReadError as exc:
        return RollbackResult(
            "rollback-failed",
            f"written, but the verify read failed: {exc}",
            done,
            before,
            reads=2,
            writes=len(done),
        )
    if after.status == "compliant":
        return RollbackResult(
            "rolled-back", "verified: matches its baseline", done, before, after, reads=2,
            writes=len(done), after_state=state,
        )  # fmt: skip
    return RollbackResult(
        "rollback-failed",
        f"written, but the verify read says {after.status}: {after.message}",
        done,
        before,
        after,
        reads=2,
        writes=len(done),
    )


def _failed_step(step: PlannedStep, request_id: str, exc: WriteError) -> StepResult:
    status = getattr(exc, "status", 0)
    attempts = getattr(exc, "attempts", 1)
    return StepResult(
        step.method,
        step.url,
        int(status or 0),
        False,
        int(attempts or 1),
        request_id,
        str(exc)[:500],
    )


def summary(result: RollbackResult) -> Mapping[str, Any]:
    """The attempt as the event table and the alert show it."""
    return result.to_dict()
