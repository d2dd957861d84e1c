"""In-memory ledger and incident book: the same contracts as the Table Storage ones, for
``driftkeeper replay`` (a dry run) and for tests of the pipeline's logic."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ._model import EventRecord
from .pipeline import Transition

__all__ = ["MemoryIncidents", "MemoryLedger"]


@dataclass
class MemoryLedger:
    """Rows by (signal, setting, rule): recording a record twice keeps one row."""

    rows: dict[tuple[str, str, str], EventRecord] = field(default_factory=dict)

    def record(self, records: Sequence[EventRecord]) -> None:
        for record in records:
            self.rows[(record.signal_id, record.setting, record.rule)] = record


@dataclass
class _Incident:
    status: str
    last_time: str
    signals: set[str]
    alerted: dict[str, str] = field(default_factory=dict)
    count: int = 1


@dataclass
class MemoryIncidents:
    """One open incident per (resource, rule)."""

    incidents: dict[tuple[str, str], _Incident] = field(default_factory=dict)

    def observe(self, record: EventRecord) -> Transition:
        key = (record.resource.casefold(), record.rule)
        incident = self.incidents.get(key)
        if incident is not None and record.signal_id in incident.signals:
            return "duplicate"
        if incident is not None and record.time < incident.last_time:
            incident.signals.add(record.signal_id)
            return "unchanged"  # an older event arriving late changes nothing
        if record.outcome == "drift":
            if incident is None or incident.status == "resolved":
                self.incidents[key] = _Incident("open", record.time, {record.signal_id})
                return "opened"  # a reopened incident alerts again
            incident.count += 1
            incident.last_time = record.time
            incident.signals.add(record.signal_id)
            return "updated"
        if incident is not None and incident.status == "open":
            incident.status = "resolved"
            incident.last_time = record.time
            incident.signals.add(record.signal_id)
            return "resolved"
        return "unchanged"

    def get(self, resource: str, rule: str) -> _Incident:
        try:
            return self.incidents[(resource.casefold(), rule)]
        except KeyError:
            raise LookupError(f"no incident for {rule} at {resource}") from None

    def mark_alerted(self, resource: str, rule: str, signal_id: str, channel: str) -> bool:
        incident = self.get(resource, rule)
        if channel in incident.alerted:
            return False
        incident.alerted[channel] = signal_id
        return True
