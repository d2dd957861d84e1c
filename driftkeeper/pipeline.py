"""The event pipeline: signal → route → read → evaluate → record → respond.

One direction, no back and forth:

- **route** (pure): which watched settings a signal touches;
- **read**: a read plan declares every (kind, scope) the signal needs, the touched settings
  and what the guards of their kinds read (a guard's ``tenant_reads``, e.g. every CA policy
  and security defaults); the plan is fetched through the injected :class:`StateReader`
  (coalesced per resource) before anything is judged, and no later stage reads again;
- **evaluate**: the engine judges what was fetched (a guard with several reads judges them
  :func:`merged`);
- **record**: every outcome is written to the event table before anyone is alerted, so a
  failure to alert never loses the row; a touched setting no baseline covers is an
  ``unbaselined`` row (its guards' findings are rows of their own), so every change to a
  watched kind leaves one;
- **respond**: one incident read (and at most one conditional write) per row, or per
  (resource, rule) for the rows a batch holds several of, decides, by
  :mod:`driftkeeper.incident_policy`, whether to alert; the alert stage gets the
  :class:`Finding` and :class:`Signal` it is about, and the deliveries are recorded once, on
  the incident.

Poison: a signal whose judging raises anything but a transient failure (:func:`is_transient`:
a store, ARM or Graph unavailable) is recorded as ``invalid`` with the error as its reason and
acknowledged, so one item can neither fail its trigger forever nor stop the rest of its batch;
the error is logged with its traceback. This per-item boundary and the triggers are the only
places that catch broadly.

Idempotency: a retried delivery produces the same :class:`EventRecord` keys (signal id,
setting, rule), so the ledger keeps one row; the incident book answers ``duplicate`` for a
signal it has already applied, and an alert goes out only as the policy says (when an
incident opens, escalates, or a later delivery finds its alert claimed but not delivered
and the claim expired: the sender died).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ._errors import InputError, TimeFormatError
from ._model import EventRecord, Finding, Outcome
from ._state import StateView
from .baseline import Baseline, BaselineSet
from .engine import GuardMode, evaluate, guard_findings, judge_all
from .guards import all_guards
from .incident_policy import READ_ERROR, Incident, Observation, Transition
from .intake import Invalid, Parsed
from .kinds import Touch, all_kinds, get_kind
from .signals import Actor, Signal
from .snapshot import Snapshot

if TYPE_CHECKING:
    from .alerts import Link
    from .alerts import Transition as AlertTransition
    from .rollback._stage import Prepared, RollbackStage

__all__ = [
    "READ_ERROR",
    "AlertSink",
    "IncidentBook",
    "Judged",
    "Pipeline",
    "RecordSink",
    "SignalOutcome",
    "SignalResult",
    "StateReader",
    "Transition",
    "is_transient",
    "poison_reason",
]

log = logging.getLogger(__name__)

VERIFY_ACTOR = "driftkeeper (the read after a rollback)"
"""Who the rows of a verified rollback's re-judgement name."""
FUTURE_SLACK = timedelta(minutes=15)
"""How far in the future an event time may be (clock skew) before it is refused."""
VIEW_CACHE = 64
"""Snapshots whose normalized views are kept (the coalescing reader's recent answers)."""

SignalOutcome = Literal["evaluated", "ignored", "duplicate", "self", "invalid"]
Read = tuple[str, str]
"""A (kind, scope) the state reader is asked for."""


class StateReader(Protocol):
    """Reads the current state of one setting as a partial snapshot."""

    def read(self, kind: str, scope: str, *, newer_than: datetime | None = None) -> Snapshot: ...


class RecordSink(Protocol):
    """The event table (idempotent on the record's keys)."""

    def record(self, records: Sequence[EventRecord]) -> None: ...


