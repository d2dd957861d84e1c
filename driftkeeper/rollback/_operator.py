"""The operator's side of approvals, for the command line: who they are (from their own
Azure token), which request an incident id names, the incidents with their plans, the
accepted baseline written into their working copy, and values from the store made safe to
print on a terminal.

Deciding itself goes through :func:`._apply.decide_and_apply`, as the approval page does:
the same rules (approvers, self-approval, expiry, plan changed, two approvers).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import InputError
from ._incident_id import LENGTH, incident_id, is_incident_id
from ._principal import Principal, canonical_id

if TYPE_CHECKING:
    from ..incident_policy import Incident
    from ..store import Approvals
    from ._approval import ApprovalRequest

__all__ = [
    "IncidentEntry",
    "Written",
    "find_pending",
    "incident_entries",
    "operator_principal",
    "principal_from_token",
    "printable",
    "write_proposal",
]

_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]"
)
"""C0 and C1 controls, bidi marks, embeddings, overrides and isolates, zero-width and
line/paragraph separators, interlinear annotation: what a terminal would act on or hide."""
_MAX_CLAIM = 256
_MAX_TOKEN = 64 * 1024
_UPN_CLAIMS = ("upn", "preferred_username", "unique_name")
_BASELINE_SUFFIXES = (".yaml", ".yml")


def printable(value: Any) -> str:
    """``value`` as text safe to print on a terminal: every control, bidi or invisible
    character shown as ``\\xNN`` (C0, C1) or ``[U+NNNN]``, so nothing from the store can
    move the cursor, recolour, retitle the window or reorder what is shown."""

    def shown(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code <= 0x9F else f"[U+{code:04X}]"

    return _UNSAFE.sub(shown, str(value))


# --- who the operator is ------------------------------------------------------------------


def principal_from_token(token: str) -> Principal | None:
    """The principal an Entra access token names: ``oid`` (required), the UPN from ``upn``,
    ``preferred_username`` or ``unique_name``, ``name``, and ``groups``. The payload is read
    without checking the signature: this is the operator's own token, just obtained from
    their credential (see ``docs/approvals.md``). None when it is not such a token."""
    parts = token.split(".") if len(token) <= _MAX_TOKEN else []
    if len(parts) != 3:
        return None
    raw = parts[1]
    try:
        decoded = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        doc = json.loads(decoded.decode("utf-8"))
    except (binascii.Error, ValueError, RecursionError):
        return None
    if not isinstance(doc, dict):
        return None
    object_id = canonical_id(_claim(doc.get("oid")))
    if object_id is None:
        return None
    groups = doc.get("groups")
    ids = [canonical_id(_claim(g)) for g in groups] if isinstance(groups, list) else []
    return Principal(
        object_id=object_id,
        upn=next((u for c in _UPN_CLAIMS if (u := _claim(doc.get(c)))), ""),
        name=_claim(doc.get("name")),
        groups=tuple(dict.fromkeys(g for g in ids if g)),
    )


def _claim(value: Any) -> str:
    if not isinstance(value, str) or len(value) > _MAX_CLAIM or _UNSAFE.search(value):
        return ""
    return value.strip()


def operator_principal(credential: Any, arm_endpoint: str) -> Principal:
    """Who holds ``credential``: the principal of its token for the ARM scope (the one every
    ``az login`` and managed identity can get). InputError when it names nobody."""
    from azure.core.exceptions import ClientAuthenticationError

    try:
        token = credential.get_token(arm_endpoint.rstrip("/") + "/.default").token
    except ClientAuthenticationError as exc:
        first = str(exc.message or exc).strip().splitlines()[:1]
        raise InputError(
            "could not get a token from your Azure credential (az login?): "
            + printable(first[0] if first else type(exc).__name__)
        ) from exc
    principal = principal_from_token(str(token))
    if principal is None:
        raise InputError(
            "your Azure credential's token names no object id (oid): cannot tell who decides"
        )
    return principal


# --- which request ----------------------------------------------------------------------


def find_pending(approvals: Approvals, incident: str) -> ApprovalRequest:
    """The pending approval request of the incident ``incident`` names (its
    :func:`~._incident_id.incident_id`). InputError when the id is malformed, or names no
    pending request, or more than one."""
    wanted = incident.strip().lower()
    if not is_incident_id(wanted):
        raise InputError(
            f"{printable(incident)!s} is not an incident id ({LENGTH} hex digits, "
            "as `driftkeeper incidents` shows)"
        )
    found = [r for r in approvals.list() if incident_id(r.resource, r.rule, r.generation) == wanted]
    pending = [r for r in found if r.status == "pending"]
    if len(pending) > 1:
        raise InputError(f"incident {wanted} names {len(pending)} pending requests: ambiguous")
    if not pending:
        why = f"its request is {found[0].status}" if found else "no pending approval request"
        raise InputError(f"incident {wanted}: {why} (see `driftkeeper incidents`)")
    return pending[0]


# --- the listing ------------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentEntry:
    """One incident as ``driftkeeper incidents`` shows it, with its approval request."""

    id: str
    incident: Incident
    request: ApprovalRequest | None = None

    @property
    def steps(self) -> list[tuple[str, str]]:
        """(method, URL) of each step of the request's plan."""
        if self.request is None:
            return []
        steps = self.request.plan.get("steps")
        return [
            (str(s.get("method", "")), str(s.get("url", "")))
            for s in (steps if isinstance(steps, list) else [])
            if isinstance(s, Mapping)
        ]

    def to_dict(self) -> dict[str, Any]:
        i, r = self.incident, self.request
        return {
            "id": self.id,
            "kind": i.kind,
            "resource": i.resource,
            "rule": i.rule,
            "severity": i.severity,
            "status": i.status,
            "opened": i.opened_at,
            "lastSeen": i.last_seen,
            "count": i.count,
            "generation": i.generation,
            "approval": None
            if r is None
            else {
                "status": r.status,
                "required": r.required,
                "expires": r.expires_at.isoformat().replace("+00:00", "Z"),
                "decisions": [d.to_dict() for d in r.decisions],
                "steps": [{"method": m, "url": u} for m, u in self.steps],
            },
        }


