"""Incident state: at most one open drift per (resource, rule), updated, not re-alerted.

One row per (resource, rule) holds the latest incident of that pair (``Generation`` counts
how often it was opened; the event table keeps the history). Keys:
PartitionKey = :func:`~driftkeeper.store.encode_key` of the lower-cased resource id (ARM ids
compare case-insensitively), RowKey = ``encode_key(rule)``.

Every write is conditional: a new row is created only if absent, an existing one replaced
only if its ETag is unchanged. A writer that loses a race re-reads and decides again, so two
concurrent deliveries of the same first drift open exactly one incident (the other sees its
own signal already applied: ``duplicate``). The ids of the last :data:`RECENT_SIGNALS`
signals applied are kept (hashed), and an event older than the last one applied never
changes the state, so retries and out-of-order deliveries are harmless.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from .._model import EventRecord
from ._keys import MAX_TEXT_UNITS, encode_key, event_time, short_hash, split_text, time_key

if TYPE_CHECKING:
    from azure.data.tables import TableClient

__all__ = [
    "INCIDENT_TABLE",
    "RECENT_SIGNALS",
    "Incident",
    "IncidentStatus",
    "Incidents",
    "Transition",
    "incident_keys",
]

log = logging.getLogger(__name__)

INCIDENT_TABLE = "incidents"
RECENT_SIGNALS = 64
MAX_ATTEMPTS = 20  # conditional-write rounds before giving up (ResourceModifiedError)

Transition = Literal["opened", "updated", "resolved", "unchanged", "duplicate"]
"""What :meth:`Incidents.observe` did: only ``opened`` calls for a new alert."""
IncidentStatus = Literal["open", "resolved"]


@dataclass(frozen=True)
class Incident:
    """The latest incident of one (resource, rule). Times are the events' ISO 8601 times."""

    resource: str
    rule: str
    kind: str
    severity: str
    status: IncidentStatus
    opened_at: str
    last_seen: str
    """Time of the last drift event applied."""
    resolved_at: str
    """Time of the compliant event that resolved it; empty while open."""
    count: int
    """Drift events applied since it was opened (the opening one included)."""
    last_signal_id: str
    last_message: str
    generation: int
    """1 for the first incident of this (resource, rule), +1 on every reopening."""
    alerted: Mapping[str, str]
    """Channel -> signal id of the alert delivered there for this generation."""

    @classmethod
    def from_entity(cls, entity: Mapping[str, Any]) -> Incident:
        alerts = json.loads(entity.get("Alerts") or "{}")
        return cls(
            resource=entity["Resource"],
            rule=entity["Rule"],
            kind=entity.get("Kind", ""),
            severity=entity.get("Severity", ""),
            status=entity["Status"],
            opened_at=entity.get("OpenedAt", ""),
            last_seen=entity.get("LastSeen", ""),
            resolved_at=entity.get("ResolvedAt", ""),
            count=int(entity.get("Count", 0)),
            last_signal_id=entity.get("LastSignalId", ""),
            last_message=entity.get("LastMessage", ""),
            generation=int(entity.get("Generation", 1)),
            alerted=MappingProxyType({k: v["signalId"] for k, v in alerts.items()}),
        )


def incident_keys(resource: str, rule: str) -> tuple[str, str]:
    """(PartitionKey, RowKey) of the incident row of ``resource`` and ``rule``."""
    if not resource or not rule:
        raise ValueError("an incident needs a resource and a rule")
    return encode_key(resource.lower()), encode_key(rule)


def _clip(text: str) -> str:
    return split_text(text, MAX_TEXT_UNITS)[0]


