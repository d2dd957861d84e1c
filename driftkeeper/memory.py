"""In-memory ledger and incident book: the same contracts as the Table Storage ones, for
``driftkeeper replay`` (a dry run) and for tests of the pipeline's logic. The incident book
applies the same :mod:`driftkeeper.incident_policy` as the Table one."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ._model import EventRecord
from .incident_policy import (
    Incident,
    IncidentRow,
    Observation,
    accept,
    observe,
    record_deliveries,
)

__all__ = ["MemoryIncidents", "MemoryLedger"]


@dataclass
class MemoryLedger:
    """Rows by (signal, setting, rule): recording a record twice keeps one row."""

    rows: dict[tuple[str, str, str], EventRecord] = field(default_factory=dict)

    def record(self, records: Sequence[EventRecord]) -> None:
        for record in records:
            self.rows[(record.signal_id, record.setting, record.rule)] = record


@dataclass
class MemoryIncidents:
    """One row per (resource, rule), keyed by the case-folded resource and the rule."""

    rows: dict[tuple[str, str], IncidentRow] = field(default_factory=dict)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def observe(self, record: EventRecord, *, alerting: bool = True) -> Observation:
        with self._lock:
            key = (record.resource.casefold(), record.rule)
            before = self.rows.get(key)
            after, observation = observe(before, record, now=self.clock(), alerting=alerting)
            if after is not None:
                self.rows[key] = after
            return observation

    def record_alert(
        self, observation: Observation, deliveries: Sequence[Mapping[str, Any]]
    ) -> None:
        with self._lock:
            key = (observation.resource.casefold(), observation.rule)
            row = self.rows.get(key)
            if row is None:
                return
            after = record_deliveries(row, observation, deliveries, now=self.clock())
            if after is not None:
                self.rows[key] = after

    def accept(self, record: EventRecord) -> Incident | None:
        with self._lock:
            key = (record.resource.casefold(), record.rule)
            row = self.rows.get(key)
            after = None if row is None else accept(row, record, now=self.clock())
            if after is None:
                return None
            self.rows[key] = after
            return after.drift

    def get(self, resource: str, rule: str, *, read_error: bool = False) -> Incident:
        row = self.rows.get((resource.casefold(), rule))
        incident = None if row is None else row.track("read-error" if read_error else "drift")
        if incident is None:
            raise LookupError(f"no incident for {rule} at {resource}")
        return incident

    def incidents(self) -> list[Incident]:
        """Every incident (drift and read-error tracks) in the book."""
        return [i for row in self.rows.values() for i in (row.drift, row.read_error) if i]
