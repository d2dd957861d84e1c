"""The Log Analytics row of an event-table row, and calls of at most 1 MB.

The stream's columns are :data:`STREAM_COLUMNS` (name, Log Analytics type), derived from the
event table's columns, so the data collection rule, the docs and the rows cannot disagree.
A row is built from the table entities themselves (the main row and its continuation rows),
so what Log Analytics holds is what the table holds: the same ``PartitionKey`` and
``RowKey`` (the dedupe key, see ``docs/dashboards.md``), long values joined, then each
string cut to :data:`MAX_VALUE_BYTES` of JSON (the service keeps 64 KB of a string) with the
cut columns named in ``Truncated``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from .._model import EventRecord
from ..store import record_keys
from ..store._keys import event_time, join_text
from ..store._ledger import COLUMNS, PART_MARK, _changes_json

__all__ = [
    "MAX_CALL_BYTES",
    "MAX_VALUE_BYTES",
    "STREAM_COLUMNS",
    "calls",
    "log_row",
    "record_row",
    "row_size",
]

MAX_CALL_BYTES = 1_000_000
"""The JSON body of one call, before gzip (the service answers 413 above 1 MB)."""
MAX_VALUE_BYTES = 32_000
"""JSON bytes of one string value; 20 columns of it stay well under a call."""

STREAM_COLUMNS: tuple[tuple[str, str], ...] = (
    ("TimeGenerated", "datetime"),
    ("PartitionKey", "string"),
    ("RowKey", "string"),
    ("EventTime", "datetime"),
    *((column, "string") for _, column in COLUMNS),
    ("Truncated", "string"),
)
"""The stream declaration (and custom table) columns, in order."""


def _iso(moment: Any) -> str:
    if isinstance(moment, datetime):
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return str(moment)


def _cut(text: str) -> tuple[str, bool]:
    """``text`` whose JSON form fits :data:`MAX_VALUE_BYTES`, and whether it was cut."""
    size = len(json.dumps(text))
    if size <= MAX_VALUE_BYTES:
        return text, False
    keep = len(text)
    while size > MAX_VALUE_BYTES:
        keep = max(0, min(keep - 1, keep * MAX_VALUE_BYTES // size - 8))
        size = len(json.dumps(text[:keep]))
    return text[:keep], True


def _row(keys: tuple[str, str], when: str, values: Mapping[str, str]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "TimeGenerated": when,
        "PartitionKey": keys[0],
        "RowKey": keys[1],
        "EventTime": when,
    }
    cut: list[str] = []
    for column, text in values.items():
        value, was_cut = _cut(text)
        row[column] = value
        if was_cut:
            cut.append(column)
    row["Truncated"] = ",".join(cut)
    return row


def log_row(main: Mapping[str, Any], parts: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The Log Analytics row of one event as the table holds it: its main row and its
    continuation rows (the reconcile timer's resend reads them)."""
    if PART_MARK in str(main.get("RowKey", "")):
        raise ValueError("a continuation row is not an event")
    merged: dict[str, Any] = {}
    for entity in (main, *parts):
        merged.update(entity)
    keys = (str(main["PartitionKey"]), str(main["RowKey"]))
    values = {column: join_text(merged, column) for _, column in COLUMNS}
    return _row(keys, _iso(merged.get("EventTime", "")), values)


def record_row(record: EventRecord) -> dict[str, Any]:
    """The row of ``record`` as :func:`log_row` gives it once the ledger wrote it, without
    building the table entities (the recording path: the row is the same, a test checks)."""
    values = {
        column: _changes_json(record.changes) if name == "changes" else str(getattr(record, name))
        for name, column in COLUMNS
    }
    return _row(record_keys(record), _iso(event_time(record.time)), values)


def row_size(row: Mapping[str, Any]) -> int:
    """Bytes of ``row`` in a call's body (the SDK writes ``json.dumps``)."""
    return len(json.dumps(row).encode("utf-8"))


def calls(rows: Sequence[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """``rows`` in order, grouped so each call's body (``[row, row]``) stays within
    :data:`MAX_CALL_BYTES`. (The SDK's own split counts the rows but not the ``, `` between
    them, so a call of many small rows could pass 1 MB: each group is sent as one call.)"""
    batch: list[dict[str, Any]] = []
    used = 2  # "[]"
    for row in rows:
        size = row_size(row)
        extra = size + (2 if batch else 0)
        if batch and used + extra > MAX_CALL_BYTES:
            yield batch
            batch, used, extra = [], 2, size
        batch.append(row)
        used += extra
    if batch:
        yield batch