class Incidents:
    """The incidents table, over an injected ``azure.data.tables.TableClient``."""

    def __init__(self, table_client: TableClient) -> None:
        self._table = table_client

    def get(self, resource: str, rule: str) -> Incident:
        """The incident of ``resource`` and ``rule``; LookupError if there never was one."""
        entity = self._read(*incident_keys(resource, rule))
        if entity is None:
            raise LookupError(f"no incident for rule {rule!r} on {resource!r}")
        return Incident.from_entity(entity)

    def observe(self, record: EventRecord) -> Transition:
        """Apply one judged event to the incident of its (resource, rule).

        - drift, no open incident  -> ``opened`` (a new incident; alert)
        - drift, open incident     -> ``updated`` (count, lastSeen, lastSignalId; no alert)
        - compliant, open incident -> ``resolved``
        - compliant, none open     -> ``unchanged``
        - the signal was applied before (a retry, a redelivery) -> ``duplicate``
        - an event older than the last one applied -> ``unchanged`` (state kept)

        Outcomes other than drift and compliant (error, ignored, self, invalid) never change
        an incident: a failed read is not a resolution. Raises ValueError for a record
        without resource, rule or a valid time; service failures propagate.
        """
        if record.outcome not in ("drift", "compliant"):
            return "unchanged"
        partition, row = incident_keys(record.resource, record.rule)
        moment = time_key(event_time(record.time))
        signal = short_hash(record.signal_id)
        for _ in range(MAX_ATTEMPTS):
            entity = self._read(partition, row)
            if entity is None:
                if record.outcome == "compliant":
                    return "unchanged"
                if self._create(self._opened(record, moment, signal, {}, generation=1)):
                    self._log("opened", record)
                    return "opened"
                continue
            transition, changed = self._apply(entity, record, moment, signal)
            if changed is None or self._replace(changed, entity.metadata["etag"]):
                if changed is not None:
                    self._log(transition, record)
                return transition
        from azure.core.exceptions import ResourceModifiedError

        raise ResourceModifiedError(f"incident row kept changing: {partition}/{row}")

    def mark_alerted(self, resource: str, rule: str, signal_id: str, channel: str) -> bool:
        """Note that the alert for the current incident was delivered on ``channel``.

        Returns False when that channel was already marked for this incident (nothing
        written), True when this call marked it. LookupError if there is no incident.
        """
        if not channel:
            raise ValueError("channel must be non-empty")
        keys = incident_keys(resource, rule)
        for _ in range(MAX_ATTEMPTS):
            entity = self._read(*keys)
            if entity is None:
                raise LookupError(f"no incident for rule {rule!r} on {resource!r}")
            alerts = json.loads(entity.get("Alerts") or "{}")
            if channel in alerts:
                return False
            alerts[channel] = {"signalId": signal_id, "at": datetime.now(UTC).isoformat()}
            changed = {**entity, "Alerts": json.dumps(alerts, sort_keys=True)}
            if self._replace(changed, entity.metadata["etag"]):
                return True
        from azure.core.exceptions import ResourceModifiedError

        raise ResourceModifiedError(f"incident row kept changing: {keys[0]}/{keys[1]}")

    # -- decisions (no I/O) ---------------------------------------------------------------

    @staticmethod
    def _opened(
        record: EventRecord,
        moment: str,
        signal: str,
        previous: Mapping[str, Any],
        *,
        generation: int,
    ) -> dict[str, Any]:
        partition, row = incident_keys(record.resource, record.rule)
        recent = json.loads(previous.get("RecentSignals") or "[]")
        return {
            "PartitionKey": partition,
            "RowKey": row,
            "Resource": previous.get("Resource") or record.resource,
            "Rule": record.rule,
            "Kind": record.kind,
            "Severity": record.severity,
            "Status": "open",
            "OpenedAt": record.time,
            "LastSeen": record.time,
            "ResolvedAt": "",
            "Count": 1,
            "LastSignalId": record.signal_id,
            "LastMessage": _clip(record.message),
            "LastEventTime": moment,
            "Generation": generation,
            "RecentSignals": json.dumps([*recent, signal][-RECENT_SIGNALS:]),
            "Alerts": "{}",
        }

    def _apply(
        self, entity: Mapping[str, Any], record: EventRecord, moment: str, signal: str
    ) -> tuple[Transition, dict[str, Any] | None]:
        """The transition and the new row (None: nothing to write)."""
        recent: list[str] = json.loads(entity.get("RecentSignals") or "[]")
        if signal in recent:
            return "duplicate", None
        if moment < entity.get("LastEventTime", ""):
            return "unchanged", None  # older than what we already applied
        is_open = entity["Status"] == "open"
        if record.outcome == "drift" and not is_open:
            generation = int(entity.get("Generation", 1)) + 1
            return "opened", self._opened(record, moment, signal, entity, generation=generation)
        changed: dict[str, Any] = dict(entity)
        changed["LastEventTime"] = moment
        changed["RecentSignals"] = json.dumps([*recent, signal][-RECENT_SIGNALS:])
        if record.outcome == "drift":
            changed.update(
                Count=int(entity.get("Count", 0)) + 1,
                LastSeen=record.time,
                LastSignalId=record.signal_id,
                LastMessage=_clip(record.message),
                Severity=record.severity or entity.get("Severity", ""),
                Kind=record.kind or entity.get("Kind", ""),
            )
            return "updated", changed
        if is_open:
            changed.update(Status="resolved", ResolvedAt=record.time)
            return "resolved", changed
        return "unchanged", changed  # compliant again: only the last applied time moves

    # -- I/O --------------------------------------------------------------------------------

    def _read(self, partition: str, row: str) -> Any:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return self._table.get_entity(partition, row)
        except ResourceNotFoundError:
            return None

    def _create(self, entity: dict[str, Any]) -> bool:
        from azure.core.exceptions import ResourceExistsError

        try:
            self._table.create_entity(entity)
        except ResourceExistsError:
            return False
        return True

    def _replace(self, entity: Mapping[str, Any], etag: str) -> bool:
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
        from azure.data.tables import UpdateMode

        try:
            self._table.update_entity(
                dict(entity),
                mode=UpdateMode.REPLACE,
                etag=etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except (ResourceModifiedError, ResourceNotFoundError):
            return False
        return True

    @staticmethod
    def _log(transition: Transition, record: EventRecord) -> None:
        log.info(
            "incident %s: %s",
            transition,
            record.rule,
            extra={"resource": record.resource, "baseline": record.rule},
        )
