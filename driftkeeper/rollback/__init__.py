"""Rollback: the requests that restore a drifted setting to its baseline, and who may run them.

- plans (pure, offline): each kind's module says how its drift is undone
  (:meth:`driftkeeper.kinds.Kind.plan`); :func:`make_plans` asks it for every drift of a scan
  and :func:`render_plans_json` / :func:`render_plans_table` show the result
  (``driftkeeper rollback plan``). See ``docs/rollback.md``.
- execution: :mod:`._execute` (re-read, re-plan, write, verify), :mod:`._service` (plans,
  brakes, run once), :mod:`._stage` (the respond stage's part), :mod:`._brakes` (kill
  switch, flapping, budget), :mod:`._accept` (the baseline change an accepted drift implies).
- approval (``response: approve``): :mod:`._principal` who is calling (App Service
  Authentication's client principal); :mod:`._approval` tokens, the approval request and the
  rules of a decision (pure); :mod:`._page` the confirmation and result pages; :mod:`._web`
  the ``approvals`` route. Requests are stored by :class:`driftkeeper.store.Approvals`; see
  ``docs/approvals.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._approval import (
        ApprovalRequest,
        ApprovalStatus,
        Decided,
        Decision,
        DecisionName,
        Refused,
        check_form_value,
        decide,
        form_value,
        new_token,
        token_hash,
    )
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
        Write,
        default_guid,
        plan_hash,
    )
    from ._principal import Principal, is_approver, parse_client_principal
    from ._render import plans_document, render_plans_json, render_plans_table

_LAZY = {  # name -> the module that defines it, imported when the name is first used
    "ARM_ENDPOINT": "._plan",
    "ApprovalRequest": "._approval",
    "ApprovalStatus": "._approval",
    "CannotPlan": "._plan",
    "Decided": "._approval",
    "Decision": "._approval",
    "DecisionName": "._approval",
    "Drift": "._plan",
    "Endpoints": "._plan",
    "GRAPH_ENDPOINT": "._plan",
    "GUARD_REASON": "._make",
    "GUID_NAMESPACE": "._plan",
    "Method": "._plan",
    "NotPlanned": "._plan",
    "Plan": "._plan",
    "Principal": "._principal",
    "Refused": "._approval",
    "Step": "._plan",
    "Write": "._plan",
    "check_form_value": "._approval",
    "decide": "._approval",
    "default_guid": "._plan",
    "form_value": "._approval",
    "is_approver": "._principal",
    "make_plans": "._make",
    "new_token": "._approval",
    "parse_client_principal": "._principal",
    "plan_hash": "._plan",
    "plan_scan": "._make",
    "plans_document": "._render",
    "render_plans_json": "._render",
    "render_plans_table": "._render",
    "token_hash": "._approval",
}


__all__ = [
    "ARM_ENDPOINT",
    "GRAPH_ENDPOINT",
    "GUARD_REASON",
    "GUID_NAMESPACE",
    "ApprovalRequest",
    "ApprovalStatus",
    "CannotPlan",
    "Decided",
    "Decision",
    "DecisionName",
    "Drift",
    "Endpoints",
    "Method",
    "NotPlanned",
    "Plan",
    "Principal",
    "Refused",
    "Step",
    "Write",
    "check_form_value",
    "decide",
    "default_guid",
    "form_value",
    "is_approver",
    "make_plans",
    "new_token",
    "parse_client_principal",
    "plan_hash",
    "plan_scan",
    "plans_document",
    "render_plans_json",
    "render_plans_table",
    "token_hash",
]


def __getattr__(name: str) -> Any:
    """The package's names, each imported from its module when first asked for: the kinds
    import :mod:`._plan` at start-up, and need none of the approval or rendering code."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
