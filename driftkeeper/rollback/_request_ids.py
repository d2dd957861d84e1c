"""Client request ids that say "driftkeeper wrote this", checkable without a lookup.

Every write of a rollback carries a client request id; Azure hands it back in the change's
Event Grid event (``data.correlationId``, ``data.httpRequest.clientRequestId``) and Entra
audit record (``correlationId``). The id is a UUID (version 8, RFC 9562) whose first 8 bytes
are random and whose last 8 carry an HMAC-SHA256 of them under a key every instance shares
(the approvals table's form key, or ``DRIFTKEEPER_APPROVAL_KEY``). So any instance
recognises an event of our own writes by its id alone, with no table read, and nobody
without the key can make an id that passes (58 bits of MAC after the variant bits).

Our identity (``DRIFTKEEPER_SELF_IDS``) is checked too; the id is what still recognises our
change when an event names another caller (a write through a delegated credential).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable

__all__ = ["is_own_request_id", "own_request_id"]

_CONTEXT = b"driftkeeper client request id v1:"


def _mac(key: bytes, nonce: bytes) -> bytes:
    return hmac.new(key, _CONTEXT + nonce, hashlib.sha256).digest()[:8]


def own_request_id(key: bytes) -> str:
    """A new client request id signed with ``key``."""
    nonce = bytearray(secrets.token_bytes(8))
    nonce[6] = (nonce[6] & 0x0F) | 0x80  # version 8
    raw = bytearray(bytes(nonce) + _mac(key, bytes(nonce)))
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 9562 variant
    return str(uuid.UUID(bytes=bytes(raw)))


def is_own_request_id(key: bytes | Callable[[], bytes], text: str) -> bool:
    """Whether ``text`` is a client request id :func:`own_request_id` made with ``key``.

    ``key`` may be a function giving it, called only for a text of the ids' shape (a
    version-8 UUID), so a caller whose key costs a read pays it only then."""
    if not isinstance(text, str) or len(text) > 64:
        return False
    try:
        raw = uuid.UUID(text.strip()).bytes
    except ValueError:
        return False
    if raw[6] >> 4 != 8:
        return False
    if callable(key):
        key = key()
    if not key:
        return False
    expected = bytearray(_mac(key, raw[:8]))
    expected[0] = (expected[0] & 0x3F) | 0x80
    return hmac.compare_digest(bytes(expected), raw[8:])
