"""The period's event records, read one by one for the pack.

Unlike :meth:`driftkeeper.store.Ledger.query` (which raises on the first row it cannot
read), a row that cannot be assembled into a record (a missing or unreadable continuation
row, ``Changes`` that is not JSON, a column of the wrong type, no time) does not stop the
pack: it is returned as :class:`Unreadable`, with its raw columns and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .._model import EventRecord
from ..store._keys import join_text, time_key
from ..store._ledger import COLUMNS, PART_MARK, _record_from

if TYPE_CHECKING:
    from azure.data.tables import TableClient

__all__ = ["Unreadable", "read_records"]


@dataclass(frozen=True)
class Unreadable:
    """A row of the period that is not a readable record."""

    key: tuple[str, str]
    reason: str
    raw: Mapping[str, str]
    """Its columns (continuation columns merged) as text, by column name."""

    def to_dict(self) -> dict[str, str]:
        return {"day": self.key[0], "rowKey": self.key[1], "reason": self.reason}


def _text(value: Any) -> str:
    inner = getattr(value, "value", value) if hasattr(value, "edm_type") else value
    return "" if inner is None else str(inner)


def _raw(main: Mapping[str, Any], parts: list[Mapping[str, Any]]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for entity in (main, *parts):
        merged.update((name, _text(value)) for name, value in entity.items())
    return {column: join_text(merged, column) for _, column in COLUMNS}


def _parts_of(main: Mapping[str, Any]) -> int:
    count = main.get("Parts", 0)
    if isinstance(count, bool) or not isinstance(count, int):
        raise ValueError(f"Parts is not a 32-bit integer: {_text(count)!r}")
    if not 0 <= count <= 999:
        raise ValueError(f"Parts out of range: {count}")
    return count


def read_records(
    events: TableClient, start: datetime, end: datetime
) -> tuple[list[tuple[tuple[str, str], EventRecord]], list[Unreadable]]:
    """Records with ``start <= time < end`` (key order) and the rows that are unreadable."""
    first, last = time_key(start), time_key(end)
    query = events.query_entities(
        "PartitionKey ge @first_day and PartitionKey le @last_day "
        "and RowKey ge @first and RowKey lt @last",
        parameters={
            "first_day": first[:10].replace("-", ""),
            "last_day": last[:10].replace("-", ""),
            "first": first,
            "last": last,
        },
    )
    mains: list[Mapping[str, Any]] = []
    seen: dict[tuple[str, str], Mapping[str, Any]] = {}
    for entity in query:
        key = (str(entity["PartitionKey"]), str(entity["RowKey"]))
        if PART_MARK in key[1]:
            seen[key] = entity
        else:
            mains.append(entity)
    mains.sort(key=lambda e: (str(e["PartitionKey"]), str(e["RowKey"])))
    records: list[tuple[tuple[str, str], EventRecord]] = []
    unreadable: list[Unreadable] = []
    for main in mains:
        key = (str(main["PartitionKey"]), str(main["RowKey"]))
        parts: list[Mapping[str, Any]] = []
        try:
            for number in range(1, _parts_of(main) + 1):
                part_key = (key[0], f"{key[1]}{PART_MARK}{number:03d}")
                part = seen.get(part_key)
                if part is None:
                    part = _get(events, part_key)
                if part is None:
                    raise ValueError(f"continuation row {part_key[1]} is missing")
                parts.append(part)
            record = _record_from(main, parts)
            if not record.time or not isinstance(record.time, str):
                raise ValueError("the row has no time")
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            unreadable.append(Unreadable(key, str(exc) or type(exc).__name__, _raw(main, parts)))
            continue
        records.append((key, record))
    return records, unreadable


def _get(events: TableClient, key: tuple[str, str]) -> Mapping[str, Any] | None:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return events.get_entity(*key)
    except ResourceNotFoundError:
        return None
