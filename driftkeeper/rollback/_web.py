"""``GET|POST /api/approvals/{token}``: the approval pages, without the Functions types.

:func:`respond` takes the request as plain values and the process's runtime, and answers a
:class:`~driftkeeper.rollback._page.Page`. In order, before anything else is looked at:

1. 503 unless App Service Authentication is on (or local development says otherwise);
2. 404 for a token that cannot be one (length, alphabet), before any table lookup, the same
   answer as for an unknown token;
3. 401 without a usable ``X-MS-CLIENT-PRINCIPAL``; 403 for a caller not an approver;
4. 404 for an unknown, replaced or malformed token.

A GET only reads: it renders the confirmation page (or says why it cannot), whatever its
query string says. A POST must be a small urlencoded form carrying the page's anti-forgery
value, from this host when the browser names an origin; then the decision is taken by the
store (conditionally: of racing approvals one executes) and, when it says so, the plan runs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from ._apply import decide_and_apply
from ._approval import (
    ApprovalRequest,
    Refused,
    check_form_value,
    form_value,
    is_token_shaped,
)
from ._page import Page, confirmation_page, message_page
from ._principal import Principal, is_approver, parse_client_principal

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["MAX_FORM_BYTES", "WebRequest", "respond"]

log = logging.getLogger(__name__)

MAX_FORM_BYTES = 8 * 1024
_FORM_TYPE = "application/x-www-form-urlencoded"
_FORM_FIELDS = frozenset({"decision", "comment", "form"})
_NOT_FOUND = ("Unknown link", "This approval link is unknown, replaced or malformed.")


@dataclass(frozen=True)
class WebRequest:
    """What the page needs of an HTTP request; ``headers`` with lower-case names."""

    method: str
    url: str
    token: str
    headers: Mapping[str, str]
    body: bytes = b""


def respond(runtime: Runtime, request: WebRequest, *, now: datetime | None = None) -> Page:
    """The answer to one request of the ``approvals`` route."""
    now = now or datetime.now(UTC)
    settings = runtime.settings
    problem = settings.approval_pages_problem
    if problem is not None:
        return message_page(503, "Approvals are off", problem, tone="bad")
    if settings.rollback == "off":
        return message_page(
            503,
            "Rollback is off",
            "Rollback is off (DRIFTKEEPER_ROLLBACK=off): nothing is decided or written here.",
            tone="bad",
        )
    if request.method not in ("GET", "POST"):
        return message_page(405, "Not allowed", "Only GET and POST are answered here.")
    if not is_token_shaped(request.token):
        return message_page(404, *_NOT_FOUND)
    principal = parse_client_principal(request.headers.get("x-ms-client-principal"))
    if principal is None:
        return message_page(401, "Sign-in required", "The caller is not signed in.")
    if not is_approver(principal, settings.approvers):
        return message_page(403, "Not an approver", "You are not an approver.", tone="bad")
    store = runtime.approvals()
    found = store.by_token(request.token)
    if found is None:
        return message_page(404, *_NOT_FOUND)
    key = settings.approval_key.encode("utf-8") if settings.approval_key else store.form_key()
    if request.method == "GET":
        return _show(runtime, found, principal, key, now)
    return _decide(runtime, request, found, principal, key, now)


def _show(
    runtime: Runtime, found: ApprovalRequest, principal: Principal, key: bytes, now: datetime
) -> Page:
    """The confirmation page, or why there is none. Reads only."""
    if found.status != "pending":
        return message_page(409, "Already decided", f"This request is {found.status}.")
    if now >= found.expires_at:
        return message_page(410, "Link expired", "This approval link has expired.")
    actors = {a.casefold() for a in found.drift_actor_ids}
    if principal.object_id in actors or (principal.upn and principal.upn.casefold() in actors):
        return message_page(
            403, "Not yours to decide", "You made this change: someone else decides its rollback."
        )
    if any(d.object_id == principal.object_id for d in found.decisions):
        return message_page(409, "Already decided", "You have already decided this request.")
    if runtime.current_plan_hash(found) != found.plan_hash:
        return message_page(
            409, "The drift changed", "The drift changed since this link was sent: it is void."
        )
    value = form_value(key, found.token_hash, principal.object_id)
    return confirmation_page(found, form_value=value, viewer=principal.shown)


def _form(request: WebRequest) -> dict[str, str] | Page:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != _FORM_TYPE:
        return message_page(415, "Bad form", f"Expected {_FORM_TYPE}.")
    if len(request.body) > MAX_FORM_BYTES:
        return message_page(413, "Bad form", "The form is too large.")
    try:
        text = request.body.decode("utf-8")
        fields = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=8)
    except (UnicodeDecodeError, ValueError):
        return message_page(400, "Bad form", "The form could not be read.")
    if set(fields) - _FORM_FIELDS or any(len(v) != 1 for v in fields.values()):
        return message_page(400, "Bad form", "The form has unexpected fields.")
    return {name: values[0] for name, values in fields.items()}


def _same_origin(request: WebRequest, public_url: str = "") -> bool:
    """False when the browser names an origin (``Origin``, else ``Referer``) other than
    this host or ``DRIFTKEEPER_PUBLIC_URL``'s (a front end may rewrite ``Host``).
    ``Origin: null`` (sent under ``Referrer-Policy: no-referrer``) names none."""
    own = {urlsplit(request.url).netloc.lower(), request.headers.get("host", "").lower()}
    if public_url:
        own.add(urlsplit(public_url).netloc.lower())
    own.discard("")
    for header in ("origin", "referer"):
        value = request.headers.get(header, "").strip()
        if value and value != "null":
            try:
                return urlsplit(value).netloc.lower() in own
            except ValueError:
                return False
    return True


def _address(headers: Mapping[str, str]) -> str:
    """The caller's address as the platform saw it: ``X-Client-IP``, else the last
    ``X-Forwarded-For`` entry (the one App Service appended; earlier ones are the client's
    own claims), printable only, at most 64 characters."""
    found = headers.get("x-client-ip", "").strip()
    if not found:
        found = headers.get("x-forwarded-for", "").split(",")[-1].strip()
    return "".join(c for c in found if c.isprintable())[:64]


def _decide(
    runtime: Runtime,
    request: WebRequest,
    found: ApprovalRequest,
    principal: Principal,
    key: bytes,
    now: datetime,
) -> Page:
    form = _form(request)
    if isinstance(form, Page):
        return form
    if not check_form_value(key, found.token_hash, principal.object_id, form.get("form", "")):
        return message_page(
            403, "Form refused", "The form is not from this page: open the link again.", tone="bad"
        )
    if not _same_origin(request, runtime.settings.public_url):
        return message_page(403, "Form refused", "The form was sent from another site.")
    applied = decide_and_apply(
        runtime,
        found,
        form.get("decision", ""),
        principal,
        address=_address(request.headers),
        comment=form.get("comment", ""),
        now=now,
    )
    if isinstance(applied, Refused):
        return message_page(applied.status_code, "Not decided", applied.reason, tone="bad")
    if applied.executed:
        tone = "ok" if applied.status == "rolled-back" else "warn"
        reason = str(applied.result.get("reason", "")) if applied.status != "rolled-back" else ""
        return message_page(
            200, "Approved", f"Rollback: {applied.status}. {reason}".strip(), tone=tone
        )
    if applied.status == "pending":
        return message_page(
            200,
            "Recorded",
            f"Your decision is recorded; {applied.waiting} more approver(s) needed.",
            tone="ok",
        )
    proposal = applied.proposal
    if applied.status == "accepted" and proposal.get("file"):
        what = "deleting" if proposal.get("removed") else "this change to"
        return message_page(
            200,
            "Accepted",
            f"The drift is accepted and its incident closed. Merge {what} "
            f"{proposal['file']} to make it the baseline:",
            tone="ok",
            listing=str(proposal.get("text", "")),
        )
    return message_page(200, "Decided", f"The request is {applied.status}.", tone="ok")
