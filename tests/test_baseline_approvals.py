"""The baseline field ``approvals``: how many distinct approvers a rollback needs."""

from __future__ import annotations

from typing import Any

import pytest

from driftkeeper import BaselineError
from driftkeeper.baseline import Baseline, GuardSettings, baseline_schema, parse_baseline

NSG = (
    "/subscriptions/0b0e5a5c-0000-4000-8000-000000000001/resourceGroups/rg-web"
    "/providers/Microsoft.Network/networkSecurityGroups/nsg-web"
)


def doc(**fields: Any) -> dict[str, Any]:
    return {"kind": "nsg", "scope": NSG, "response": "approve", "expected": {"rules": []}, **fields}


@pytest.mark.parametrize(
    ("fields", "expected"), [({}, 1), ({"approvals": 1}, 1), ({"approvals": 2}, 2)]
)
def test_approvals_default_to_one(fields: dict[str, Any], expected: int) -> None:
    baseline = parse_baseline(doc(**fields), "web.yaml")
    assert isinstance(baseline, Baseline)
    assert baseline.approvals == expected


@pytest.mark.parametrize("value", [0, 3, True, "2", 1.5, None])
def test_only_one_or_two_approvals(value: Any) -> None:
    with pytest.raises(BaselineError) as raised:
        parse_baseline(doc(approvals=value), "web.yaml")
    assert raised.value.field == "approvals"


def test_a_guard_file_may_ask_for_two() -> None:
    settings = parse_baseline(
        {"kind": "guard", "guard": "global-admin-count", "approvals": 2}, "g.yaml"
    )
    assert isinstance(settings, GuardSettings)
    assert settings.approvals == 2


def test_the_schema_declares_it() -> None:
    assert baseline_schema()["properties"]["approvals"]["enum"] == [1, 2]