class IncidentBook(Protocol):
    """One row per (resource, rule), changed as :mod:`driftkeeper.incident_policy` says."""

    def observe(self, record: EventRecord, *, alerting: bool = True) -> Observation:
        """Apply one judged row; the observation says whether (and how) to alert."""
        ...

    def accept(self, record: EventRecord) -> Incident | None:
        """Close the open drift incident of ``record`` as accepted (None: none open)."""
        ...

    def record_alert(
        self, observation: Observation, deliveries: Sequence[Mapping[str, Any]]
    ) -> None:
        """Record the deliveries of the alert ``observation`` claimed (one write)."""
        ...


class AlertSink(Protocol):
    """Delivers alerts (never raising for a channel failure) and publishes findings."""

    def alert(
        self,
        finding: Finding,
        signal: Signal,
        baseline: Baseline | None,
        transition: AlertTransition,
        *,
        links: Sequence[Link] = (),
        outcome: Outcome | None = None,
    ) -> list[dict[str, Any]]:
        """Deliver; return the deliveries as ``{"channel", "ok", "attempts", "error"}``.
        ``links`` are driftkeeper's own (an approval page); ``outcome`` overrides the
        finding's status as the alert's outcome (a rollback's result)."""
        ...

    def publish(self, judged: Sequence[tuple[Finding, Signal]]) -> None: ...


