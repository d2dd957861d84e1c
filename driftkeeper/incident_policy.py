"""The incident and alert policy: when an incident opens, is updated or resolves, and when
someone is alerted. Pure: values in, values out; the stores (``driftkeeper.store.Incidents``
on Table Storage, ``driftkeeper.memory.MemoryIncidents``) read a row, apply :func:`observe`
and write the result back conditionally.

**One row per (resource, rule), two tracks.** The *drift* track is the incident of the rule:
a drift opens it, a compliant judgement resolves it. The *read-error* track is the incident
of not being able to read the setting (say, driftkeeper's role assignment was removed): an
error opens it, and any successful read (drift or compliant) resolves it. Both live in one
row, so judging a setting reads one row and writes it at most once.

Each track, for one judged event:

============================  ==========================  =================
event                         track                       transition
============================  ==========================  =================
positive (drift / error)      none, or resolved           ``opened``
positive                      open                        ``updated``
negative (compliant / read)   open                        ``resolved``
negative                      none                        ``unchanged`` (nothing written)
negative                      resolved                    ``unchanged`` (its time moves)
a signal already applied      any                         ``duplicate``
older than the last applied   any                         ``unchanged`` (state kept)
============================  ==========================  =================

"Older" compares when the judged state was *read* (:attr:`EventRecord.observed`), not the
event's own time: an event stamped minutes ahead by a skewed clock must not make the
correct events and reconcile runs after it look older and be dropped, and of two
deliveries judging one setting at once, the one that read later wins whatever order they
write in.

Outcomes other than drift, compliant and error (ignored, self, invalid) change nothing.

**Alerts.** An open track is alerted when it opens, and again when a positive event arrives
while no alert at that severity or above was delivered for it (a higher severity: an
escalation; none delivered: the earlier delivery failed; a signal already applied: the
function died between delivering and recording). The drift track's resolution is announced;
the read-error track's is not. An alert is *claimed* in the same write that applies the
event; a fresh claim (younger than :data:`CLAIM_LEASE`) at the same or a higher severity
holds other alerts back, so a burst of changes to one setting pages once. That includes a
claim of the same signal: Event Grid may deliver an event again while its first delivery is
still sending, and a sender that died cannot be told apart from a slow one until its claim
expires. The first positive event (or reconcile run) after the expiry sends the alert.
The deliveries are then recorded on the track (:func:`record_deliveries`), which releases
the claim: successful channels go to ``alerted`` (``channel:severity`` -> signal id), every
attempt, failed ones included, to ``deliveries``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache, lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from ._model import SEVERITY_RANK, EventRecord

if TYPE_CHECKING:
    from .alerts import Transition as AlertTransition

__all__ = [
    "CLAIM_LEASE",
    "MAX_DELIVERIES",
    "READ_ERROR",
    "RECENT_SIGNALS",
    "Claim",
    "Incident",
    "IncidentRow",
    "IncidentStatus",
    "Observation",
    "Track",
    "Transition",
    "accept",
    "alerted_at",
    "changes_hash",
    "observe",
    "record_deliveries",
    "severity_rank",
]

Transition = Literal["opened", "updated", "resolved", "unchanged", "duplicate"]
"""What one judged event did to an incident track."""
IncidentStatus = Literal["open", "resolved", "accepted"]
"""``accepted``: a person accepted the drift as intended; the same drift keeps it closed, a
later change to the setting opens a new incident."""
Track = Literal["drift", "read-error"]

READ_ERROR = " (read error)"
"""Suffix of the rule of a read-error incident (in alerts and :attr:`Incident.rule`)."""
RECENT_SIGNALS = 64
"""Signal ids remembered per track (hashed), to recognise retries and redeliveries."""
CLAIM_LEASE = timedelta(minutes=10)
"""How long a claimed alert holds others back (longer than a function may run)."""
MAX_DELIVERIES = 32
"""Delivery attempts kept per track (the latest)."""
NO_CHANNEL = "(none)"
"""The channel noted in ``alerted`` when no channel is routed for a severity."""
_ERROR_TEXT = 300


@dataclass(frozen=True)
class Claim:
    """An alert being sent: by which signal, at what severity, since when."""

    signal_id: str
    severity: str
    transition: AlertTransition
    at: str
    """When it was claimed (ISO 8601, wall clock)."""


@dataclass(frozen=True)
class Incident:
    """One track of a (resource, rule). Times are the events' ISO 8601 times."""

    resource: str
    rule: str
    """The baseline or guard; a read-error track's ends in :data:`READ_ERROR`."""
    kind: str
    severity: str
    status: IncidentStatus
    opened_at: str
    last_seen: str
    """Time of the last positive event applied."""
    resolved_at: str
    """Time of the event that resolved it; empty while open."""
    count: int
    """Positive events applied since it was opened (the opening one included)."""
    last_signal_id: str
    last_message: str
    generation: int
    """1 for the first incident of this track, +1 on every reopening."""
    alerted: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """``channel:severity`` -> id of the signal whose alert was delivered there, for this
    generation."""
    last_event_time: str = ""
    """Fixed-width UTC time of the latest judgement applied (positive or negative): when its
    state was read (:attr:`EventRecord.observed`), or the event's time when that is unknown."""
    recent: tuple[str, ...] = ()
    """Hashes of the last :data:`RECENT_SIGNALS` signal ids applied."""
    claim: Claim | None = None
    accepted: str = ""
    """The hash of the accepted drift's changes (:func:`changes_hash`) while ``accepted``."""
    deliveries: tuple[Mapping[str, Any], ...] = ()
    """The latest :data:`MAX_DELIVERIES` delivery attempts (``signalId``, ``generation``,
    ``severity``, ``transition``, ``at``, ``channel``, ``ok``, ``attempts``, ``error``)."""


