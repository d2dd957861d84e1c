"""What the pack shows: the period's changes to controlled settings, what driftkeeper did
about each, and the incidents, gathered from the event, incidents and approvals tables."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .._model import EventRecord
from .._time import parse_time
from ..incident_policy import Incident
from ._controls import Control, control_of

__all__ = [
    "CHANGE_OUTCOMES",
    "RESPONSE_OUTCOMES",
    "Action",
    "ChangeEntry",
    "IncidentEntry",
    "changes_of",
    "incidents_of",
    "seconds_between",
]

CHANGE_OUTCOMES = frozenset({"drift", "unbaselined", "self", "compliant"})
"""Rows that are a change to a setting (``compliant`` only when an event reported it, not a
reconcile run finding nothing)."""
RESPONSE_OUTCOMES = frozenset({"rolled-back", "rollback-failed", "rollback-skipped", "accepted"})
_DECIDED = {"approve": "approved", "reject": "rejected", "accept": "accepted"}


@dataclass(frozen=True)
class Action:
    """One thing driftkeeper (or a person through it) did about a change."""

    what: str
    at: str = ""
    by: str = ""
    detail: str = ""

    def text(self) -> str:
        parts = [self.what]
        if self.by:
            parts.append(f"by {self.by}")
        if self.at:
            parts.append(f"at {self.at}")
        line = " ".join(parts)
        return f"{line}: {self.detail}" if self.detail else line


@dataclass(frozen=True)
class ChangeEntry:
    record: EventRecord
    control: Control
    recorded_at: datetime | None
    """When the row was written (the service's Timestamp of its last write)."""
    mttd_seconds: float | None
    actions: tuple[Action, ...]


@dataclass(frozen=True)
class IncidentEntry:
    incident: Incident
    track: str
    control: Control | None
    mttr_seconds: float | None
    """Opened -> resolved (None while open)."""


def _when(text: str) -> datetime | None:
    try:
        return parse_time(text)
    except ValueError:
        return None


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)


def _is_change(record: EventRecord) -> bool:
    if record.outcome not in CHANGE_OUTCOMES:
        return False
    return not (record.outcome == "compliant" and record.source == "reconcile")


def changes_of(
    records: Sequence[EventRecord],
    recorded: Mapping[tuple[str, str], datetime],
    keys: Sequence[tuple[str, str]],
    incidents: Mapping[tuple[str, str], Incident],
    approvals: Iterable[Any],
) -> list[ChangeEntry]:
    """Every change of a controlled kind in ``records`` (time order) with what came of it.

    ``keys`` are the records' table keys (for ``recorded``); ``incidents`` the drift track of
    each (lower-cased resource, rule); ``approvals`` the approval requests.
    """
    requests: dict[tuple[str, str, str], list[Any]] = {}
    for request in approvals:
        key = (request.resource.casefold(), request.rule, request.drift_time)
        requests.setdefault(key, []).append(request)
    by_setting: dict[tuple[str, str], list[int]] = {}
    for index, record in enumerate(records):
        by_setting.setdefault((record.resource.casefold(), record.rule), []).append(index)
    out: list[ChangeEntry] = []
    for index, record in enumerate(records):
        control = control_of(record.kind)
        if control is None or not _is_change(record):
            continue
        setting = (record.resource.casefold(), record.rule)
        actions: list[Action] = []
        incident = incidents.get(setting)
        if incident is not None:
            for delivery in incident.deliveries:
                if delivery.get("signalId") == record.signal_id:
                    ok = "delivered" if delivery.get("ok") else "failed"
                    actions.append(
                        Action(
                            f"alerted ({delivery.get('channel', '?')}, {ok})",
                            str(delivery.get("at", "")),
                            detail=str(delivery.get("error") or ""),
                        )
                    )
        for request in requests.get((*setting, record.time), []):
            actions.append(
                Action(f"approval requested ({request.status})", utc(request.created_at))
            )
            for decision in request.decisions:
                who = decision.upn or decision.object_id
                where = f" from {decision.address}" if decision.address else ""
                actions.append(
                    Action(
                        _DECIDED.get(decision.decision, decision.decision),
                        decision.at,
                        f"{who}{where}",
                        decision.comment,
                    )
                )
        for later in by_setting[setting]:
            if later <= index:
                continue
            response = records[later]
            if _is_change(response):
                break  # the next change answers for itself
            if response.outcome in RESPONSE_OUTCOMES:
                who = response.actor_upn or response.actor_object_id
                actions.append(Action(response.outcome, response.time, who, response.message))
        if record.outcome == "drift" and not actions:
            actions.append(Action("recorded, no alert delivery found"))
        at = recorded.get(keys[index])
        out.append(
            ChangeEntry(
                record, control, at, seconds_between(_when(record.time), at), tuple(actions)
            )
        )
    return out


def incidents_of(rows: Iterable[Any], first: datetime, end: datetime) -> list[IncidentEntry]:
    """Incident tracks that were open at some time in ``first`` <= t < ``end``."""
    out: list[IncidentEntry] = []
    for row in rows:
        for track in ("drift", "read-error"):
            incident = row.track(track)
            if incident is None:
                continue
            opened = _when(incident.opened_at)
            resolved = _when(incident.resolved_at) if incident.resolved_at else None
            if opened is None or opened >= end or (resolved is not None and resolved < first):
                continue
            out.append(
                IncidentEntry(
                    incident, track, control_of(incident.kind), seconds_between(opened, resolved)
                )
            )
    out.sort(key=lambda e: (e.incident.opened_at, e.incident.resource, e.incident.rule))
    return out


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
