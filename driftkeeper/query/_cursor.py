"""The ``next`` token: where the next page starts, signed, bound to its query.

The token is ``<base64url(JSON)>.<base64url(HMAC-SHA256)>``. The JSON holds the query
(range and filters, as :meth:`EventQuery.to_json` writes them) and the service's
continuation keys (``NextPartitionKey``, ``NextRowKey``). It is opaque to the caller: the
signature is checked (in constant time) before anything in it is read, then every field is
validated again, so a forged or altered token is refused (400) and nothing a caller writes
can reach the next query. Without a token the caller could not even name the keys: they go
to the SDK as the continuation, never into the filter.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass

from ._params import EventQuery, ParameterError

__all__ = ["Cursor", "derive_key", "read_token", "write_token"]

_PURPOSE = b"driftkeeper/api/events/next/v1"
_B64URL = re.compile(r"[A-Za-z0-9_-]{1,16000}")
_KEY_VALUE = re.compile(r"[A-Za-z0-9!+/=_.:|~-]{1,1024}")
"""A continuation key as the service sends it: our own keys (``20260701``,
``2026-07-01T12:00:00.000000Z|3f2a...~001``) or Azure's encoded form (``1!12!MjAy...``)."""
_ROW_VALUE = re.compile(r"[A-Za-z0-9!+/=_.:|~-]{0,1024}")
_BAD = "a token returned by this API for this query"


@dataclass(frozen=True)
class Cursor:
    """Where a query's next page starts (the SDK's continuation token)."""

    query: EventQuery
    partition: str
    row: str | None

    def continuation(self) -> dict[str, str | None]:
        """The continuation token as ``TableClient.query_entities(...).by_page`` takes it."""
        return {"PartitionKey": self.partition, "RowKey": self.row}


def derive_key(secret: bytes) -> bytes:
    """The token-signing key, derived from a shared secret (never the secret itself)."""
    return hmac.new(secret, _PURPOSE, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not _B64URL.fullmatch(text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).digest()


def write_token(key: bytes, cursor: Cursor) -> str:
    """The opaque ``next`` token for ``cursor``."""
    body = json.dumps(
        {"q": cursor.query.to_json(), "pk": cursor.partition, "rk": cursor.row},
        separators=(",", ":"),
        sort_keys=True,
        ensure_ascii=True,
    ).encode("ascii")
    return f"{_b64(body)}.{_b64(_sign(key, body))}"


def read_token(key: bytes, token: str) -> Cursor:
    """The cursor in a token :func:`write_token` made with ``key``; ParameterError
    (``next``) for anything else: malformed, altered, forged or signed with another key."""
    head, dot, tail = token.partition(".")
    try:
        body, signature = _unb64(head), _unb64(tail)
    except (ValueError, binascii.Error):
        raise ParameterError("next", _BAD) from None
    if not dot or not hmac.compare_digest(signature, _sign(key, body)):
        raise ParameterError("next", _BAD)
    try:
        data = json.loads(body.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise ParameterError("next", _BAD) from None
    if not isinstance(data, dict) or set(data) != {"q", "pk", "rk"}:
        raise ParameterError("next", _BAD)
    partition, row = data["pk"], data["rk"]
    if not isinstance(partition, str) or not _KEY_VALUE.fullmatch(partition):
        raise ParameterError("next", _BAD)
    if row is not None and (not isinstance(row, str) or not _ROW_VALUE.fullmatch(row)):
        raise ParameterError("next", _BAD)
    return Cursor(EventQuery.from_json(data["q"]), partition, row)
