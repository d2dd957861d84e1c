"""Incident state on Table Storage: one row per (resource, rule), read once and written at
most once (conditionally) per judged event. What happens to it is decided by
:mod:`driftkeeper.incident_policy`; this module reads, writes and serializes.

Keys: PartitionKey = :func:`~driftkeeper.store.encode_key` of the lower-cased resource id
(ARM ids compare case-insensitively), RowKey = ``encode_key(rule)``. A row holds two tracks
(see :mod:`driftkeeper.incident_policy`): the drift track in the plain columns (``Status``,
``OpenedAt`` ...) and the read-error track in the same columns prefixed ``ReadError``
(``ReadErrorStatus`` ...). ``Generation`` counts how often a track was opened; the event
table keeps the history.

Every write is conditional: a new row is created only if absent, an existing one replaced
only if its ETag is unchanged. A writer that loses a race re-reads and decides again, so two
concurrent deliveries of the same first drift open exactly one incident (the other sees its
own signal already applied: ``duplicate``). The ids of the last
:data:`~driftkeeper.incident_policy.RECENT_SIGNALS` signals applied are kept (hashed), and
an event older than the last one applied never changes the state, so retries and
out-of-order deliveries are harmless.
"""

from __future__ import annotations

import builtins
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .._model import EventRecord
from ..incident_policy import (
    READ_ERROR,
    Claim,
    Incident,
    IncidentRow,
    Observation,
    Track,
    accept,
    observe,
    record_deliveries,
)
from ._conditional import TableRows
from ._keys import encode_key

if TYPE_CHECKING:
    pass

__all__ = ["INCIDENT_TABLE", "Incidents", "incident_keys", "row_from_entity", "to_entity"]

log = logging.getLogger(__name__)

INCIDENT_TABLE = "incidents"
MAX_ATTEMPTS = 20  # conditional-write rounds before giving up (ResourceModifiedError)
PREFIX: Mapping[Track, str] = {"drift": "", "read-error": "ReadError"}
"""Column prefix of each track."""


def incident_keys(resource: str, rule: str) -> tuple[str, str]:
    """(PartitionKey, RowKey) of the incident row of ``resource`` and ``rule``."""
    if not resource or not rule:
        raise ValueError("an incident needs a resource and a rule")
    return encode_key(resource.lower()), encode_key(rule)