@dataclass(frozen=True)
class IncidentRow:
    """Everything known about one (resource, rule): its drift and read-error tracks."""

    resource: str
    rule: str
    drift: Incident | None = None
    read_error: Incident | None = None

    def track(self, name: Track) -> Incident | None:
        return self.drift if name == "drift" else self.read_error


@dataclass(frozen=True)
class Observation:
    """What one judged event did, and all the respond stage needs to act on it."""

    resource: str
    rule: str
    track: Track
    """The track the event concerns: ``read-error`` for an error, else ``drift``."""
    transition: Transition
    alert: AlertTransition | None = None
    """The alert to send now (claimed for this signal when not ``resolved``), or None."""
    signal_id: str = ""
    severity: str = ""
    incident: Incident | None = None
    """The track after the event (None: there is none)."""
    read_error: Transition = "unchanged"
    """What became of the read-error track when the event is a successful read."""
    row: IncidentRow | None = None
    """The whole row after the event (None: there is none)."""
    version: Any = None
    """The store's version of :attr:`row` (an ETag), for writing the deliveries without
    reading the row again."""


def severity_rank(severity: str) -> int:
    """0 (low) .. 3 (critical); an unknown severity ranks as high."""
    return SEVERITY_RANK.get(severity, SEVERITY_RANK["high"])


def alerted_at(alerted: Mapping[str, str], severity: str) -> bool:
    """Whether an alert at ``severity`` or higher was delivered (keys ``channel:severity``;
    a key without a known severity counts as critical)."""
    wanted = severity_rank(severity)
    top = SEVERITY_RANK["critical"]
    return any(SEVERITY_RANK.get(key.rpartition(":")[2], top) >= wanted for key in alerted)


def observe(
    row: IncidentRow | None, record: EventRecord, *, now: datetime, alerting: bool = True
) -> tuple[IncidentRow | None, Observation]:
    """Apply one judged event to the row of its (resource, rule).

    Returns the row to write (None: nothing to write) and what happened. ``alerting=False``
    (no alert channels) never claims an alert. Raises ValueError for a record without
    resource, rule or a valid time.
    """
    outcome = record.outcome
    track: Track = "read-error" if outcome == "error" else "drift"
    if outcome not in ("drift", "compliant", "error"):
        return None, Observation(record.resource, record.rule, track, "unchanged")
    if not record.resource or not record.rule:
        raise ValueError("an incident needs a resource and a rule")
    moment = _moment(record.observed or record.time)
    if row is None and outcome == "compliant":
        return None, Observation(record.resource, record.rule, track, "unchanged")
    signal = _signal_hash(record.signal_id)
    base = row or IncidentRow(record.resource, record.rule)
    read_error, error_transition = _apply(
        base.read_error, "read-error", base, record, outcome == "error", moment, signal
    )
    if track == "drift":
        drift, transition = _apply(
            base.drift, "drift", base, record, outcome == "drift", moment, signal
        )
    else:
        drift, transition = base.drift, error_transition
    changed = read_error is not base.read_error or drift is not base.drift
    current = drift if track == "drift" else read_error
    alert: AlertTransition | None = None
    if alerting and current is not None:
        positive = record.outcome != "compliant"
        alert = _alert_due(current, track, transition, record, positive=positive, now=now)
        if alert is not None and alert != "resolved":
            claim = Claim(record.signal_id, record.severity, alert, now.isoformat())
            current = _evolve(current, claim=claim)
            changed = True
            if track == "drift":
                drift = current
            else:
                read_error = current
    new_row = IncidentRow(base.resource, base.rule, drift, read_error) if changed else None
    return new_row, Observation(
        resource=record.resource,
        rule=record.rule,
        track=track,
        transition=transition,
        alert=alert,
        signal_id=record.signal_id,
        severity=record.severity,
        incident=current,
        read_error=error_transition if track == "drift" else "unchanged",
        row=new_row or row,
    )


