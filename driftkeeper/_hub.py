"""Event Hubs intake: the messages of one ``cardinality=many`` trigger invocation, to parsed
signals, judged in one pipeline pass.

A message body is JSON of one of these shapes:

- Event Grid events delivered to an Event Hub (Event Grid or CloudEvents schema): one event
  or an array of events, read by :func:`driftkeeper.intake.parse_events`;
- the Azure Monitor diagnostic-settings envelope ``{"records": [...]}`` that Entra ID
  streams its audit logs in. A record of category ``AuditLogs`` carries, in ``properties``,
  the fields of a Graph ``directoryAudit`` (``id``, ``activityDateTime``, ``initiatedBy``,
  ``targetResources`` ...); :func:`audit_record` maps it onto the record the audit poll reads
  from Graph, so both paths give the same :class:`~driftkeeper.signals.Signal` (same id,
  same time, so the same event-table row and the same incident entry: running both never
  doubles a row or an alert). Records of other categories (sign-ins, and audit categories
  the poll does not read either) are not for driftkeeper: skipped and counted.

Nothing here raises for what a message holds: a body that is not UTF-8 JSON, an envelope or
record of the wrong shape, becomes an :class:`~driftkeeper.intake.Invalid` (recorded and
acknowledged), keyed by a digest of what it holds so a redelivery rewrites the same row.
:func:`process_messages` judges the batch in one :meth:`Pipeline.process` pass (one read per
resource, one Table transaction per partition); a transient failure raises (the platform
retries the batch, and retrying doubles nothing); any other failure of the whole pass falls
back to one pass per message, and a message that still fails is recorded ``invalid``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from .intake import (
    MAX_LENGTHS,
    Invalid,
    Parsed,
    _audit_record,
    _digest,
    _iso,
    _text,
    parse_events,
)
from .live import AUDIT_CATEGORIES
from .pipeline import SignalResult, is_transient, poison_reason

__all__ = [
    "AUDIT_LOGS",
    "BatchProcessor",
    "HubBatch",
    "Message",
    "audit_record",
    "parse_message",
    "process_messages",
]

log = logging.getLogger(__name__)

AUDIT_LOGS = "auditlogs"
"""The diagnostic-settings category of Entra audit logs (compared case-insensitively)."""
SOURCE = "eventhub"
"""The source of an ``invalid`` row for a message or envelope that is not readable at all."""
_RESULTS = {0: "success", 1: "failure", 2: "timeout"}
"""Graph's ``operationResult`` members by number (some streamed records carry the number)."""
_WATCHED = frozenset(c.casefold() for c in AUDIT_CATEGORIES)


class Message(Protocol):
    """What the trigger hands over per message (``azure.functions.EventHubEvent``)."""

    def get_body(self) -> bytes: ...

    @property
    def enqueued_time(self) -> datetime | None: ...


class BatchProcessor(Protocol):
    """Judges parsed signals (:class:`~driftkeeper.pipeline.Pipeline`)."""

    def process(self, parsed: Iterable[Parsed]) -> list[SignalResult]: ...


@dataclass(frozen=True)
class HubBatch:
    """What one invocation did."""

    messages: int
    results: list[SignalResult]
    skipped: int = 0
    """Diagnostic records of a category driftkeeper does not read."""
    one_by_one: bool = False
    """Whether the batch pass failed and its messages were judged one by one."""


def parse_message(body: bytes, *, enqueued: datetime | None = None) -> tuple[list[Parsed], int]:
    """The items of one message body, and how many records were skipped (not ours)."""
    when = _iso(enqueued) if enqueued is not None else ""
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        reason = f"message body is not UTF-8 JSON ({type(exc).__name__})"
        return [Invalid(_body_digest(body), reason, SOURCE, when)], 0
    if isinstance(payload, Mapping) and "records" in payload:
        return _records(payload, body, when)
    if not isinstance(payload, Mapping | list) or payload == []:
        reason = f"message body is a JSON {type(payload).__name__}, not an event or records"
        return [Invalid(_body_digest(body), reason, SOURCE, when)], 0
    return parse_events(payload), 0


def _records(payload: Mapping[str, Any], body: bytes, when: str) -> tuple[list[Parsed], int]:
    records = payload["records"]
    if not isinstance(records, list):
        reason = f'"records" is a JSON {type(records).__name__}, not an array'
        return [Invalid(_body_digest(body), reason, SOURCE, when)], 0
    out: list[Parsed] = []
    skipped = 0
    for record in records:
        mapped = audit_record(record)
        if mapped is None:
            skipped += 1
        elif isinstance(mapped, Invalid):
            out.append(mapped)
        else:
            out.append(_audit_record(mapped))
    return out, skipped


