"""The runtime's rollback hooks: the executor and the current plan check."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from driftkeeper.baseline import Baseline, BaselineSet
from driftkeeper.config import Settings
from driftkeeper.rollback._approval import ApprovalRequest
from driftkeeper.runtime import Runtime, rollback_not_configured, rollback_warnings
from tests.rollback.builders import request

ROOT = Path(__file__).resolve().parents[1]


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


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            Settings(),
            [
                "DRIFTKEEPER_PUBLIC_URL is not set",
                "the approval pages answer 503 (App Service Authentication is not on",
                "DRIFTKEEPER_APPROVERS is empty",
            ],
        ),
        (
            Settings(
                public_url="https://dk.example",
                approvers=("ops@contoso.example",),
                auth_enabled=True,
            ),
            [],
        ),
        (Settings(rollback="off"), ["rollback is off (DRIFTKEEPER_ROLLBACK): 1 baseline(s)"]),
    ],
    ids=["nothing set", "all set", "kill switch off"],
)
def test_the_operator_is_told_what_rollback_cannot_do(
    settings: Settings, expected: list[str]
) -> None:
    asking = BaselineSet((replace(baseline_of("approve")),))
    warnings = rollback_warnings(settings, asking)
    assert len(warnings) == len(expected)
    for got, start in zip(warnings, expected, strict=True):
        assert got.startswith(start)


def baseline_of(response: str) -> Baseline:
    from driftkeeper.baseline import load_baselines

    [nsg, *_] = load_baselines(ROOT / "baselines").of_kind("nsg")
    return replace(nsg, response=response)  # type: ignore[arg-type]