class Incidents(TableRows):
    """The incidents table, over an injected ``azure.data.tables.TableClient``.

    ``clock`` gives the wall-clock time of alert claims and deliveries.
    """

    def get(self, resource: str, rule: str, *, read_error: bool = False) -> Incident:
        """The incident of ``resource`` and ``rule`` (its read-error incident with
        ``read_error=True``); LookupError if there never was one."""
        entity = self._read(*incident_keys(resource, rule))
        track: Track = "read-error" if read_error else "drift"
        incident = None if entity is None else row_from_entity(entity).track(track)
        if incident is None:
            what = "read-error incident" if read_error else "incident"
            raise LookupError(f"no {what} for rule {rule!r} on {resource!r}")
        return incident

    def list(self, *, open_only: bool = False) -> builtins.list[Incident]:
        """Every incident, drift and read-error tracks alike (``open_only``: the open ones),
        the latest seen first. One query over the table; service failures propagate."""
        found: builtins.list[Incident] = []
        for entity in self._table.list_entities():
            row = row_from_entity(entity)
            for track in PREFIX:
                incident = row.track(track)
                if incident is not None and (not open_only or incident.status == "open"):
                    found.append(incident)
        return sorted(found, key=lambda i: (i.last_seen, i.opened_at), reverse=True)

    def observe(self, record: EventRecord, *, alerting: bool = True) -> Observation:
        """Apply one judged event to the row of its (resource, rule): one read, and one
        conditional write when something changes (see :mod:`driftkeeper.incident_policy`
        for what changes). Raises ValueError for a record without resource, rule or a valid
        time; service failures propagate."""
        if record.outcome not in ("drift", "compliant", "error"):
            return observe(None, record, now=self._clock(), alerting=alerting)[1]
        partition, row_key = incident_keys(record.resource, record.rule)
        for _ in range(MAX_ATTEMPTS):
            entity = self._read(partition, row_key)
            before = None if entity is None else row_from_entity(entity)
            after, observation = observe(before, record, now=self._clock(), alerting=alerting)
            if after is None:
                etag = None if entity is None else entity.metadata["etag"]
                return _with_version(observation, etag)
            if entity is None:
                etag = self._create(to_entity(after))
            else:
                etag = self._replace(to_entity(after), entity.metadata["etag"])
            if etag is not None:
                self._log(observation)
                return _with_version(observation, etag)
        from azure.core.exceptions import ResourceModifiedError

        raise ResourceModifiedError(f"incident row kept changing: {partition}/{row_key}")

    def observe_many(
        self, records: Sequence[EventRecord], *, alerting: bool = True
    ) -> builtins.list[Observation]:
        """Apply judged events of one (resource, rule), in order, as :meth:`observe` would one
        after the other, with one read and at most one conditional write (a batch of events
        on one setting). Every observation carries the row after the last event and its
        ETag; the write is the claim of every alert the observations carry."""
        judged = [r for r in records if r.outcome in ("drift", "compliant", "error")]
        if len(judged) < 2:
            return [self.observe(r, alerting=alerting) for r in records]
        if len({(r.resource, r.rule) for r in judged}) != 1:
            raise ValueError("observe_many takes the events of one (resource, rule)")
        partition, row_key = incident_keys(judged[0].resource, judged[0].rule)
        for _ in range(MAX_ATTEMPTS):
            entity = self._read(partition, row_key)
            row = None if entity is None else row_from_entity(entity)
            changed = False
            observations: builtins.list[Observation] = []
            now = self._clock()
            for record in records:
                if record.outcome not in ("drift", "compliant", "error"):
                    observations.append(observe(None, record, now=now, alerting=alerting)[1])
                    continue
                after, observation = observe(row, record, now=now, alerting=alerting)
                if after is not None:
                    row, changed = after, True
                observations.append(observation)
            etag = None if entity is None else entity.metadata["etag"]
            if changed and row is not None:
                etag = (
                    self._create(to_entity(row))
                    if entity is None
                    else (self._replace(to_entity(row), entity.metadata["etag"]))
                )
                if etag is None:
                    continue  # written meanwhile: apply them all again on what is there
                for observation in observations:
                    self._log(observation)
            return [
                replace(o, row=row, version=etag or None) if o.row is not None else o
                for o in observations
            ]
        from azure.core.exceptions import ResourceModifiedError

        raise ResourceModifiedError(f"incident row kept changing: {partition}/{row_key}")

    def accept(self, record: EventRecord) -> Incident | None:
        """Close the open drift incident of ``record``'s (resource, rule) as accepted, the
        drift ``record`` describes being the accepted one; None when there is no open one.
        Conditional, as every change of the row."""
        keys = incident_keys(record.resource, record.rule)
        for _ in range(MAX_ATTEMPTS):
            entity = self._read(*keys)
            if entity is None:
                return None
            after = accept(row_from_entity(entity), record, now=self._clock())
            if after is None:
                return None
            if self._replace(to_entity(after), entity.metadata["etag"]) is not None:
                return after.drift
        from azure.core.exceptions import ResourceModifiedError

        raise ResourceModifiedError(f"incident row kept changing: {keys[0]}/{keys[1]}")

    def record_alert(
        self, observation: Observation, deliveries: Sequence[Mapping[str, Any]]
    ) -> None:
        """Record what became of the alert ``observation`` claimed, every channel in one
        conditional write (no read when nobody wrote the row since the observation)."""
        row, etag = observation.row, observation.version
        keys = incident_keys(observation.resource, observation.rule)
        for _ in range(MAX_ATTEMPTS):
            if row is None:
                return
            after = record_deliveries(row, observation, deliveries, now=self._clock())
            if after is None:
                return
            if etag is not None and self._replace(to_entity(after), etag) is not None:
                return
            entity = self._read(*keys)  # changed meanwhile: decide again on what is there
            if entity is None:
                return
            row, etag = row_from_entity(entity), entity.metadata["etag"]
        from azure.core.exceptions import ResourceModifiedError

        raise ResourceModifiedError(f"incident row kept changing: {keys[0]}/{keys[1]}")

    @staticmethod
    def _log(observation: Observation) -> None:
        if observation.transition in ("opened", "updated", "resolved"):
            log.info(
                "incident %s: %s",
                observation.transition,
                observation.incident.rule if observation.incident else observation.rule,
                extra={"resource": observation.resource, "baseline": observation.rule},
            )


