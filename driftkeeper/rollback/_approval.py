"""Approval of a rollback: tokens, the request, and the rules of a decision. Pure.

A token is :func:`new_token` (256 random bits, URL-safe); only :func:`token_hash` of it is
stored. A request is bound to one incident (resource, rule, generation) and one plan
(:func:`plan_hash`), expires, and is decided by :func:`decide`:

=====================================================  ======  ===========================
case                                                   status  what happens
=====================================================  ======  ===========================
decision not approve, reject or accept                 400     refused
caller not an approver (id, UPN or group)              403     refused
request no longer pending (decided, void, executing)   409     refused
request expired                                        410     refused
the drift changed since (plan hash differs)            409     refused; the request void
caller made the drift                                  403     refused
caller already decided this request                    409     refused
reject                                                 200     status ``rejected``
approve / accept, fewer than ``required`` so far       200     recorded, still pending
approve / accept reaching ``required``                 200     ``approved`` (execute) /
                                                               ``accepted``
=====================================================  ======  ===========================

One reject closes the request. Approvals and accepts are counted apart: ``required`` distinct
approvers must agree on the same decision. The store writes the result conditionally, so of
two racing decisions only one is applied; the other is decided again on what it wrote.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, get_args

from ._principal import Principal, is_approver

__all__ = [
    "MAX_COMMENT",
    "TOKEN_PATTERN",
    "ApprovalRequest",
    "ApprovalStatus",
    "Decided",
    "Decision",
    "DecisionName",
    "Refused",
    "check_form_value",
    "clean_comment",
    "decide",
    "form_value",
    "is_token_shaped",
    "new_token",
    "plan_hash",
    "token_hash",
]

ApprovalStatus = Literal[
    "pending",
    "approved",
    "rejected",
    "accepted",
    "executing",
    "rolled-back",
    "rollback-failed",
    "rollback-skipped",
    "void",
]
STATUSES: tuple[ApprovalStatus, ...] = get_args(ApprovalStatus)
DecisionName = Literal["approve", "reject", "accept"]
DECISIONS: tuple[DecisionName, ...] = get_args(DecisionName)
FINAL: Mapping[DecisionName, ApprovalStatus] = {
    "approve": "approved",
    "reject": "rejected",
    "accept": "accepted",
}
MAX_COMMENT = 500
MAX_ADDRESS = 100
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")
"""What :func:`new_token` makes: 32 bytes, URL-safe base64 without padding."""
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_FORM_CONTEXT = b"driftkeeper/approval-form/v1"


def new_token() -> str:
    """A fresh approval token: 256 random bits, 43 URL-safe characters."""
    return secrets.token_urlsafe(32)


def is_token_shaped(token: str) -> bool:
    """Whether ``token`` could be one :func:`new_token` made (length and alphabet)."""
    return bool(TOKEN_PATTERN.fullmatch(token))


def token_hash(token: str) -> str:
    """What is stored of a token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def plan_hash(plan: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of a plan's canonical JSON: equal plans, equal hashes."""
    text = json.dumps(plan, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def clean_comment(text: str) -> str:
    """A comment as recorded: control and bidi-override characters removed, trimmed,
    at most :data:`MAX_COMMENT` characters."""
    return _CONTROL.sub("", text).replace("\r", "").strip()[:MAX_COMMENT]


@dataclass(frozen=True)
class Decision:
    """Who decided what, when (ISO 8601 UTC), from which address, with what comment."""

    decision: DecisionName
    object_id: str
    upn: str
    at: str
    address: str = ""
    comment: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "decision": self.decision,
            "objectId": self.object_id,
            "upn": self.upn,
            "at": self.at,
            "address": self.address,
            "comment": self.comment,
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Decision:
        return cls(
            decision=doc["decision"],
            object_id=doc["objectId"],
            upn=doc.get("upn", ""),
            at=doc["at"],
            address=doc.get("address", ""),
            comment=doc.get("comment", ""),
        )


@dataclass(frozen=True)
class ApprovalRequest:
    """A rollback waiting for (or past) approval. Times are timezone-aware datetimes."""

    resource: str
    rule: str
    generation: int
    kind: str
    baseline: str
    plan: Mapping[str, Any]
    """``{"kind", "resource", "baseline", "steps": [{"method", "url", "body", "before"?}],
    "permissions": [...]}``."""
    plan_hash: str
    token_hash: str
    created_at: datetime
    expires_at: datetime
    required: int = 1
    drift_actor_ids: tuple[str, ...] = ()
    """Object ids, app ids and UPNs of whoever made the drift (they may not approve)."""
    drift_actor: str = ""
    drift_time: str = ""
    status: ApprovalStatus = "pending"
    decisions: tuple[Decision, ...] = ()
    result: Mapping[str, Any] = field(default_factory=dict)
    """What the execution did (``outcome``, ``steps``, ``verify``), once it ran."""
    version: str = field(default="", compare=False)
    """The stored row's ETag (empty for a request not read from the store)."""

    def __post_init__(self) -> None:
        if self.required not in (1, 2):
            raise ValueError(f"required approvals must be 1 or 2, got {self.required}")
        if self.status not in STATUSES:
            raise ValueError(f"unknown approval status {self.status!r}")
        if self.created_at.tzinfo is None or self.expires_at.tzinfo is None:
            raise ValueError("approval times must be timezone-aware")

    def approvers_of(self, decision: DecisionName) -> list[Decision]:
        return [d for d in self.decisions if d.decision == decision]


@dataclass(frozen=True)
class Decided:
    """A decision applied: ``request`` is what to store; ``execute`` says the plan runs now
    (the decision that made approvals reach ``required``)."""

    request: ApprovalRequest
    decision: Decision
    execute: bool = False


@dataclass(frozen=True)
class Refused:
    """A decision refused with an HTTP status and a reason a person can read. ``request``
    is set when the refusal changes the request (the drift changed: it is now void)."""

    status_code: int
    reason: str
    request: ApprovalRequest | None = None


def decide(
    request: ApprovalRequest,
    decision: str,
    principal: Principal,
    *,
    now: datetime,
    current_plan_hash: str,
    approvers: Iterable[str],
    address: str = "",
    comment: str = "",
) -> Decided | Refused:
    """Apply ``principal``'s ``decision`` to ``request`` under the rules of the module.

    ``current_plan_hash`` is the hash of the plan the drift implies now ("" when the
    incident resolved or reopened since): a different one voids the request.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if decision not in DECISIONS:
        return Refused(400, "the decision must be approve, reject or accept")
    if not is_approver(principal, approvers):
        return Refused(403, "you are not an approver (DRIFTKEEPER_APPROVERS)")
    if request.status != "pending":
        return Refused(409, f"this request is no longer pending: it is {request.status}")
    if now >= request.expires_at:
        return Refused(410, "this approval link has expired")
    if not hmac.compare_digest(current_plan_hash, request.plan_hash):
        return Refused(
            409,
            "the drift changed since this link was sent: it is void, a new alert follows",
            replace(request, status="void"),
        )
    actors = {a.casefold() for a in request.drift_actor_ids}
    if principal.object_id in actors or (principal.upn and principal.upn.casefold() in actors):
        return Refused(403, "the person who made the change cannot decide its rollback")
    if any(d.object_id == principal.object_id for d in request.decisions):
        return Refused(409, "you have already decided this request")
    name: DecisionName = decision
    made = Decision(
        decision=name,
        object_id=principal.object_id,
        upn=principal.upn or principal.name,
        at=now.isoformat().replace("+00:00", "Z"),
        address=_CONTROL.sub("", address)[:MAX_ADDRESS],
        comment=clean_comment(comment),
    )
    decisions = (*request.decisions, made)
    agreeing = sum(1 for d in decisions if d.decision == name)
    done = name == "reject" or agreeing >= request.required
    status: ApprovalStatus = FINAL[name] if done else "pending"
    after = replace(request, decisions=decisions, status=status)
    return Decided(after, made, execute=done and name == "approve")


# --- anti-forgery ----------------------------------------------------------------------------


def form_value(key: bytes, token_hash: str, principal_object_id: str) -> str:
    """The anti-forgery value of the page a principal was shown for a token: HMAC-SHA256
    (hex) of both under ``key`` (the setting ``DRIFTKEEPER_APPROVAL_KEY`` or the store's)."""
    message = b"\x00".join(
        (_FORM_CONTEXT, token_hash.encode("ascii", "replace"), principal_object_id.encode())
    )
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def check_form_value(key: bytes, token_hash: str, principal_object_id: str, value: str) -> bool:
    """Whether ``value`` is :func:`form_value` of these (constant-time comparison)."""
    expected = form_value(key, token_hash, principal_object_id)
    return hmac.compare_digest(expected.encode(), value.encode("utf-8", "replace"))
