"""Executing a rollback: re-read, re-plan, write, verify; never "rolled back" unverified."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from driftkeeper._errors import TransientReadError, WriteRefusedError
from driftkeeper._model import Finding
from driftkeeper.rollback._execute import StepResult, Target, execute
from driftkeeper.snapshot import Snapshot

EMPTY = Snapshot("tenant", "2026-11-30T12:00:00Z", {}, {}, "live")


@dataclass(frozen=True)
class FakeStep:
    method: str
    url: str
    body: Any = None


@dataclass(frozen=True)
class FakePlan:
    plan_hash: str
    steps: tuple[FakeStep, ...]


@dataclass
class World:
    """A setting whose judgement the steps change: each read answers the next verdict."""

    verdicts: list[str]
    plan_hash: str = "h1"
    refuse_step: int | None = None
    unreadable: bool = False
    written: list[tuple[str, str]] = field(default_factory=list)

    def target(self) -> Target:
        ids = iter(f"crid-{i}" for i in range(100))

        def read() -> Snapshot:
            if self.unreadable:
                raise TransientReadError("ARM answered 503")
            return EMPTY

        def judge(_: Snapshot) -> Finding:
            status = self.verdicts.pop(0)
            return Finding("nsg", "/subscriptions/s/nsg", status, "b", "high", status)  # type: ignore[arg-type]

        def plan(_: Finding, __: Snapshot) -> FakePlan:
            return FakePlan(
                self.plan_hash,
                (FakeStep("DELETE", "https://arm/rule-a"), FakeStep("PUT", "https://arm/rule-b")),
            )

        def write(step: Any, request_id: str) -> StepResult:
            if self.refuse_step == len(self.written):
                raise WriteRefusedError(
                    "403 AuthorizationFailed", method=step.method, url=step.url, status=403,
                    attempts=1, client_request_id=request_id, code="AuthorizationFailed",
                )  # fmt: skip
            self.written.append((step.method, request_id))
            return StepResult(step.method, step.url, 200, True, 1, request_id)

        return Target(read, judge, plan, write, request_id=lambda: next(ids))


CASES = {
    "drift restored and verified": (World(["drift", "compliant"]), "rolled-back", 2, 2),
    "already compliant: nothing written": (World(["compliant"]), "rollback-skipped", 0, 1),
    "cannot judge: nothing written": (World(["error"]), "rollback-skipped", 0, 1),
    "changed since the incident: nothing written": (
        World(["drift"], plan_hash="other"), "rollback-skipped", 0, 1,
    ),
    "unreadable: nothing written": (World([], unreadable=True), "rollback-skipped", 0, 1),
    "verify read still drifts": (World(["drift", "drift"]), "rollback-failed", 2, 2),
    "second step refused: the first stays applied": (
        World(["drift"], refuse_step=1), "rollback-failed", 1, 1,
    ),
}  # fmt: skip


@pytest.mark.parametrize(("world", "outcome", "writes", "reads"), CASES.values(), ids=CASES.keys())
def test_execute(world: World, outcome: str, writes: int, reads: int) -> None:
    target = world.target()
    result = execute(target, "h1")
    assert result.outcome == outcome
    assert len(world.written) == writes
    assert result.reads == reads
    assert [s.ok for s in result.steps].count(True) == writes
    if outcome == "rolled-back":
        assert result.after is not None
        assert result.after.status == "compliant"
    # every write carried its own client request id, remembered to recognise its event
    assert [crid for _, crid in world.written] == target.sent[:writes]
    assert len(set(target.sent)) == len(target.sent)


def test_a_refused_step_is_reported_with_its_status() -> None:
    world = World(["drift"], refuse_step=1)
    result = execute(world.target(), "h1")
    assert [(s.method, s.status, s.ok) for s in result.steps] == [
        ("DELETE", 200, True),
        ("PUT", 403, False),
    ]
    assert "step 2 of 2 failed (1 applied)" in result.reason


def test_changed_since_is_flagged_for_re_evaluation() -> None:
    result = execute(World(["drift"], plan_hash="other").target(), "h1")
    assert result.changed_since
