"""The ``next`` token: where the next page starts, signed, bound to its query.

The token is ``<base64url(JSON)>.<base64url(HMAC-SHA256)>``. The JSON holds the query
(range and filters, as :meth:`EventQuery.to_json` writes them), when it was issued (``t``,
Unix seconds: a token older than :data:`TOKEN_TTL` is refused with a 400 that says so), and
either the service's continuation keys (``NextPartitionKey``, ``NextRowKey``) or, for a page
cut short by its byte limit, the RowKey of the first event not sent (``r``: the next page
starts there). It is opaque to the caller: the
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
from datetime import UTC, datetime, timedelta

from ._params import EventQuery, ParameterError

__all__ = ["TOKEN_TTL", "Cursor", "derive_key", "read_token", "write_token"]

TOKEN_TTL = timedelta(hours=1)
"""How long a ``next`` token is accepted after it was issued."""
_SKEW = timedelta(minutes=5)
"""How far in the future an issue time may be (another instance's clock)."""

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
    resume: str | None = None
    """The RowKey the next page starts at (a page cut by its byte limit); then the
    continuation keys are not used."""

    def continuation(self) -> dict[str, str | None] | None:
        """The continuation token as ``TableClient.query_entities(...).by_page`` takes it."""
        if self.resume is not None:
            return None
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


def write_token(key: bytes, cursor: Cursor, *, now: datetime | None = None) -> str:
    """The opaque ``next`` token for ``cursor``, issued ``now``."""
    issued = int((now or datetime.now(UTC)).timestamp())
    data: dict[str, object] = {"q": cursor.query.to_json(), "t": issued}
    if cursor.resume is not None:
        data["r"] = cursor.resume
    else:
        data.update(pk=cursor.partition, rk=cursor.row)
    body = json.dumps(
        data,
        separators=(",", ":"),
        sort_keys=True,
        ensure_ascii=True,
    ).encode("ascii")
    return f"{_b64(body)}.{_b64(_sign(key, body))}"


def read_token(
    key: bytes, token: str, *, now: datetime | None = None, ttl: timedelta = TOKEN_TTL
) -> Cursor:
    """The cursor in a token :func:`write_token` made with ``key`` less than ``ttl`` ago;
    ParameterError (``next``) for anything else: malformed, altered, forged, signed with
    another key, or expired."""
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
    if not isinstance(data, dict) or set(data) not in ({"q", "t", "pk", "rk"}, {"q", "t", "r"}):
        raise ParameterError("next", _BAD)
    issued = data["t"]
    if isinstance(issued, bool) or not isinstance(issued, int):
        raise ParameterError("next", _BAD)
    moment = now or datetime.now(UTC)
    age = moment.timestamp() - issued
    if age > ttl.total_seconds():
        raise ParameterError(
            "next",
            f"a token less than {ttl.total_seconds() / 3600:g} hour(s) old; this one expired "
            f"{_ago(age - ttl.total_seconds())} ago: start the query again without next",
        )
    if age < -_SKEW.total_seconds():
        raise ParameterError("next", _BAD)
    query = EventQuery.from_json(data["q"])
    if "r" in data:
        resume = data["r"]
        if not isinstance(resume, str) or not _KEY_VALUE.fullmatch(resume):
            raise ParameterError("next", _BAD)
        return Cursor(query, "", None, resume=resume)
    partition, row = data["pk"], data["rk"]
    if not isinstance(partition, str) or not _KEY_VALUE.fullmatch(partition):
        raise ParameterError("next", _BAD)
    if row is not None and (not isinstance(row, str) or not _ROW_VALUE.fullmatch(row)):
        raise ParameterError("next", _BAD)
    return Cursor(query, partition, row)


def _ago(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes} minute(s)" if minutes < 120 else f"{minutes // 60} hour(s)"
