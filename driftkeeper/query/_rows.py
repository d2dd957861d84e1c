"""An event row as the API answers it: the columns of ``docs/event-table.md`` in camelCase.

Long columns split over ``Name``, ``Name1`` ... and continuation rows are joined, so every
value is whole. ``changes`` is the parsed JSON diff (kept as text if it is not JSON).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ..store._keys import join_text
from ..store._ledger import COLUMNS

__all__ = ["FIELDS", "event_row"]

_KEYS = (("PartitionKey", "partitionKey"), ("RowKey", "rowKey"))
_TEXT = tuple((column, column[0].lower() + column[1:]) for _, column in COLUMNS)
FIELDS: tuple[str, ...] = (
    *(name for _, name in _KEYS),
    "eventTime",
    *(name for _, name in _TEXT),
)
"""The keys of every row, in the order of the CSV columns."""


def _time(value: object) -> str:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    return "" if value is None else str(value)


_SURROGATE = re.compile("[\ud800-\udfff]")


def event_row(main: Mapping[str, Any], parts: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The API's row for one main row and its continuation rows (in order)."""
    merged: dict[str, Any] = {}
    for entity in (main, *parts):
        merged.update(entity)
    row: dict[str, Any] = {name: str(main[column]) for column, name in _KEYS}
    row["eventTime"] = _time(main.get("EventTime"))
    for column, name in _TEXT:
        row[name] = join_text(merged, column)
    with contextlib.suppress(ValueError):  # not JSON (a row from elsewhere): kept as text
        row["changes"] = json.loads(row["changes"] or "[]")
    printable: dict[str, Any] = _printable(row)
    return printable


def _printable(value: Any) -> Any:
    """``value`` with every lone surrogate (stored escaped, legal in JSON, not encodable in
    UTF-8) replaced by U+FFFD, so a hostile value can never break a page."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_printable(k): _printable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_printable(v) for v in value]
    return value