def record_deliveries(
    row: IncidentRow,
    observation: Observation,
    deliveries: Sequence[Mapping[str, Any]],
    *,
    now: datetime,
) -> IncidentRow | None:
    """The row with the deliveries of ``observation``'s alert recorded and its claim
    released; None when there is nothing to record (the track was reopened since, or the
    alert was a resolution).

    ``deliveries`` are ``{"channel", "ok", "attempts", "error"}``. No delivery at all (no
    channel routed for the severity) is noted as :data:`NO_CHANNEL`, so the same drift does
    not try again.
    """
    incident = row.track(observation.track)
    sent = observation.incident
    if incident is None or sent is None or observation.alert in (None, "resolved"):
        return None
    if incident.generation != sent.generation:
        return None  # reopened since: these deliveries were for an incident that is over
    alerted = dict(incident.alerted)
    at = now.isoformat()
    attempts: list[Mapping[str, Any]] = []
    for delivery in deliveries:
        channel = str(delivery.get("channel", ""))
        if delivery.get("ok"):
            alerted.setdefault(f"{channel}:{observation.severity}", observation.signal_id)
        attempts.append(
            {
                "signalId": observation.signal_id,
                "generation": incident.generation,
                "severity": observation.severity,
                "transition": observation.alert,
                "at": at,
                "channel": channel,
                "ok": bool(delivery.get("ok")),
                "attempts": int(delivery.get("attempts", 0) or 0),
                "error": str(delivery.get("error", "") or "")[:_ERROR_TEXT],
            }
        )
    if not deliveries:
        alerted.setdefault(f"{NO_CHANNEL}:{observation.severity}", observation.signal_id)
    claim = incident.claim
    if claim is not None and claim.signal_id == observation.signal_id:
        claim = None
    updated = replace(
        incident,
        alerted=MappingProxyType(alerted),
        claim=claim,
        deliveries=(*incident.deliveries, *attempts)[-MAX_DELIVERIES:],
    )
    if observation.track == "drift":
        return replace(row, drift=updated)
    return replace(row, read_error=updated)


# --- one track -------------------------------------------------------------------------------


def _apply(
    incident: Incident | None,
    track: Track,
    row: IncidentRow,
    record: EventRecord,
    positive: bool,
    moment: str,
    signal: str,
) -> tuple[Incident | None, Transition]:
    """The track after one event (the same object when nothing changes) and the
    transition."""
    if incident is None:
        if not positive:
            return None, "unchanged"
        return _opened(track, row, record, moment, signal, None), "opened"
    if signal in incident.recent:
        return incident, "duplicate"
    if moment < incident.last_event_time:
        return incident, "unchanged"  # older than what was already applied
    if (
        positive
        and incident.status == "accepted"
        and track == "drift"
        and changes_hash(record) == incident.accepted
    ):
        # the drift a person accepted, judged again: it stays closed
        recent = (*incident.recent, signal)[-RECENT_SIGNALS:]
        return _evolve(incident, last_event_time=moment, recent=recent), "unchanged"
    is_open = incident.status == "open"
    if positive and not is_open:
        return _opened(track, row, record, moment, signal, incident), "opened"
    recent = (*incident.recent, signal)[-RECENT_SIGNALS:]
    if positive:
        return _evolve(
            incident,
            count=incident.count + 1,
            last_seen=record.time,
            last_signal_id=record.signal_id,
            last_message=_clip(record.message),
            severity=record.severity or incident.severity,
            kind=record.kind or incident.kind,
            last_event_time=moment,
            recent=recent,
        ), "updated"
    if is_open:
        return _evolve(
            incident,
            status="resolved",
            resolved_at=record.time,
            last_event_time=moment,
            recent=recent,
            claim=None,
        ), "resolved"
    # negative again: only the last applied time moves
    return _evolve(incident, last_event_time=moment, recent=recent), "unchanged"


