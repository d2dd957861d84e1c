"""The runtime's rollback hooks: the executor and the current plan check."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from driftkeeper.config import Settings
from driftkeeper.rollback._approval import ApprovalRequest
from driftkeeper.runtime import Runtime, rollback_not_configured
from tests.rollback.builders import request


def test_with_the_kill_switch_off_rollbacks_are_skipped_and_say_why() -> None:
    rt = Runtime(Settings(rollback="off"))
    execute = rt.rollback_executor()
    assert execute is rollback_not_configured
    assert execute(request()) == {
        "outcome": "rollback-skipped",
        "reason": "rollback execution not configured",
    }


def test_an_injected_executor_and_planner_are_used() -> None:
    def execute(req: ApprovalRequest) -> Mapping[str, Any]:
        return {"outcome": "rolled-back"}

    rt = Runtime(Settings(), executor=execute, planner=lambda req: "f" * 64)
    assert rt.rollback_executor() is execute
    assert rt.current_plan_hash(request()) == "f" * 64