def audit_record(record: Any) -> dict[str, Any] | Invalid | None:
    """A diagnostic-settings ``AuditLogs`` record as the Graph ``directoryAudit`` the audit
    poll reads (None: a record of another category, not for driftkeeper).

    ``properties`` holds the directoryAudit fields; what it lacks is taken from the envelope
    (``time``, ``correlationId``, ``operationName``), a numeric ``result`` becomes Graph's
    name for it, and a UTC offset of ``+00:00`` is written ``Z`` as Graph writes it.
    """
    if not isinstance(record, Mapping):
        reason = f"diagnostic record is a JSON {type(record).__name__}, not an object"
        return Invalid(_digest(record), reason, SOURCE)
    category = record.get("category")
    if not isinstance(category, str) or category.casefold() != AUDIT_LOGS:
        return None if isinstance(category, str) else _bad(record, "record without a category")
    properties = record.get("properties")
    if isinstance(properties, str):  # some pipelines forward the column as JSON text
        try:
            properties = json.loads(properties)
        except (ValueError, RecursionError):
            return _bad(record, "AuditLogs record whose properties are not JSON")
    if not isinstance(properties, Mapping):
        return _bad(record, "AuditLogs record without a properties object")
    audit = dict(properties)
    audit_category = audit.get("category")
    if isinstance(audit_category, str) and audit_category.casefold() not in _WATCHED:
        return None  # the poll asks Graph for the watched categories only
    for graph_name, envelope_name in (
        ("activityDateTime", "time"),
        ("correlationId", "correlationId"),
        ("activityDisplayName", "operationName"),
    ):
        if audit.get(graph_name) in (None, "") and isinstance(record.get(envelope_name), str):
            audit[graph_name] = record[envelope_name]
    result = audit.get("result")
    if isinstance(result, int) and not isinstance(result, bool):
        audit["result"] = _RESULTS.get(result, str(result))
    when = audit.get("activityDateTime")
    if isinstance(when, str) and when.endswith("+00:00"):
        audit["activityDateTime"] = when[: -len("+00:00")] + "Z"
    return audit


def process_messages(pipeline: BatchProcessor, messages: Sequence[Message]) -> HubBatch:
    """Judge every message of a batch in one pipeline pass (see the module notes).

    Raises what the pipeline raises when it is transient (:func:`is_transient`).
    """
    parsed: list[list[Parsed]] = []
    skipped = 0
    for message in messages:
        items, skips = _parse(message)
        parsed.append(items)
        skipped += skips
    try:
        return HubBatch(
            len(messages), pipeline.process(p for items in parsed for p in items), skipped
        )
    except Exception as exc:
        if is_transient(exc):
            raise
        log.exception("a batch of %d messages failed as one; judging them one by one", len(parsed))
    results: list[SignalResult] = []
    for message, items in zip(messages, parsed, strict=True):
        try:
            results.extend(pipeline.process(items))
        except Exception as exc:
            if is_transient(exc):
                raise
            reason = poison_reason(exc)
            log.exception("message not processed; recorded invalid: %s", reason)
            results.extend(pipeline.process([_unreadable(message, reason)]))
    return HubBatch(len(messages), results, skipped, one_by_one=True)


def _parse(message: Message) -> tuple[list[Parsed], int]:
    enqueued = _enqueued(message)
    try:
        body = message.get_body()
    except Exception as exc:  # a body the worker could not hand over: still recorded
        return [_unreadable(message, f"no message body ({type(exc).__name__})")], 0
    if not isinstance(body, bytes | bytearray):
        return [_unreadable(message, f"message body is {type(body).__name__}, not bytes")], 0
    return parse_message(bytes(body), enqueued=enqueued)


def _unreadable(message: Message, reason: str) -> Invalid:
    """A message that could not be processed at all, keyed by its body (or its place)."""
    when = _enqueued(message)
    try:
        body = message.get_body()
        key = _body_digest(bytes(body))
    except Exception:  # no body: the broker's coordinates, stable across redeliveries
        place = [str(getattr(message, k, "")) for k in ("partition_key", "sequence_number")]
        key = _digest(place)
    return Invalid(key, reason, SOURCE, _iso(when) if when is not None else "")


def _enqueued(message: Message) -> datetime | None:
    when = getattr(message, "enqueued_time", None)
    return when if isinstance(when, datetime) else None


def _bad(record: Mapping[str, Any], reason: str) -> Invalid:
    """An unusable record, keyed by its audit id when it has a usable one."""
    properties = record.get("properties")
    ident = properties.get("id") if isinstance(properties, Mapping) else None
    usable = isinstance(ident, str) and 0 < len(ident) <= MAX_LENGTHS["id"]
    key = _text(ident) if usable else ""
    when = record.get("time")
    return Invalid(
        key or _digest(record), reason, SOURCE, when[:64] if isinstance(when, str) else ""
    )


def _body_digest(body: bytes) -> str:
    return _digest(body.decode("latin-1"))
