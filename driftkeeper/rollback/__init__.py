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
