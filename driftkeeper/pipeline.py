"""The event pipeline: signal → route → read → evaluate → record → respond.

One direction, no back and forth. Routing is pure; reading goes through an injected
:class:`StateReader` (coalesced per resource); evaluation reuses the engine; every outcome
is recorded before anyone is alerted, so a failure to alert never loses the row.

Idempotency: a retried delivery produces the same :class:`EventRecord` keys (signal id,
setting, rule), so the ledger keeps one row; the incident book answers ``duplicate`` for a
signal it has already applied, and an alert goes out only when an incident opens (or
when a retry finds the incident opened by this signal but not yet alerted).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from ._errors import InputError
from ._model import EventRecord, Finding, Outcome
from ._state import StateView
from .baseline import Baseline, BaselineSet
from .engine import evaluate, guard_findings, judge_all
from .guards import all_guards
from .intake import Invalid, Parsed
from .kinds import Touch, all_kinds, get_kind
from .signals import Signal
from .snapshot import Snapshot

__all__ = [
    "AlertSink",
    "IncidentBook",
    "IncidentView",
    "Pipeline",
    "RecordSink",
    "SignalOutcome",
    "SignalResult",
    "StateReader",
    "Transition",
]

log = logging.getLogger(__name__)

READ_ERROR = " (read error)"
"""Suffix of the incident rule that tracks a setting driftkeeper could not read."""
FUTURE_SLACK = timedelta(minutes=15)
"""How far in the future an event time may be (clock skew) before it is refused."""
VIEW_CACHE = 64
"""Snapshots whose normalized views are kept (the coalescing reader's recent answers)."""
_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}

SignalOutcome = Literal["evaluated", "ignored", "duplicate", "self", "invalid"]
Transition = Literal["opened", "updated", "resolved", "unchanged", "duplicate"]


class StateReader(Protocol):
    """Reads the current state of one setting as a partial snapshot."""

    def read(self, kind: str, scope: str, *, newer_than: datetime | None = None) -> Snapshot: ...


class RecordSink(Protocol):
    """The event table (idempotent on the record's keys)."""

    def record(self, records: Sequence[EventRecord]) -> None: ...


class IncidentView(Protocol):
    @property
    def status(self) -> str: ...

    @property
    def alerted(self) -> Mapping[str, str]: ...


class IncidentBook(Protocol):
    """Open drift per (resource, rule): opened once, updated, resolved."""

    def observe(self, record: EventRecord) -> Transition: ...

    def get(self, resource: str, rule: str) -> IncidentView: ...

    def mark_alerted(self, resource: str, rule: str, signal_id: str, channel: str) -> bool: ...


class AlertSink(Protocol):
    """Delivers alerts (never raising for a channel failure) and publishes findings."""

    def alert(
        self, record: EventRecord, baseline: Baseline | None, transition: Transition
    ) -> list[dict[str, Any]]:
        """Deliver; return the deliveries as ``{"channel", "ok", "attempts", "error"}``."""
        ...

    def publish(self, records: Sequence[EventRecord]) -> None: ...


@dataclass(frozen=True)
class SignalResult:
    """What became of one signal."""

    id: str
    source: str
    outcome: SignalOutcome
    reason: str = ""
    findings: tuple[Finding, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "source": self.source, "outcome": self.outcome}
        if self.reason:
            out["reason"] = self.reason
        out["findings"] = [f.to_dict() for f in self.findings]
        return out