def incident_entries(
    incidents: Sequence[Incident], requests: Iterable[ApprovalRequest]
) -> list[IncidentEntry]:
    """``incidents`` (in their order), each with the approval request of its generation."""
    by_key = {(r.resource.lower(), r.rule, r.generation): r for r in requests}
    return [
        IncidentEntry(
            incident_id(i.resource, i.rule, i.generation),
            i,
            by_key.get((i.resource.lower(), i.rule, i.generation)),
        )
        for i in incidents
    ]


# --- the accepted baseline --------------------------------------------------------------


@dataclass(frozen=True)
class Written:
    """What :func:`write_proposal` did to the working copy."""

    path: Path
    removed: bool = False


def write_proposal(proposal: Mapping[str, Any], baselines_dir: str | Path) -> Written:
    """Write an accepted drift's proposed baseline file (``{"file", "text", "removed"}``)
    into the working copy: the file replaced, or deleted when ``removed``. The file must
    resolve (symbolic links followed) inside ``baselines_dir`` and be a ``.yaml``/``.yml``
    file; InputError otherwise, nothing written."""
    file = proposal.get("file")
    if not isinstance(file, str) or not file:
        raise InputError("the proposal names no baseline file")
    root = Path(baselines_dir).resolve()
    path = Path(file).resolve()
    if not path.is_relative_to(root) or path == root:
        raise InputError(
            f"the proposed file {printable(file)} is outside the baselines directory "
            f"{printable(baselines_dir)}: not written"
        )
    if path.suffix.lower() not in _BASELINE_SUFFIXES:
        raise InputError(f"the proposed file {printable(file)} is not a YAML file: not written")
    if proposal.get("removed"):
        path.unlink(missing_ok=True)
        return Written(path, removed=True)
    text = proposal.get("text")
    if not isinstance(text, str):
        raise InputError("the proposal carries no file text")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return Written(path)
