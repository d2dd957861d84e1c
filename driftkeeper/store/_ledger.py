"""The event table: one row per (signal, setting, rule), keyed for queries by time range.

Keys (see ``docs/event-table.md``):

- PartitionKey: the UTC day of the event time, ``YYYYMMDD``;
- RowKey: ``<UTC event time, fixed width>|<16 hex of SHA-256(signal id, setting, rule)>``.

Both come from the record alone, so writing a record again (an Event Grid redelivery, a
retried function) replaces the same row: nothing a retry does can duplicate a row. Text
columns longer than 32,000 UTF-16 units are split over ``Name``, ``Name1``, ``Name2`` ...;
what does not fit the 1 MiB entity limit goes to continuation rows ``<RowKey>~001``,
``<RowKey>~002`` ... in the same partition, written before the main row (so a reader never
sees a main row whose parts are missing) and reassembled by :meth:`Ledger.query`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, get_args

from .._model import Change, EventRecord, Outcome
from ._keys import (
    ENTITY_BUDGET,
    entity_base_size,
    event_time,
    join_text,
    property_size,
    short_hash,
    split_text,
    time_key,
    utf16_units,
)

if TYPE_CHECKING:
    from azure.data.tables import TableClient

__all__ = ["EVENT_TABLE", "OUTCOMES", "Ledger", "record_entities", "record_keys"]

log = logging.getLogger(__name__)

EVENT_TABLE = "driftevents"
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
MAX_OPERATIONS = 100  # per transaction (service limit)
MAX_PAYLOAD = 3 * 1024 * 1024  # bytes per transaction body; the service allows 4 MiB
PART_MARK = "~"  # RowKey of a continuation row: <main RowKey>~001

# EventRecord field -> column. Columns in this order fill the main row first.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("signal_id", "SignalId"),
    ("time", "Time"),
    ("source", "Source"),
    ("event_type", "EventType"),
    ("outcome", "Outcome"),
    ("resource", "Resource"),
    ("setting", "Setting"),
    ("kind", "Kind"),
    ("rule", "Rule"),
    ("severity", "Severity"),
    ("operation", "Operation"),
    ("correlation_id", "CorrelationId"),
    ("actor_upn", "ActorUpn"),
    ("actor_app_id", "ActorAppId"),
    ("actor_object_id", "ActorObjectId"),
    ("actor_ip", "ActorIp"),
    ("message", "Message"),
    ("changes", "Changes"),
)
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def record_keys(record: EventRecord) -> tuple[str, str]:
    """(PartitionKey, RowKey) of a record's main row; a function of the record alone."""
    moment = event_time(record.time)
    digest = short_hash(record.signal_id, record.setting, record.rule)
    return moment.strftime("%Y%m%d"), f"{time_key(moment)}|{digest}"