def changes_hash(record: EventRecord) -> str:
    """A hash of what a drift changed (the record's changes, in order-free canonical form):
    the identity of an accepted drift."""
    import hashlib
    import json

    parts = sorted(
        json.dumps(c.to_dict(), sort_keys=True, separators=(",", ":"), default=str)
        for c in record.changes
    )
    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def accept(row: IncidentRow, record: EventRecord, *, now: datetime) -> IncidentRow | None:
    """The row with its open drift incident closed as accepted (``record``: the drift that
    was accepted); None when there is no open drift incident to accept."""
    incident = row.drift
    if incident is None or incident.status != "open":
        return None
    closed = _evolve(
        incident,
        status="accepted",
        resolved_at=now.isoformat(),
        accepted=changes_hash(record),
        claim=None,
    )
    return replace(row, drift=closed)


def _opened(
    track: Track,
    row: IncidentRow,
    record: EventRecord,
    moment: str,
    signal: str,
    previous: Incident | None,
) -> Incident:
    return Incident(
        resource=row.resource,
        rule=record.rule + (READ_ERROR if track == "read-error" else ""),
        kind=record.kind,
        severity=record.severity,
        status="open",
        opened_at=record.time,
        last_seen=record.time,
        resolved_at="",
        count=1,
        last_signal_id=record.signal_id,
        last_message=_clip(record.message),
        generation=previous.generation + 1 if previous else 1,
        alerted=MappingProxyType({}),
        last_event_time=moment,
        recent=(*(previous.recent if previous else ()), signal)[-RECENT_SIGNALS:],
        claim=None,
        accepted="",
        deliveries=previous.deliveries if previous else (),
    )


def _alert_due(
    incident: Incident,
    track: Track,
    transition: Transition,
    record: EventRecord,
    *,
    positive: bool,
    now: datetime,
) -> AlertTransition | None:
    if transition == "resolved":
        return "resolved" if track == "drift" else None
    if not positive or incident.status != "open":
        return None
    if transition not in ("opened", "updated", "duplicate"):
        return None
    if alerted_at(incident.alerted, record.severity):
        return None  # told already, at this severity or higher
    claim = incident.claim
    if (
        claim is not None
        and severity_rank(claim.severity) >= severity_rank(record.severity)
        and not _expired(claim, now)
    ):
        # someone is alerting at this severity or higher: another signal, or this one
        # delivered again while its first delivery still sends (a sender that died is told
        # apart from a slow one only by the claim's age)
        return None
    if transition != "duplicate":
        return transition
    if claim is not None and claim.signal_id == record.signal_id:
        return claim.transition  # our own expired claim: the attempt before died
    first = incident.count == 1 and incident.last_signal_id == record.signal_id
    return "opened" if first else "updated"


def _expired(claim: Claim, now: datetime) -> bool:
    try:
        at = datetime.fromisoformat(claim.at)
    except ValueError:
        return True
    if at.tzinfo is None or now.tzinfo is None:
        return True
    return now - at > CLAIM_LEASE


def _evolve(incident: Incident, **changes: Any) -> Incident:
    """``dataclasses.replace``, at half the cost (it runs for every row judged)."""
    values = dict(incident.__dict__)
    values.update(changes)
    return Incident(**values)


@cache
def _keys() -> Any:
    """``driftkeeper.store._keys`` (the store imports this module: imported when used)."""
    from .store import _keys

    return _keys


@lru_cache(maxsize=256)
def _moment(text: str) -> str:
    """The fixed-width UTC time of an event time (the rows of one event share it)."""
    keys = _keys()
    return str(keys.time_key(keys.event_time(text)))


@lru_cache(maxsize=256)
def _signal_hash(signal_id: str) -> str:
    """How a signal id is remembered in ``recent`` (the rows of one event share it)."""
    return str(_keys().short_hash(signal_id))


def _clip(text: str) -> str:
    """At most one Table string property of text."""
    if len(text) <= 16_000:  # half the limit in UTF-16 units: fits whatever it holds
        return text
    keys = _keys()
    return str(keys.split_text(text, keys.MAX_TEXT_UNITS)[0])
