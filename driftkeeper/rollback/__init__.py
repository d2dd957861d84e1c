"""Rollback of drift: approval (``response: approve``) of a plan that restores a baseline.

- :mod:`._principal` who is calling (App Service Authentication's client principal);
- :mod:`._approval` tokens, the approval request and the rules of a decision (pure);
- :mod:`._page` the confirmation and result pages; :mod:`._web` the ``approvals`` route.

The requests are stored by :class:`driftkeeper.store.Approvals`; see ``docs/approvals.md``.
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
    plan_hash,
    token_hash,
)
from ._principal import Principal, is_approver, parse_client_principal

__all__ = [
    "ApprovalRequest",
    "ApprovalStatus",
    "Decided",
    "Decision",
    "DecisionName",
    "Principal",
    "Refused",
    "check_form_value",
    "decide",
    "form_value",
    "is_approver",
    "new_token",
    "parse_client_principal",
    "plan_hash",
    "token_hash",
]