def _with_version(observation: Observation, etag: str | None) -> Observation:
    return replace(observation, version=etag or None)


# --- the row as an entity --------------------------------------------------------------------


def to_entity(row: IncidentRow) -> dict[str, Any]:
    """The Table entity of an incident row."""
    partition, row_key = incident_keys(row.resource, row.rule)
    entity: dict[str, Any] = {
        "PartitionKey": partition,
        "RowKey": row_key,
        "Resource": row.resource,
        "Rule": row.rule,
    }
    for track, prefix in PREFIX.items():
        incident = row.track(track)
        if incident is not None:
            entity.update({prefix + k: v for k, v in _track_columns(incident).items()})
    return entity


def row_from_entity(entity: Mapping[str, Any]) -> IncidentRow:
    """The incident row an entity holds."""
    resource, rule = entity["Resource"], entity["Rule"]
    tracks = {
        track: _track_from(entity, prefix, resource, rule, track)
        for track, prefix in PREFIX.items()
    }
    return IncidentRow(resource, rule, tracks["drift"], tracks["read-error"])


def _track_columns(incident: Incident) -> dict[str, Any]:
    claim = incident.claim
    return {
        "Kind": incident.kind,
        "Severity": incident.severity,
        "Status": incident.status,
        "OpenedAt": incident.opened_at,
        "LastSeen": incident.last_seen,
        "ResolvedAt": incident.resolved_at,
        "Count": incident.count,
        "LastSignalId": incident.last_signal_id,
        "LastMessage": incident.last_message,
        "LastEventTime": incident.last_event_time,
        "Generation": incident.generation,
        "RecentSignals": json.dumps(list(incident.recent)),
        "Alerts": json.dumps(dict(incident.alerted), sort_keys=True),
        "AlertClaim": json.dumps(
            {
                "signalId": claim.signal_id,
                "severity": claim.severity,
                "transition": claim.transition,
                "at": claim.at,
            }
        )
        if claim
        else "",
        "Deliveries": json.dumps([dict(d) for d in incident.deliveries], ensure_ascii=True),
        "Accepted": incident.accepted,
    }


def _track_from(
    entity: Mapping[str, Any], prefix: str, resource: str, rule: str, track: Track
) -> Incident | None:
    def col(name: str, default: Any = "") -> Any:
        return entity.get(prefix + name, default)

    if not col("Status"):
        return None
    alerts = json.loads(col("Alerts") or "{}")
    claim = json.loads(col("AlertClaim") or "null")
    return Incident(
        resource=resource,
        rule=rule + (READ_ERROR if track == "read-error" else ""),
        kind=col("Kind"),
        severity=col("Severity"),
        status=col("Status"),
        opened_at=col("OpenedAt"),
        last_seen=col("LastSeen"),
        resolved_at=col("ResolvedAt"),
        count=int(col("Count", 0)),
        last_signal_id=col("LastSignalId"),
        last_message=col("LastMessage"),
        generation=int(col("Generation", 1)),
        # rows written before issue 6 kept {channel: {"signalId", "at"}}
        alerted=MappingProxyType(
            {k: v["signalId"] if isinstance(v, dict) else str(v) for k, v in alerts.items()}
        ),
        last_event_time=col("LastEventTime"),
        recent=tuple(json.loads(col("RecentSignals") or "[]")),
        claim=Claim(claim["signalId"], claim["severity"], claim["transition"], claim["at"])
        if claim
        else None,
        deliveries=tuple(json.loads(col("Deliveries") or "[]")),
        accepted=col("Accepted"),
    )
