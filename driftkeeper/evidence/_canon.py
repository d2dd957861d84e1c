"""The canonical form of a table row, and the hashes a seal is made of.

A row's canonical form is the JSON object of its ``PartitionKey``, ``RowKey`` and every
property, each property as ``[EDM type, text]``, keys sorted, ASCII only. The service's
``Timestamp`` is left out (the SDK keeps the ETag in the entity's metadata, never as a
property): rewriting a row with the same values gives the same hash (an idempotent retry is
not tampering). Any other property, even one named ``etag``, is hashed. A DateTime is hashed
at the service's full precision (100 ns ticks): as microseconds when the ticks beyond them are
zero, else with the further digits appended.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

__all__ = ["ROW_HASH_CHARS", "chain_digest", "day_digest", "list_digest", "row_hash"]

ROW_HASH_CHARS = 16
"""Hex digits of each row's hash kept in a seal's row list (64 bits)."""


_FRACTION = re.compile(r"\.(\d+)")


def _datetime_text(value: datetime) -> str:
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    text = moment.astimezone(UTC).isoformat(timespec="microseconds")
    service = getattr(value, "tables_service_value", None)
    if isinstance(service, str):
        found = _FRACTION.search(service)
        beyond = found.group(1)[6:].rstrip("0") if found else ""
        if beyond:  # ticks finer than a microsecond: keep them
            text = text.replace("+00:00", f"{beyond}+00:00")
    return text


def _typed(value: Any) -> list[str]:
    edm = getattr(value, "edm_type", None)
    if edm is not None and hasattr(value, "value"):  # azure.data.tables.EntityProperty
        return [str(getattr(edm, "value", edm)), _typed(value.value)[1]]
    if isinstance(value, bool):
        return ["Edm.Boolean", "true" if value else "false"]
    if isinstance(value, int):
        return ["Edm.Int", str(value)]
    if isinstance(value, float):
        return ["Edm.Double", repr(value)]
    if isinstance(value, datetime):
        return ["Edm.DateTime", _datetime_text(value)]
    if isinstance(value, (bytes, bytearray)):
        return ["Edm.Binary", base64.b64encode(bytes(value)).decode("ascii")]
    if isinstance(value, str):
        return ["Edm.String", value]
    if value is None:
        return ["Null", ""]
    return [type(value).__name__, str(value)]


def canonical(entity: Mapping[str, Any]) -> bytes:
    """The canonical bytes of one row (every property but ``Timestamp``)."""
    body: dict[str, Any] = {}
    for name, value in entity.items():
        if name in ("PartitionKey", "RowKey"):
            body[name] = str(value)
        elif name != "Timestamp":
            body[name] = _typed(value)
    text = json.dumps(body, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return text.encode("ascii")


def row_hash(entity: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of a row's canonical form."""
    return hashlib.sha256(canonical(entity)).hexdigest()


def day_digest(rows: Iterable[tuple[str, str]]) -> str:
    """SHA-256 over ``(RowKey, full row hash)`` pairs in RowKey order: a day's digest."""
    digest = hashlib.sha256()
    for row_key, full in sorted(rows):
        digest.update(json.dumps([row_key, full], ensure_ascii=True).encode("ascii"))
        digest.update(b"\n")
    return digest.hexdigest()


def list_digest(pairs: Sequence[Sequence[str]]) -> str:
    """SHA-256 of a seal's row list (``[[RowKey, 16 hex], ...]`` as stored)."""
    text = json.dumps([list(p) for p in pairs], ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def chain_digest(day: str, rows: int, digest: str, rows_list: str, previous: str) -> str:
    """The chained digest of a seal: its day, row count, day digest, row-list digest and the
    previous seal's chained digest."""
    text = json.dumps([day, rows, digest, rows_list, previous], separators=(",", ":"))
    return hashlib.sha256(text.encode("ascii")).hexdigest()
