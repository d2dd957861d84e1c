"""Planning drift between two snapshot documents, and checking that a plan restores."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from driftkeeper import Snapshot
from driftkeeper._model import Finding
from driftkeeper.engine import scan
from driftkeeper.rollback import Endpoints, NotPlanned, Plan, plan_scan
from tests.builders import baselines_of
from tests.rollback.simulator import apply

PUBLIC = Endpoints()
STAND_IN = Endpoints("http://127.0.0.1:8079/arm", "http://127.0.0.1:8079/graph/v1.0")
"""A local stand-in's roots, as the tests' fake ARM / Graph server has them."""


def plan_drift(
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    endpoints: Endpoints = PUBLIC,
    new_guid: Callable[[str], str] | None = None,
) -> tuple[list[Plan], list[NotPlanned]]:
    """Given baselines captured from ``before``, when ``after`` is live: the plans."""
    return plan_scan(
        Snapshot.from_dict(copy.deepcopy(after)),
        baselines_of(before),
        guards="none",
        endpoints=endpoints,
        new_guid=new_guid,
    )


def only_plan(before: dict[str, Any], after: dict[str, Any], **kwargs: Any) -> Plan:
    plans, not_planned = plan_drift(before, after, **kwargs)
    assert not_planned == [], not_planned
    assert len(plans) == 1, plans
    return plans[0]


def only_reason(before: dict[str, Any], after: dict[str, Any]) -> str:
    plans, not_planned = plan_drift(before, after)
    assert plans == []
    assert len(not_planned) == 1, not_planned
    return not_planned[0].reason


def drift_after(
    before: dict[str, Any], after: dict[str, Any], plans: list[Plan], endpoints: Endpoints = PUBLIC
) -> list[Finding]:
    """The drift the engine still finds once every step of ``plans`` is applied to ``after``."""
    applied = apply(after, [s for p in plans for s in p.steps], endpoints)
    report = scan(Snapshot.from_dict(applied), baselines_of(before), guards="none")
    return list(report.findings)