def _changes_json(changes: Sequence[Change]) -> str:
    items = [change.to_dict() for change in changes]
    text = json.dumps(items, ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates are not text the service stores: escape
        text = json.dumps(items, separators=(",", ":"))
    return text


def record_entities(record: EventRecord) -> list[dict[str, Any]]:
    """The rows one record becomes: continuation rows (if any) first, the main row last.

    Raises ValueError for an unknown outcome, an empty signal id or a bad event time.
    """
    if record.outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {record.outcome!r}; expected one of {OUTCOMES}")
    if not record.signal_id:
        raise ValueError("an event record needs a signal id")
    partition, row = record_keys(record)
    values: dict[str, str] = {}
    for field, column in COLUMNS:
        value = getattr(record, field)
        values[column] = _changes_json(value) if field == "changes" else str(value)

    first: list[tuple[str, Any]] = [("EventTime", event_time(record.time))]
    rest: list[tuple[str, Any]] = []
    for column, text in values.items():
        pieces = split_text(text)
        first.append((column, pieces[0]))
        rest.extend((f"{column}{i}", piece) for i, piece in enumerate(pieces[1:], start=1))

    main: dict[str, Any] = {"PartitionKey": partition, "RowKey": row}
    used = entity_base_size(partition, row) + property_size("Parts", 0)
    properties = iter(first + rest)
    overflow: list[tuple[str, Any]] = []
    for name, value in properties:
        size = property_size(name, value)
        if used + size > ENTITY_BUDGET:
            overflow = [(name, value), *properties]
            break
        main[name] = value
        used += size

    parts = _continuation_rows(partition, row, overflow)
    main["Parts"] = len(parts)
    return [*parts, main]


def _continuation_rows(
    partition: str, row: str, properties: list[tuple[str, Any]]
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    used = 0
    for name, value in properties:
        size = property_size(name, value)
        if not current or used + size > ENTITY_BUDGET:
            key = f"{row}{PART_MARK}{len(rows) + 1:03d}"
            current = {"PartitionKey": partition, "RowKey": key, "Part": len(rows) + 1}
            rows.append(current)
            used = entity_base_size(partition, key) + property_size("Part", 0)
        current[name] = value
        used += size
    return rows


def _payload_size(entity: Mapping[str, Any]) -> int:
    return len(json.dumps(entity, default=str).encode("utf-8", "surrogatepass")) + 512


def _transactions(
    entities: Iterable[dict[str, Any]],
) -> Iterator[list[dict[str, Any]]]:
    """Group rows into transactions: one partition each, <= 100 rows, <= MAX_PAYLOAD bytes.

    Rows keep their order within a partition, so a record's continuation rows are committed
    before (or with) its main row.
    """
    by_partition: dict[str, list[dict[str, Any]]] = {}
    for entity in entities:
        by_partition.setdefault(entity["PartitionKey"], []).append(entity)
    for rows in by_partition.values():
        batch: list[dict[str, Any]] = []
        payload = 0
        for entity in rows:
            size = _payload_size(entity)
            if batch and (len(batch) >= MAX_OPERATIONS or payload + size > MAX_PAYLOAD):
                yield batch
                batch, payload = [], 0
            batch.append(entity)
            payload += size
        if batch:
            yield batch


def _record_from(main: Mapping[str, Any], parts: Sequence[Mapping[str, Any]]) -> EventRecord:
    merged: dict[str, Any] = {}
    for entity in (main, *parts):
        merged.update(entity)
    fields: dict[str, Any] = {}
    for field, column in COLUMNS:
        fields[field] = join_text(merged, column)
    changes = json.loads(fields.pop("changes") or "[]")
    return EventRecord(
        **fields,
        changes=tuple(Change(c["path"], c["expected"], c["actual"]) for c in changes),
    )


def _check_filter_value(name: str, value: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    if _CONTROL.search(value) or utf16_units(value) > 32_000:
        raise ValueError(f"{name} contains control characters or is too long")
    return value


class Ledger:
    """The event table, over an injected ``azure.data.tables.TableClient``.

    Service failures (connection refused, timeouts, 5xx) propagate as azure-core exceptions
    (``ServiceRequestError``, ``ServiceResponseError``, ``HttpResponseError``) so the trigger
    fails and the platform retries; the retry rewrites the same keys.
    """

    def __init__(self, table_client: TableClient) -> None:
        self._table = table_client

    def record(self, records: Sequence[EventRecord]) -> None:
        """Write one row per record (plus continuation rows for huge ones), idempotently.

        Rows are upserted (replace: a rewrite leaves no stale column behind) in
        transactions of up to 100 rows of one partition (a lone row as a plain upsert).
        A record given twice in ``records`` is written once (the last one wins).
        """
        from azure.data.tables import TransactionOperation, UpdateMode

        unique: dict[tuple[str, str], EventRecord] = {}
        for record in records:
            unique[record_keys(record)] = record
        entities = [e for record in unique.values() for e in record_entities(record)]
        replace = {"mode": UpdateMode.REPLACE}
        for batch in _transactions(entities):
            if len(batch) == 1:  # as atomic, and ~3x faster than a one-row transaction
                self._table.upsert_entity(batch[0], mode=UpdateMode.REPLACE)
                continue
            self._table.submit_transaction(
                [(TransactionOperation.UPSERT, entity, replace) for entity in batch]
            )
        log.debug("recorded %d event rows (%d records)", len(entities), len(unique))

    def query(
        self,
        *,
        since: datetime,
        until: datetime | None = None,
        kind: str | None = None,
        outcome: str | None = None,
        resource: str | None = None,
    ) -> list[EventRecord]:
        """Records with ``since <= time < until``, optionally of one kind, outcome or resource.

        ``since`` and ``until`` must be timezone-aware. ``kind`` must be a plain token
        (letters, digits, ``.``, ``_``, ``-``), ``outcome`` one of :data:`OUTCOMES`;
        ``resource`` matches the recorded resource exactly. Values travel as OData
        parameters, never spliced into the filter. Raises ValueError for bad input before
        anything is sent. Records come back in time order.
        """
        clauses = ["PartitionKey ge @since_day", "RowKey ge @since"]
        params: dict[str, Any] = {
            "since_day": self._day(since, "since"),
            "since": time_key(since),
        }
        if until is not None:
            until_day = self._day(until, "until")
            if until <= since:
                raise ValueError("until must be later than since")
            clauses += ["PartitionKey le @until_day", "RowKey lt @until"]
            params.update(until_day=until_day, until=time_key(until))
        if kind is not None:
            if not isinstance(kind, str) or not _TOKEN.fullmatch(kind):
                raise ValueError(f"kind must be a plain token, got {kind!r}")
            clauses.append("Kind eq @kind")
            params["kind"] = kind
        if outcome is not None:
            if outcome not in OUTCOMES:
                raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
            clauses.append("Outcome eq @outcome")
            params["outcome"] = outcome
        if resource is not None:
            clauses.append("Resource eq @resource")
            params["resource"] = _check_filter_value("resource", resource)

        mains: list[Mapping[str, Any]] = []
        parts: dict[tuple[str, str], Mapping[str, Any]] = {}
        for entity in self._table.query_entities(" and ".join(clauses), parameters=params):
            key = (entity["PartitionKey"], entity["RowKey"])
            if PART_MARK in key[1]:
                parts[key] = entity
            else:
                mains.append(entity)
        mains.sort(key=lambda e: (e["PartitionKey"], e["RowKey"]))
        return [self._assemble(main, parts) for main in mains]

    @staticmethod
    def _day(moment: datetime, name: str) -> str:
        if not isinstance(moment, datetime) or moment.tzinfo is None:
            raise ValueError(f"{name} must be a timezone-aware datetime")
        return time_key(moment)[:10].replace("-", "")

    def _assemble(
        self, main: Mapping[str, Any], seen: Mapping[tuple[str, str], Mapping[str, Any]]
    ) -> EventRecord:
        partition, row = main["PartitionKey"], main["RowKey"]
        parts = []
        for number in range(1, int(main.get("Parts", 0)) + 1):
            key = (partition, f"{row}{PART_MARK}{number:03d}")
            part = seen.get(key)
            parts.append(part if part is not None else self._table.get_entity(*key))
        return _record_from(main, parts)