@dataclass
class Pipeline:
    """Judges signals against baselines and guards; records and responds."""

    baselines: BaselineSet
    reader: StateReader
    ledger: RecordSink
    incidents: IncidentBook
    alerts: AlertSink | None = None
    self_ids: frozenset[str] = frozenset()
    guards: Literal["default", "none"] = "default"
    clock: Any = field(default=lambda: datetime.now(UTC))
    _states: dict[str, dict[str, Any]] = field(default_factory=dict, init=False, repr=False)
    _views: dict[int, tuple[Snapshot, StateView]] = field(
        default_factory=dict, init=False, repr=False
    )
    _views_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        for baseline in self.baselines.baselines:
            self._states.setdefault(baseline.kind, {})[baseline.key] = baseline.state

    # --- the whole flow --------------------------------------------------------------------
    def process(self, parsed: Iterable[Parsed]) -> list[SignalResult]:
        """Run every signal through the pipeline. Raises on a transient read or store
        failure (the trigger then fails and the platform retries the whole batch)."""
        results: list[SignalResult] = []
        records: list[EventRecord] = []
        seen: set[str] = set()
        for item in parsed:
            if isinstance(item, Invalid):
                results.append(SignalResult(item.id, item.source, "invalid", item.reason))
                records.append(self._invalid_record(item))
                continue
            if item.id in seen:
                results.append(
                    SignalResult(item.id, item.source, "duplicate", "seen in this batch")
                )
                continue
            seen.add(item.id)
            result, rows = self._judge(item)
            results.append(result)
            records.extend(rows)
        self.ledger.record(records)
        for record in records:
            self._respond(record)
        if self.alerts is not None:
            self.alerts.publish(records)
        return results

    def reconcile(self, snapshot: Snapshot, *, run_id: str) -> list[Finding]:
        """The backstop: judge the whole tenant, record every outcome and respond, as for
        events. ``run_id`` (the timer's schedule time) keys the rows, so a retried run
        rewrites the same rows. Returns the drift and error findings."""
        outcomes, skipped, _ = judge_all(snapshot, self.baselines, guards=self.guards)
        for notice in skipped:
            log.info("reconcile %s: %s", run_id, notice)
        signal = Signal(
            id=f"reconcile:{run_id}",
            source="reconcile",
            type="driftkeeper.reconcile",
            time=run_id,
            resource="",
            category="reconcile",
        )
        records = [
            self._finding_record(signal, Touch(f.kind, f.resource, f.resource.casefold()), f)
            for f in outcomes
        ]
        self.ledger.record(records)
        for record in records:
            self._respond(record)
        if self.alerts is not None:
            self.alerts.publish(records)
        return [f for f in outcomes if f.status != "compliant"]

    # --- stages ----------------------------------------------------------------------------
    def route(self, signal: Signal) -> list[Touch]:
        """Which watched settings a signal touches (pure)."""
        touches: list[Touch] = []
        for name, kind in all_kinds().items():
            touches.extend(kind.route(signal, self._states.get(name, {})))
        return touches

    def _judge(self, signal: Signal) -> tuple[SignalResult, list[EventRecord]]:
        when = _when(signal.time)
        if when is None or when > self.clock() + FUTURE_SLACK:
            # an unreadable or future time would corrupt the ordering of incidents
            reason = f"event time {signal.time!r} is unreadable or in the future"
            return (
                SignalResult(signal.id, signal.source, "invalid", reason),
                [replace(self._record(signal, "invalid", message=reason), time=self._today())],
            )
        if signal.actor.ids() & self.self_ids:
            reason = f"made by driftkeeper itself ({signal.actor.display()})"
            return (
                SignalResult(signal.id, signal.source, "self", reason),
                [self._record(signal, "self", message=reason)],
            )
        if signal.status and signal.status != "succeeded":
            reason = f"operation {signal.status}: nothing changed"
            return (
                SignalResult(signal.id, signal.source, "ignored", reason),
                [self._record(signal, "ignored", message=reason)],
            )
        touches = self.route(signal)
        if not touches:
            reason = "not a watched setting"
            return (
                SignalResult(signal.id, signal.source, "ignored", reason),
                [self._record(signal, "ignored", message=reason)],
            )
        findings: list[Finding] = []
        rows: list[EventRecord] = []
        for touch in touches:
            for finding, baseline in self._evaluate(touch, when):
                finding = self._expected_actor(signal, finding, baseline)
                findings.append(finding)
                rows.append(self._finding_record(signal, touch, finding))
        judged = tuple(f for f in findings if f.status != "compliant")
        return SignalResult(signal.id, signal.source, "evaluated", "", judged), rows

    def _evaluate(
        self, touch: Touch, newer_than: datetime | None
    ) -> list[tuple[Finding, Baseline | None]]:
        kind = get_kind(touch.kind)
        mine = [b for b in self.baselines.of_kind(kind.name) if kind.covers(b.key, touch.key)]
        try:
            snapshot = self.reader.read(touch.kind, touch.scope, newer_than=newer_than)
        except InputError as exc:  # a scope the reader refuses: never retried forever
            return self._errors(kind.name, touch, mine, f"cannot read {touch.scope}: {exc}")
        for section in (*kind.sections, *kind.optional_sections):
            status = snapshot.status(section)
            if status == "failed":
                reason = f"could not read {section}: {snapshot.read_errors[section]}"
                return self._errors(kind.name, touch, mine, reason)
            if status == "missing" and section in kind.sections:
                return self._errors(kind.name, touch, mine, f"{section} not captured")
        view = self._view(snapshot)
        index = view.index(kind.name)
        out: list[tuple[Finding, Baseline | None]] = []
        for b in mine:
            memo = ("baseline", b.kind, b.key, b.name)
            if memo not in view.memo:
                view.memo[memo] = evaluate(kind, b, index, snapshot)
            out.append((view.memo[memo], b))
        if self.guards != "none":
            out.extend(self._guards(kind.name, touch, view, newer_than))
        return out

    @staticmethod
    def _errors(
        kind: str, touch: Touch, mine: list[Baseline], reason: str
    ) -> list[tuple[Finding, Baseline | None]]:
        """Error findings for every baseline that could not be judged (never compliant)."""
        if not mine:
            return [(Finding(kind, touch.scope, "error", f"read:{kind}", "high", reason), None)]
        return [(Finding(kind, b.scope, "error", b.name, b.severity, reason), b) for b in mine]

    def _view(self, snapshot: Snapshot) -> StateView:
        """The normalized view of a snapshot, shared by every event a coalesced read serves
        (a snapshot is indexed once, not once per event)."""
        with self._views_lock:  # invocations share the pipeline across worker threads
            cached = self._views.get(id(snapshot))
            if cached is not None and cached[0] is snapshot:
                return cached[1]
            view = StateView(snapshot)
            self._views[id(snapshot)] = (snapshot, view)
            while len(self._views) > VIEW_CACHE:
                self._views.pop(next(iter(self._views)))
            return view

    def _guards(
        self, kind: str, touch: Touch, view: StateView, newer_than: datetime | None
    ) -> list[tuple[Finding, Baseline | None]]:
        """Guards of the touched kind: local ones on the setting just read, tenant-wide ones
        on the kind's whole section (read, coalesced, for the purpose)."""
        mine = {n: g for n, g in all_guards().items() if g.kind == kind}
        local = [n for n, g in mine.items() if not g.tenant_reads]
        out: list[tuple[Finding, Baseline | None]] = [
            (f, None)
            for f in _memo_guards(view, self.baselines, local)
            if f.resource.casefold() == touch.scope.casefold()
        ]
        reads: dict[tuple[tuple[str, str], ...], list[str]] = {}
        for name, guard in mine.items():
            if guard.tenant_reads:
                reads.setdefault(guard.tenant_reads, []).append(name)
        for plan, names in reads.items():
            read = [self.reader.read(k, s, newer_than=newer_than) for k, s in plan]
            tenant = self._view(read[0] if len(read) == 1 else Snapshot.merge(read))
            out.extend((f, None) for f in _memo_guards(tenant, self.baselines, names))
        return out

    def _expected_actor(
        self, signal: Signal, finding: Finding, baseline: Baseline | None
    ) -> Finding:
        if baseline is None or finding.status != "drift":
            return finding
        expected = {a.casefold() for a in baseline.expected_actors}
        actor = signal.actor.ids() | ({signal.actor.upn.casefold()} if signal.actor.upn else set())
        if expected & actor:
            return replace(
                finding, severity="low", message=f"{finding.message} (by an expected actor)"
            )
        return finding

    def _respond(self, record: EventRecord) -> None:
        if record.outcome not in ("drift", "compliant", "error") or not record.rule:
            return
        if record.outcome == "error":
            # A setting we cannot read is an incident of its own: losing read access (say,
            # our role assignment removed) pages someone instead of going quiet.
            record = replace(record, rule=record.rule + READ_ERROR, outcome="drift")
        else:  # the setting was read: an open read-error incident for it is resolved
            self.incidents.observe(
                replace(record, rule=record.rule + READ_ERROR, outcome="compliant")
            )
        transition = self.incidents.observe(record)
        if self.alerts is None:
            return
        if transition == "resolved":
            self.alerts.alert(record, self._baseline(record), transition)
            return
        if record.outcome != "drift" or transition not in ("opened", "updated", "duplicate"):
            return
        incident = self.incidents.get(record.resource, record.rule)
        if incident.status != "open" or _alerted_at(incident.alerted, record.severity):
            return  # told already, at this severity or higher
        deliveries = self.alerts.alert(record, self._baseline(record), transition)
        for delivery in deliveries:
            if delivery.get("ok"):
                self.incidents.mark_alerted(
                    record.resource,
                    record.rule,
                    record.signal_id,
                    f"{delivery['channel']}:{record.severity}",
                )
        if deliveries:
            # the same row again, now with what became of the alert (failures included)
            self.ledger.record([replace(record, alerts=json.dumps(deliveries))])

    # --- records ---------------------------------------------------------------------------
    def _baseline(self, record: EventRecord) -> Baseline | None:
        for baseline in self.baselines.of_kind(record.kind):
            if baseline.name == record.rule and baseline.scope == record.resource:
                return baseline
        return None

    def _record(self, signal: Signal, outcome: Outcome, *, message: str = "") -> EventRecord:
        return EventRecord(
            signal_id=signal.id,
            time=signal.time if _when(signal.time) else self._today(),
            source=signal.source,
            event_type=signal.type,
            outcome=outcome,
            resource=signal.resource,
            message=message,
            operation=signal.operation,
            correlation_id=signal.correlation_id,
            actor_upn=signal.actor.upn,
            actor_app_id=signal.actor.app_id,
            actor_object_id=signal.actor.object_id,
            actor_ip=signal.actor.ip,
        )

    def _finding_record(self, signal: Signal, touch: Touch, finding: Finding) -> EventRecord:
        return replace(
            self._record(signal, finding.status, message=finding.message),
            resource=finding.resource,
            setting=touch.key,
            kind=finding.kind,
            rule=finding.rule,
            severity=finding.severity,
            changes=finding.changes,
        )

    def _invalid_record(self, item: Invalid) -> EventRecord:
        return EventRecord(
            signal_id=item.id,
            time=item.time if _when(item.time) else self._today(),
            source=item.source,
            event_type="",
            outcome="invalid",
            message=item.reason,
        )

    def _today(self) -> str:
        """Midnight UTC of today: the time of rows whose signal has none of its own, so
        redeliveries that day keep one row."""
        now: datetime = self.clock()
        return now.strftime("%Y-%m-%dT00:00:00Z")


def _when(text: str) -> datetime | None:
    """An event time as an aware UTC datetime the event table can key (None when absent,
    unreadable or out of the table's range)."""
    from .store._keys import event_time

    try:
        return event_time(text)
    except (ValueError, OverflowError):
        return None


def _memo_guards(view: StateView, baselines: BaselineSet, names: list[str]) -> list[Finding]:
    """The findings of the named guards over ``view``, computed once per view."""
    memo = ("guards", *sorted(names))
    if memo not in view.memo:
        view.memo[memo] = list(guard_findings(view, baselines, names=names))
    found: list[Finding] = view.memo[memo]
    return found


def _alerted_at(alerted: Mapping[str, str], severity: str) -> bool:
    """Whether an alert went out for the incident at ``severity`` or higher (deliveries are
    recorded as ``channel:severity``)."""
    wanted = _RANK.get(severity, 2)
    return any(_RANK.get(key.rpartition(":")[2], 3) >= wanted for key in alerted)
