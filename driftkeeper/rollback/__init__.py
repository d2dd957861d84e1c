"""Rollback: the requests that restore a drifted setting to its baseline.

Section 1, plans: pure and offline. Each kind's module says how its drift is undone
(:meth:`driftkeeper.kinds.Kind.plan`); :func:`make_plans` asks it for every drift of a scan
and :func:`render_plans_json` / :func:`render_plans_table` show the result
(``driftkeeper rollback plan``). Nothing here sends a request. See ``docs/rollback.md``.
"""

from __future__ import annotations

from ._make import GUARD_REASON, make_plans, plan_scan
from ._plan import (
    ARM_ENDPOINT,
    GRAPH_ENDPOINT,
    GUID_NAMESPACE,
    CannotPlan,
    Drift,
    Endpoints,
    Method,
    NotPlanned,
    Plan,
    Step,
    default_guid,
    plan_hash,
)
from ._render import plans_document, render_plans_json, render_plans_table

__all__ = [
    "ARM_ENDPOINT",
    "GRAPH_ENDPOINT",
    "GUARD_REASON",
    "GUID_NAMESPACE",
    "CannotPlan",
    "Drift",
    "Endpoints",
    "Method",
    "NotPlanned",
    "Plan",
    "Step",
    "default_guid",
    "make_plans",
    "plan_hash",
    "plan_scan",
    "plans_document",
    "render_plans_json",
    "render_plans_table",
]
