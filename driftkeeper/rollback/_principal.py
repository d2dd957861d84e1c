"""Who is calling: the ``X-MS-CLIENT-PRINCIPAL`` header App Service Authentication sets.

The header is base64 of a JSON document ``{"auth_typ", "name_typ", "role_typ", "claims":
[{"typ", "val"}, ...]}``. App Service strips any copy a client sends, so the header can be
trusted only when the platform's authentication is on (see ``docs/approvals.md``); this
module only parses it. A header that is missing, larger than :data:`MAX_HEADER_BYTES`, not
base64, not that JSON, or without an object id gives None (the caller answers 401).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MAX_HEADER_BYTES",
    "Principal",
    "canonical_id",
    "is_approver",
    "parse_client_principal",
]

MAX_HEADER_BYTES = 16 * 1024
"""A larger header is refused unread (a token with thousands of groups overflows anyway)."""
_MAX_CLAIMS = 2_000
_MAX_TEXT = 256
_OBJECT_ID = ("http://schemas.microsoft.com/identity/claims/objectidentifier", "oid")
_UPN = (  # the UPN first: preferred_username can be changed by its user, the UPN cannot
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
    "upn",
    "preferred_username",
)
_NAME = ("name", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name")
_GROUPS = ("groups",)
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_BASE64 = re.compile(r"[A-Za-z0-9+/\-_]*={0,2}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: object id (canonical GUID), UPN, display name, group ids."""

    object_id: str
    upn: str = ""
    name: str = ""
    groups: tuple[str, ...] = ()

    @property
    def shown(self) -> str:
        """How a page or a record names the caller: the UPN, else the name, else the id."""
        return self.upn or self.name or self.object_id


def canonical_id(value: str) -> str | None:
    """A GUID in canonical form (lower case, dashed), or None if ``value`` is not one."""
    if not _GUID.fullmatch(value):
        return None
    return str(uuid.UUID(value))


def _text(value: Any) -> str:
    if not isinstance(value, str) or len(value) > _MAX_TEXT or _CONTROL.search(value):
        return ""
    return value.strip()


def parse_client_principal(header: str | None) -> Principal | None:
    """The caller the header names, or None when it is missing or unusable."""
    if not header or len(header) > MAX_HEADER_BYTES or not _BASE64.fullmatch(header.strip()):
        return None
    raw = header.strip().replace("-", "+").replace("_", "/").rstrip("=")
    try:
        decoded = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        doc = json.loads(decoded.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    claims = doc.get("claims") if isinstance(doc, dict) else None
    if not isinstance(claims, list) or len(claims) > _MAX_CLAIMS:
        return None
    values: dict[str, list[str]] = {}
    for claim in claims:
        if not isinstance(claim, dict):
            return None
        typ, val = _text(claim.get("typ")), _text(claim.get("val"))
        if typ and val:
            values.setdefault(typ, []).append(val)

    def first(names: Iterable[str]) -> str:
        return next((values[n][0] for n in names if n in values), "")

    object_id = canonical_id(first(_OBJECT_ID))
    if object_id is None:
        return None
    groups = {g: None for n in _GROUPS for v in values.get(n, []) if (g := canonical_id(v))}
    return Principal(
        object_id=object_id,
        upn=first(_UPN),
        name=first(_NAME),
        groups=tuple(groups),
    )


def is_approver(principal: Principal, approvers: Iterable[str]) -> bool:
    """Whether ``principal`` is named in ``approvers`` by object id, UPN or a group it is
    in. Ids compare as canonical GUIDs, UPNs casefolded; an empty list names nobody."""
    ids = {principal.object_id, *principal.groups}
    upn = principal.upn.casefold()
    for entry in approvers:
        guid = canonical_id(entry.strip())
        if guid is not None:
            if guid in ids:
                return True
        elif upn and entry.strip().casefold() == upn:
            return True
    return False
