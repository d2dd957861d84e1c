"""Table keys and property sizes: what Azure Table Storage accepts, made deterministic.

- :func:`encode_key` turns any string into a valid PartitionKey / RowKey, injectively.
- :func:`event_time` / :func:`time_key` parse an event time and give its sortable form.
- :func:`short_hash` names a tuple of strings in 16 hex digits.
- :func:`split_text` cuts a long string into property-sized pieces, :func:`split_columns`
  names them as properties and :func:`join_text` reads them back; :func:`property_size`
  and :func:`entity_base_size` follow the service's entity-size formula.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from .._time import parse_time

__all__ = [
    "ENTITY_BUDGET",
    "MAX_KEY_UNITS",
    "MAX_TEXT_UNITS",
    "encode_key",
    "entity_base_size",
    "event_time",
    "join_text",
    "property_size",
    "short_hash",
    "split_columns",
    "split_text",
    "time_key",
    "utf16_units",
]

MAX_TEXT_UNITS = 32_000
"""UTF-16 code units per string property (the service allows 64 KiB, strings are UTF-16)."""
ENTITY_BUDGET = 1_048_576 - 16_384
"""Bytes per entity by the service's formula (limit 1 MiB), less a margin for system columns."""
MAX_KEY_UNITS = 255
"""Longest key kept readable; longer ones keep a prefix and end in ``~~`` + a hash."""

# Characters a key may not contain (/ \ # ?, control characters) and our escape mark ~.
_KEY_ESCAPE = re.compile(r"[/\\#?~%\x00-\x1f\x7f-\x9f]|[\ud800-\udfff]")


_PLAIN = re.compile(r'[^"\\\x00-\x1f\x7f]*')
"""ASCII text that JSON writes as is (no quote, backslash or control character)."""


def utf16_units(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (what the service counts)."""
    if text.isascii():  # the common case, without a loop in Python
        return len(text)
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _escape(match: re.Match[str]) -> str:
    raw = match.group().encode("utf-8", "surrogatepass")
    return "".join(f"~{byte:02X}" for byte in raw)


def encode_key(value: str) -> str:
    """A PartitionKey / RowKey for ``value``; distinct values give distinct keys.

    ``/ \\ # ? %``, control characters and ``~`` itself become ``~XX`` (the UTF-8 bytes in
    hex). An escaped value longer than :data:`MAX_KEY_UNITS` keeps a readable prefix and ends
    in ``~~`` and 32 hex digits of its SHA-256 (``~~`` never appears in an escaped value).
    """
    escaped = _KEY_ESCAPE.sub(_escape, value)
    if utf16_units(escaped) <= MAX_KEY_UNITS:
        return escaped
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    prefix = escaped[: MAX_KEY_UNITS // 2]
    prefix = re.sub(r"~[0-9A-F]?$", "", prefix)  # never cut an escape in half
    return f"{prefix}~~{digest}"


def short_hash(*parts: str) -> str:
    """16 hex digits of SHA-256 over ``parts`` (length-safe: ``("a|b",)`` != ``("a", "b")``)."""
    blob = json.dumps(parts, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return hashlib.sha256(blob).hexdigest()[:16]


def event_time(value: str) -> datetime:
    """An event time as the event table keys it: :func:`~driftkeeper._time.parse_time` with
    the table's range (1601 on); raises :class:`~driftkeeper.TimeFormatError`, a ValueError."""
    return parse_time(value, table_range=True, what="event time")


def time_key(moment: datetime) -> str:
    """Fixed-width UTC form that sorts as time does: ``2026-07-01T12:00:00.000000Z``."""
    if moment.tzinfo is None:
        raise ValueError("a time bound must be timezone-aware")
    # isoformat: twice as fast as strftime, and a year before 1000 keeps four digits
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"  # "+00:00"


def split_text(text: str, limit: int = MAX_TEXT_UNITS) -> list[str]:
    """Cut ``text`` into pieces of at most ``limit`` UTF-16 units, never inside a character.

    Always at least one piece (``[""]`` for the empty string).
    """
    if len(text) <= limit // 2 or utf16_units(text) <= limit:
        return [text]
    return list(_pieces(text, limit))


def split_columns(column: str, text: str) -> dict[str, str]:
    """``text`` as properties ``column``, ``column1``, ``column2``... (see :func:`split_text`)."""
    return {f"{column}{index or ''}": piece for index, piece in enumerate(split_text(text))}


def join_text(entity: Mapping[str, Any], column: str) -> str:
    """The text split over ``column``, ``column1``, ``column2``... (by :func:`split_text`), joined.

    A missing or null ``column`` reads as the empty string.
    """
    first = entity.get(column)
    pieces = ["" if first is None else str(first)]
    index = 1
    while f"{column}{index}" in entity:
        pieces.append(str(entity[f"{column}{index}"]))
        index += 1
    return "".join(pieces)


def _pieces(text: str, limit: int) -> Iterator[str]:
    start = 0
    units = 0
    for index, ch in enumerate(text):
        width = 2 if ord(ch) > 0xFFFF else 1
        if units + width > limit:
            yield text[start:index]
            start, units = index, 0
        units += width
    yield text[start:]


def property_size(name: str, value: object) -> int:
    """Bytes a property counts towards the 1 MiB entity limit.

    The larger of the service's published formula (strings in UTF-16) and the property's
    size on the wire as the SDK sends it (JSON with ``\\uXXXX`` escapes), which is what
    Azurite measures: a row that fits both is accepted by both.
    """
    if isinstance(value, str):
        body = utf16_units(value) * 2 + 4
    elif isinstance(value, bool):
        body = 1
    elif isinstance(value, int):
        body = 4 if -(2**31) <= value < 2**31 else 8
    elif isinstance(value, (float, datetime)):
        body = 8
    elif isinstance(value, bytes):
        body = len(value) + 4
    else:
        raise TypeError(f"unsupported property type for {name}: {type(value).__name__}")
    formula = 8 + utf16_units(name) * 2 + body
    if isinstance(value, str) and value.isascii() and _PLAIN.fullmatch(value):
        wire = len(name) + len(value) + 6  # both quoted, nothing escaped
    else:
        wire = len(json.dumps(name)) + len(json.dumps(value, default=str)) + 2
    if isinstance(value, (datetime, bytes)) or (isinstance(value, int) and body == 8):
        wire += len(json.dumps(f"{name}@odata.type")) + 20  # "Edm.DateTime" and the like
    return max(formula, wire)


def entity_base_size(partition_key: str, row_key: str) -> int:
    """Bytes an entity counts before its properties."""
    return 4 + (utf16_units(partition_key) + utf16_units(row_key)) * 2
