"""Who may call driftkeeper's HTTP routes: one check for every route that needs a person.

The caller is the one App Service Authentication names in ``X-MS-CLIENT-PRINCIPAL``, which
can be trusted only when the platform reports authentication on (``WEBSITE_AUTH_ENABLED``),
or when local development says so (``DRIFTKEEPER_LOCAL_AUTH=trust-header``). Otherwise the
routes answer 503 saying why. No principal: 401. A principal not named in the allowed list
(by object id, UPN or a group it is in): 403.

- reading (``/api/events``, ``/api/compliance``, ``/api/dashboard``): ``DRIFTKEEPER_READERS``
  or ``DRIFTKEEPER_APPROVERS``;
- deciding a rollback (``/api/approvals``): ``DRIFTKEEPER_APPROVERS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from .config import Settings
from .rollback._principal import Principal, is_approver, parse_client_principal

__all__ = ["Refusal", "Role", "caller"]

Role = Literal["read", "approve"]


@dataclass(frozen=True)
class Refusal:
    """Why a request is not served: the HTTP status and a sentence for the caller."""

    status_code: int
    reason: str


def caller(headers: Mapping[str, str], settings: Settings, role: Role) -> Principal | Refusal:
    """The authenticated caller allowed to ``role``, or why not (``headers`` with
    lower-case names, as ``azure.functions`` gives them)."""
    problem = settings.approval_pages_problem
    if problem is not None:
        return Refusal(503, problem.replace("approvals are refused", "requests are refused"))
    principal = parse_client_principal(headers.get("x-ms-client-principal"))
    if principal is None:
        return Refusal(401, "Sign-in required: the caller is not signed in.")
    allowed = settings.approvers if role == "approve" else (*settings.readers, *settings.approvers)
    if not is_approver(principal, allowed):
        what = "an approver" if role == "approve" else "a reader or an approver"
        return Refusal(403, f"Not allowed: the caller is not {what}.")
    return principal