@dataclass(frozen=True)
class SignalResult:
    """What became of one signal."""

    id: str
    source: str
    outcome: SignalOutcome
    reason: str = ""
    findings: tuple[Finding, ...] = ()
    unbaselined: tuple[str, ...] = ()
    """The touched settings (scope keys) no baseline covers: each an ``unbaselined`` row."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "source": self.source, "outcome": self.outcome}
        if self.reason:
            out["reason"] = self.reason
        out["findings"] = [f.to_dict() for f in self.findings]
        if self.unbaselined:
            out["unbaselined"] = list(self.unbaselined)
        return out


@dataclass(frozen=True)
class Judged:
    """One setting judged for one signal: the finding, the baseline behind it (None for a
    guard) and the event-table row it became. The respond stage works from these."""

    signal: Signal
    finding: Finding
    baseline: Baseline | None
    record: EventRecord
    state: Snapshot | None = None
    """The state the finding was judged on (a rollback is planned from it)."""


@dataclass
class Pipeline:
    """Judges signals against baselines and guards; records and responds."""

    baselines: BaselineSet
    reader: StateReader
    ledger: RecordSink
    incidents: IncidentBook
    alerts: AlertSink | None = None
    self_ids: frozenset[str] = frozenset()
    guards: GuardMode = "default"
    clock: Any = field(default=lambda: datetime.now(UTC))
    rollback: RollbackStage | None = None
    """Approval links and automatic rollback (None: drift is only alerted)."""
    own_request: Any = None
    """``(correlation id) -> bool``: whether a change came from one of our own rollback
    writes (:mod:`driftkeeper.rollback._request_ids`); None: only ``self_ids`` say so."""
    _states: dict[str, _States] = field(default_factory=dict, init=False, repr=False)
    _views: dict[int, tuple[Snapshot, StateView]] = field(
        default_factory=dict, init=False, repr=False
    )
    _merges: dict[tuple[int, ...], tuple[tuple[Snapshot, ...], Snapshot]] = field(
        default_factory=dict, init=False, repr=False
    )
    _views_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _tenant_guards: dict[str, list[tuple[tuple[Read, ...], list[str]]]] = field(
        default_factory=dict, init=False, repr=False
    )

    def __post_init__(self) -> None:
        for baseline in self.baselines.baselines:
            self._states.setdefault(baseline.kind, _States()).by_key[baseline.key] = baseline

    # --- the whole flow --------------------------------------------------------------------
    def process(self, parsed: Iterable[Parsed]) -> list[SignalResult]:
        """Run every signal through the pipeline. Raises on a transient read or store
        failure (the trigger then fails and the platform retries the whole batch)."""
        results: list[SignalResult] = []
        records: list[EventRecord] = []
        judged: list[Judged] = []
        seen: set[tuple[str, str]] = set()  # (source, id): sources' ids may coincide
        for item in parsed:
            if isinstance(item, Invalid):
                results.append(SignalResult(item.id, item.source, "invalid", item.reason))
                records.append(self._invalid_record(item))
                continue
            if (item.source, item.id) in seen:
                results.append(
                    SignalResult(item.id, item.source, "duplicate", "seen in this batch")
                )
                continue
            seen.add((item.source, item.id))
            try:
                result, rows, made = self._judge(item)
            except Exception as exc:  # the poison boundary (see the module notes)
                if is_transient(exc):
                    raise
                log.exception("signal %r not judged; recorded invalid", item.id[:200])
                invalid = Invalid(item.id, poison_reason(exc), item.source, item.time)
                results.append(SignalResult(item.id, item.source, "invalid", invalid.reason))
                records.append(self._invalid_record(invalid))
                continue
            results.append(result)
            records.extend(rows)
            judged.extend(made)
        self.ledger.record(records)
        self._respond(judged)
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
        by_name = {(b.kind, b.name, b.scope): b for b in self.baselines.baselines}
        observed = self._observed(snapshot)
        judged = [
            Judged(
                signal,
                f,
                by_name.get((f.kind, f.rule, f.resource)),
                replace(
                    self._finding_record(
                        signal, Touch(f.kind, f.resource, f.resource.casefold()), f
                    ),
                    observed=observed,
                ),
                snapshot,
            )
            for f in outcomes
        ]
        self.ledger.record([j.record for j in judged])
        self._respond(judged)
        return [f for f in outcomes if f.status != "compliant"]

    # --- stages ----------------------------------------------------------------------------
    def route(self, signal: Signal) -> list[Touch]:
        """Which watched settings a signal touches (pure)."""
        touches: list[Touch] = []
        for name, kind in all_kinds().items():
            touches.extend(kind.route(signal, self._states.get(name, _NO_STATES)))
        return touches

    def plan(self, touches: Sequence[Touch]) -> list[Read]:
        """Every read judging ``touches`` needs, each once: the touched settings, then what
        the tenant-wide guards of their kinds declare (pure)."""
        reads: dict[Read, None] = {}
        for touch in touches:
            reads[(touch.kind, touch.scope)] = None
        if self.guards != "none":
            for touch in touches:
                for group, _ in self._guards_reading(touch.kind):
                    reads.update(dict.fromkeys(group))
        return list(reads)

    def _judge(self, signal: Signal) -> tuple[SignalResult, list[EventRecord], list[Judged]]:
        when = _when(signal.time)
        if when is None or when > self.clock() + FUTURE_SLACK:
            # an unreadable or future time would corrupt the ordering of incidents
            reason = f"event time {signal.time!r} is unreadable or in the future"
            return (
                SignalResult(signal.id, signal.source, "invalid", reason),
                [replace(self._record(signal, "invalid", message=reason), time=self._today())],
                [],
            )
        if signal.actor.ids() & self.self_ids:
            reason = f"made by driftkeeper itself ({signal.actor.display()})"
            return (
                SignalResult(signal.id, signal.source, "self", reason),
                [self._record(signal, "self", message=reason)],
                [],
            )
        # a request id of ours is a value the caller chose: the change is judged all the
        # same, and only a change that left every setting compliant is recorded as ours
        ours = self.own_request is not None and self.own_request(signal.correlation_id)
        if signal.status and signal.status != "succeeded":
            reason = f"operation {signal.status}: nothing changed"
            return (
                SignalResult(signal.id, signal.source, "ignored", reason),
                [self._record(signal, "ignored", message=reason)],
                [],
            )
        touches = self.route(signal)
        if not touches:
            reason = "not a watched setting"
            return (
                SignalResult(signal.id, signal.source, "ignored", reason),
                [self._record(signal, "ignored", message=reason)],
                [],
            )
        fetched = self._fetch(self.plan(touches), when)
        findings: list[Finding] = []
        judged: list[Judged] = []
        unbaselined: list[EventRecord] = []
        for touch in touches:
            made = self._evaluate(touch, fetched)
            state = fetched[(touch.kind, touch.scope)]
            observed = self._observed(state)
            for finding, baseline in made:
                finding = self._expected_actor(signal, finding, baseline)
                findings.append(finding)
                record = replace(self._finding_record(signal, touch, finding), observed=observed)
                judged.append(Judged(signal, finding, baseline, record, state))
            if not self._covering(touch) and not _read_failed(made):
                unbaselined.append(self._unbaselined_record(signal, touch, made))
        if ours and findings and all(f.status == "compliant" for f in findings):
            reason = f"a rollback write of driftkeeper's (request id {signal.correlation_id})"
            rows = [replace(j.record, outcome="self", message=reason) for j in judged]
            return SignalResult(signal.id, signal.source, "self", reason), rows, []
        result = SignalResult(
            signal.id,
            signal.source,
            "evaluated",
            "",
            tuple(f for f in findings if f.status != "compliant"),
            tuple(dict.fromkeys(r.setting for r in unbaselined)),
        )
        return result, [*unbaselined, *(j.record for j in judged)], judged

    def _fetch(self, reads: Sequence[Read], newer_than: datetime | None) -> dict[Read, Snapshot]:
        """Every read of the plan, before anything is judged. A scope the reader refuses
        (a bad input, never retried forever) becomes a snapshot whose sections failed."""
        fetched: dict[Read, Snapshot] = {}
        for kind, scope in reads:
            try:
                fetched[(kind, scope)] = self.reader.read(kind, scope, newer_than=newer_than)
            except InputError as exc:
                fetched[(kind, scope)] = _refused(kind, f"cannot read {scope}: {exc}")
        return fetched

    def _evaluate(
        self, touch: Touch, fetched: Mapping[Read, Snapshot]
    ) -> list[tuple[Finding, Baseline | None]]:
        kind = get_kind(touch.kind)
        mine = self._covering(touch)
        snapshot = fetched[(touch.kind, touch.scope)]
        for section in (*kind.sections, *kind.optional_sections):
            status = snapshot.status(section)
            if status == "failed":
                error = snapshot.read_errors[section]
                reason = (
                    error if snapshot.source == _REFUSED else f"could not read {section}: {error}"
                )
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
            out.extend(self._guards(kind.name, touch, view, fetched))
        return out

    def _covering(self, touch: Touch) -> list[Baseline]:
        """The baselines that judge the touched setting (none: it is unbaselined)."""
        kind = get_kind(touch.kind)
        return [b for b in self.baselines.of_kind(kind.name) if kind.covers(b.key, touch.key)]

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

    def _merged(self, snapshots: Sequence[Snapshot]) -> Snapshot:
        """:meth:`Snapshot.merge`, the same object for the same reads (so its view and the guards'
        verdicts are computed once per coalesced read, as for a single read)."""
        if len(snapshots) == 1:
            return snapshots[0]
        key = tuple(id(s) for s in snapshots)
        with self._views_lock:
            cached = self._merges.get(key)
            if cached is not None and all(
                a is b for a, b in zip(cached[0], snapshots, strict=True)
            ):
                return cached[1]
            merged_snapshot = Snapshot.merge(snapshots)
            self._merges[key] = (tuple(snapshots), merged_snapshot)
            while len(self._merges) > VIEW_CACHE:
                self._merges.pop(next(iter(self._merges)))
            return merged_snapshot

    def _guards_reading(self, kind: str) -> list[tuple[tuple[Read, ...], list[str]]]:
        """The tenant-wide guards of ``kind``, grouped by the reads they declare."""
        groups = self._tenant_guards.get(kind)
        if groups is None:
            by_reads: dict[tuple[Read, ...], list[str]] = {}
            for name, guard in all_guards().items():
                reads = guard.tenant_reads
                if guard.kind == kind and reads:
                    by_reads.setdefault(reads, []).append(name)
            groups = list(by_reads.items())
            self._tenant_guards[kind] = groups
        return groups

    def _guards(
        self, kind: str, touch: Touch, view: StateView, fetched: Mapping[Read, Snapshot]
    ) -> list[tuple[Finding, Baseline | None]]:
        """Guards of the touched kind: local ones on the setting just read, tenant-wide ones
        on what their declared reads fetched."""
        local = [n for n, g in all_guards().items() if g.kind == kind and not g.tenant_reads]
        out: list[tuple[Finding, Baseline | None]] = [
            (f, None)
            for f in _memo_guards(view, self.baselines, local)
            if f.resource.casefold() == touch.scope.casefold()
        ]
        for reads, names in self._guards_reading(kind):
            tenant = self._view(self._merged([fetched[r] for r in reads]))
            out.extend((f, None) for f in _memo_guards(tenant, self.baselines, names))
        return out

    def _expected_actor(
        self, signal: Signal, finding: Finding, baseline: Baseline | None
    ) -> Finding:
        if baseline is None or finding.status != "drift":
            return finding
        if self._is_expected(signal, baseline):
            return replace(
                finding, severity="low", message=f"{finding.message} (by an expected actor)"
            )
        return finding

    @staticmethod
    def _is_expected(signal: Signal, baseline: Baseline | None) -> bool:
        """Whether the signal's actor is one of the baseline's expected actors."""
        if baseline is None or not baseline.expected_actors:
            return False
        expected = {a.casefold() for a in baseline.expected_actors}
        actor = signal.actor.ids() | ({signal.actor.upn.casefold()} if signal.actor.upn else set())
        return bool(expected & actor)

    def respond_to_finding(
        self, signal: Signal, finding: Finding, baseline: Baseline, state: Snapshot
    ) -> None:
        """Record and respond to one finding made outside an event (a rollback's re-check of
        a setting that changed since its incident was recorded)."""
        touch = Touch(finding.kind, finding.resource, baseline.key)
        record = replace(
            self._finding_record(signal, touch, finding), observed=self._observed(state)
        )
        self.ledger.record([record])
        self._respond([Judged(signal, finding, baseline, record, state)])

    def respond_to_guards(self, signal: Signal, kind: str, resource: str, state: Snapshot) -> None:
        """Judge the guards of one setting again on ``state`` (a verified rollback's read),
        record and respond: a guard incident the rollback fixed resolves now, not at the next
        event or reconcile run. Tenant-wide guards wait for those."""
        local = [n for n, g in all_guards().items() if g.kind == kind and not g.tenant_reads]
        if self.guards == "none" or not local:
            return
        observed = self._observed(state)
        touch = Touch(kind, resource, resource.casefold())
        judged = [
            Judged(
                signal,
                f,
                None,
                replace(self._finding_record(signal, touch, f), observed=observed),
                state,
            )
            for f in _memo_guards(self._view(state), self.baselines, local)
            if f.resource.casefold() == resource.casefold()
        ]
        self.ledger.record([j.record for j in judged])
        self._respond(judged)

    def _respond(self, judged: Sequence[Judged]) -> None:
        observed = self._observe_groups(judged)
        follow_ups = [
            f
            for f in (self._respond_to(item, observed.get(n)) for n, item in enumerate(judged))
            if f is not None
        ]
        if self.alerts is not None:
            self.alerts.publish([(j.finding, j.signal) for j in judged])
        # rollbacks run once every judgement of the batch is applied (a guard's incident
        # opened by this event exists when the verify read resolves it)
        for item, prepared in follow_ups:
            self._follow_up(item, prepared)

    def _observe_groups(self, judged: Sequence[Judged]) -> dict[int, Observation]:
        """The observations of the rows a batch holds several of for one (resource, rule),
        each group applied with one incident read and one write (an incident book with
        ``observe_many``, as the Table one); by position in ``judged``."""
        observe_many = getattr(self.incidents, "observe_many", None)
        if observe_many is None:
            return {}
        groups: dict[tuple[str, str], list[int]] = {}
        for n, item in enumerate(judged):
            record = item.record
            if _has_incident(record):
                groups.setdefault((record.resource, record.rule), []).append(n)
        observed: dict[int, Observation] = {}
        for indexes in groups.values():
            if len(indexes) > 1:
                made = observe_many(
                    [judged[n].record for n in indexes], alerting=self.alerts is not None
                )
                observed.update(zip(indexes, made, strict=True))
        return observed

    def _respond_to(
        self, judged: Judged, observation: Observation | None = None
    ) -> tuple[Judged, Prepared] | None:
        """One incident read (and at most one conditional write) unless ``observation``
        (a batch's) is given; if the policy says so, an alert, whose deliveries are recorded
        on the incident in one more write. Returns the rollback work left for after the
        batch, if any."""
        record = judged.record
        if not _has_incident(record):
            return None
        if observation is None:
            observation = self.incidents.observe(record, alerting=self.alerts is not None)
        prepared = None
        if self.rollback is not None and record.outcome == "drift":
            prepared = self.rollback.prepare(
                judged,
                observation,
                expected_actor=self._is_expected(judged.signal, judged.baseline),
            )
        links = prepared.links if prepared else ()
        if self.alerts is not None and observation.alert is not None:
            finding = judged.finding
            if observation.track == "read-error":
                # losing read access is an incident of its own: it pages someone
                finding = replace(finding, rule=finding.rule + READ_ERROR)
            deliveries = self.alerts.alert(
                finding, judged.signal, judged.baseline, observation.alert, links=links
            )
            if observation.alert != "resolved":
                self.incidents.record_alert(observation, deliveries)
        elif self.alerts is not None and prepared is not None and prepared.fresh_link:
            # the drift changed since its approval link went out: that link is void, this
            # one replaces it (minting it was the claim: one instance sends it)
            self.alerts.alert(
                judged.finding, judged.signal, judged.baseline, "updated", links=links
            )
        if self.rollback is not None and prepared is not None:
            return judged, prepared
        return None

    def _follow_up(self, judged: Judged, prepared: Prepared) -> None:
        """Page for a tripped brake, run an automatic rollback, and judge the setting's
        guards again on a verified rollback's read."""
        if self.rollback is not None:
            result = self.rollback.follow_up(
                judged, prepared, ledger=self.ledger, incidents=self.incidents, alerts=self.alerts
            )
            if result is not None and result.after_state is not None:
                verify = replace(
                    judged.signal,
                    id=f"verified:{judged.signal.id}",
                    source="rollback",
                    type="driftkeeper.rollback",
                    actor=Actor(upn=VERIFY_ACTOR),
                    operation="verify",
                    correlation_id="",
                )
                self.respond_to_guards(
                    verify, judged.finding.kind, judged.finding.resource, result.after_state
                )

    # --- records ---------------------------------------------------------------------------
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

    def _unbaselined_record(
        self, signal: Signal, touch: Touch, made: Sequence[tuple[Finding, Baseline | None]]
    ) -> EventRecord:
        """The row of a touched setting no baseline covers (no rule: it opens no incident),
        with the verdicts of the guards that judged it (each also a row of its own)."""
        verdicts = ", ".join(f"{f.rule} {f.status}" for f, _ in made)
        message = f"no {touch.kind} baseline covers {touch.key}"
        return replace(
            self._record(
                signal,
                "unbaselined",
                message=f"{message}; guards: {verdicts}" if verdicts else message,
            ),
            resource=touch.scope,
            setting=touch.key,
            kind=touch.kind,
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

    def _observed(self, snapshot: Snapshot) -> str:
        """When the judged state was read: a live read's capture time; otherwise (a state
        file, a refused read) now, since a file's capture time says when someone saved it,
        not in which order driftkeeper is shown the states."""
        now: datetime = self.clock()
        live = snapshot.source == "live" and bool(snapshot.captured_at)
        captured = _when(snapshot.captured_at) if live else None
        if captured is None or captured > now:
            return now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return snapshot.captured_at

    def _today(self) -> str:
        """Midnight UTC of today: the time of rows whose signal has none of its own, so
        redeliveries that day keep one row."""
        now: datetime = self.clock()
        return now.strftime("%Y-%m-%dT00:00:00Z")


_RETRYABLE_STATUS = frozenset({401, 403, 408, 409, 412, 429})
"""4xx answers that say nothing about the input: credentials, throttling, a concurrent write."""


def is_transient(exc: BaseException) -> bool:
    """Whether a later attempt may succeed where this one raised ``exc``: a store, ARM,
    Graph or an alert channel unavailable (:class:`~driftkeeper.TransientReadError`, a
    transient :class:`~driftkeeper.DeliveryError`, azure-core's connection errors and 401,
    403, 408, 409, 412, 429 and 5xx answers, an ``OSError``). Only these may fail a trigger;
    anything else is about the input (or a bug) and retrying it cannot help."""
    from azure.core.exceptions import AzureError, HttpResponseError

    from ._errors import DeliveryError, DriftkeeperError, TransientReadError

    if isinstance(exc, TransientReadError):
        return True
    if isinstance(exc, DeliveryError):
        return exc.transient
    if isinstance(exc, DriftkeeperError):
        return False
    if isinstance(exc, HttpResponseError) and exc.status_code is not None:
        return exc.status_code >= 500 or exc.status_code in _RETRYABLE_STATUS
    return isinstance(exc, AzureError | OSError)


MAX_REASON = 500
"""Longest error text kept in the reason of a poison item's ``invalid`` row."""


def poison_reason(exc: BaseException) -> str:
    """The reason recorded for an item whose processing raised ``exc`` (not transient)."""
    text = " ".join(str(exc)[: MAX_REASON * 2].split())
    text = "".join(c if c.isprintable() else "?" for c in text)
    if len(text) > MAX_REASON:
        text = text[: MAX_REASON - 1] + "…"
    name = type(exc).__name__
    return f"not processed: {name}: {text}" if text else f"not processed: {name}"


def _when(text: str) -> datetime | None:
    """An event time as an aware UTC datetime the event table can key (None when absent,
    unreadable or out of the table's range)."""
    from .store._keys import event_time

    try:
        return event_time(text)
    except TimeFormatError:
        return None


def _has_incident(record: EventRecord) -> bool:
    """Whether a row is applied to the incident of its (resource, rule): a judged one."""
    return record.outcome in ("drift", "compliant", "error") and bool(record.rule)


def _read_failed(made: Sequence[tuple[Finding, Baseline | None]]) -> bool:
    """Whether judging a setting stopped at a failed read (its error row stands for it)."""
    return any(f.status == "error" and f.rule.startswith("read:") for f, b in made if b is None)


class _States(Mapping[str, Any]):
    """One kind's baseline states by scope key, as :meth:`Kind.route` reads them; a state
    is read only when asked for (a baseline from the compiled bundle reads it then)."""

    def __init__(self) -> None:
        self.by_key: dict[str, Baseline] = {}

    def __getitem__(self, key: str) -> Any:
        return self.by_key[key].state

    def __contains__(self, key: object) -> bool:  # without reading the state
        return key in self.by_key

    def __iter__(self) -> Iterator[str]:
        return iter(self.by_key)

    def __len__(self) -> int:
        return len(self.by_key)


_NO_STATES = _States()
"""The states of a kind without baselines (never filled)."""


def _memo_guards(view: StateView, baselines: BaselineSet, names: list[str]) -> list[Finding]:
    """The findings of the named guards over ``view``, computed once per view."""
    memo = ("guards", *sorted(names))
    if memo not in view.memo:
        view.memo[memo] = list(guard_findings(view, baselines, names=names))
    found: list[Finding] = view.memo[memo]
    return found


_REFUSED = "<refused>"
"""Source of the snapshot standing in for a read the reader refused."""


def _refused(kind: str, reason: str) -> Snapshot:
    """A read the reader refused, as a snapshot in which every section of ``kind`` failed."""
    sections = (*get_kind(kind).sections, *get_kind(kind).optional_sections)
    return Snapshot("", "", {}, dict.fromkeys(sections, reason), _REFUSED)
