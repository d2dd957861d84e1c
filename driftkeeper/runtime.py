"""The Function App's clients, built on first use from settings (never at import time).

A :class:`Runtime` holds what one worker process shares between invocations: the Table
clients, the coalescing state reader (so a burst costs one read per resource), the alert
channels and the loaded baselines. Triggers get it from :func:`current` and hand its
pipeline the signals; tests build one with their own clients and :func:`install` it.

Everything it is configured with is its :class:`~driftkeeper.config.Settings` (the alert
channels: :class:`~driftkeeper.config.AlertSettings`); it reads no environment variable
itself.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._errors import AlertConfigError
from .config import Settings

if TYPE_CHECKING:
    from datetime import date

    from .baseline import BaselineSet
    from .compliance import DayResult, Summaries
    from .evidence import Seals, Upkeep
    from .live import LiveClients, ResourceReader
    from .loganalytics import LogsSink, Sent
    from .pipeline import AlertSink, Pipeline, StateReader
    from .rollback._approval import ApprovalRequest
    from .rollback._stage import RollbackStage
    from .store import Approvals

RollbackExecutor = Callable[["ApprovalRequest"], Mapping[str, Any]]
"""Runs an approved plan: ``execute(request) -> {"outcome", "steps", "verify", ...}``, the
outcome ``rolled-back``, ``rollback-failed`` or ``rollback-skipped``."""

__all__ = [
    "RollbackExecutor",
    "Runtime",
    "build_alerts",
    "current",
    "install",
    "resource_reader",
    "rollback_not_configured",
    "rollback_warnings",
]

log = logging.getLogger(__name__)
_lock = threading.Lock()
_current: Runtime | None = None


def rollback_warnings(settings: Settings, baselines: BaselineSet) -> list[str]:
    """What the operator should know about rollback with these settings: what the kill
    switch holds back, and approvals that cannot be asked for (no ``DRIFTKEEPER_PUBLIC_URL``
    for the links, or no ``DRIFTKEEPER_APPROVERS`` to decide). ``/api/health`` lists them and
    the Function App logs them once."""
    out: list[str] = []
    notice = baselines.rollback_notice(settings.rollback)
    if notice:
        out.append(notice)
    if settings.rollback == "off":
        return out
    asking = [b.file for b in baselines.baselines if b.response in ("approve", "auto")]
    if asking and not settings.public_url:
        out.append(
            f"DRIFTKEEPER_PUBLIC_URL is not set: the alerts of {len(asking)} baseline(s) "
            "asking for approval carry no approval link"
        )
    if asking and settings.approval_pages_problem is not None:
        out.append(
            f"the approval pages answer 503 ({settings.approval_pages_problem.split(':')[0]}): "
            f"{len(asking)} baseline(s) asking for approval cannot be approved on the web"
        )
    if asking and not settings.approvers:
        out.append(
            f"DRIFTKEEPER_APPROVERS is empty: nobody may approve the rollbacks of "
            f"{len(asking)} baseline(s)"
        )
    return out


@dataclass
class Runtime:
    """Everything a trigger needs, built lazily; every part can be injected instead.

    The live reads of the process (the pipeline's per-setting reads, the audit poll) share
    one ARM client and one Graph session; :meth:`close` releases what was built here.
    """

    settings: Settings
    table_service: Any = None
    reader: StateReader | None = None
    alerts: AlertSink | None = None
    credential: Any = None
    executor: RollbackExecutor | None = None
    """Runs approved rollbacks; None: :func:`rollback_not_configured`."""
    planner: Callable[[ApprovalRequest], str] | None = None
    """The plan hash the drift of a request implies now; None: the request's own while its
    incident is open at its generation, else ``""`` (void)."""
    summaries_table: str = "summaries"
    """The per-day compliance summaries (:mod:`driftkeeper.compliance`)."""
    _pipeline: Pipeline | None = field(default=None, init=False, repr=False)
    _request_key_value: bytes | None = field(default=None, init=False, repr=False)
    _tables: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    _build_lock: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False)
    _audit_reader: Any = field(default=None, init=False, repr=False)
    _live: Any = field(default=None, init=False, repr=False)
    _reader_built: bool = field(default=False, init=False, repr=False)
    _rules: list[tuple[str, str]] | None = field(default=None, init=False, repr=False)
    _logs_client: Any = field(default=None, init=False, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Runtime:
        """A runtime for the process's settings (``environ``, else ``os.environ``).

        Unusable alert settings do not stop the recording: rows are still written (and
        ``/api/health``, which checks them, fails), but nobody is alerted. Any other unusable
        setting raises :class:`~driftkeeper.SettingsError`.
        """
        env = os.environ if environ is None else environ
        try:
            return cls(Settings.from_env(env))
        except AlertConfigError as exc:
            log.error("alerts are off, the alert settings are unusable: %s", exc)
            return cls(Settings.from_env(env, alerts=False))

    # --- parts -------------------------------------------------------------------------------
    def table(self, name: str) -> Any:
        """A TableClient for ``name``, the table created on first use."""
        with self._build_lock:
            return self._table(name)

    def _table(self, name: str) -> Any:
        if name not in self._tables:
            service = self._table_service()
            service.create_table_if_not_exists(name)
            self._tables[name] = service.get_table_client(name)
        return self._tables[name]

    def _table_service(self) -> Any:
        if self.table_service is None:
            from azure.data.tables import TableServiceClient

            self.settings.require_table_storage()
            if self.settings.storage_connection:
                self.table_service = TableServiceClient.from_connection_string(
                    self.settings.storage_connection
                )
            else:
                self.table_service = TableServiceClient(
                    self.settings.table_endpoint, credential=self._credential()
                )
        return self.table_service

    def _credential(self) -> Any:
        if self.credential is None:
            from azure.identity import DefaultAzureCredential

            self.credential = DefaultAzureCredential()
        return self.credential

    def _live_clients(self) -> LiveClients:
        """The ARM client and Graph session every live read of this process shares."""
        with self._build_lock:
            if self._live is None:
                from .live import LiveClients

                self._live = LiveClients(
                    _LazyCredential(self._credential),
                    arm_endpoint=self.settings.arm_endpoint,
                    graph_endpoint=self.settings.graph_endpoint,
                    connection_verify=self.settings.connection_verify,
                    owner="Runtime",
                )
            clients: LiveClients = self._live
            return clients

    def _reader(self) -> StateReader:
        from .live import CoalescingReader

        if self.reader is None:
            inner = resource_reader(self.settings, self._credential(), clients=self._live_clients())
            self.reader = CoalescingReader(
                inner,
                window=self.settings.coalesce_seconds,
                settle=self.settings.settle_seconds,
            )
            self._reader_built = True
        return self.reader

    def _alerts(self) -> AlertSink | None:
        if self.alerts is None:
            self.alerts = build_alerts(self.settings, credential=self._credential)
        return self.alerts

    def baselines(self) -> BaselineSet:
        return self.pipeline().baselines

    def pipeline(self) -> Pipeline:
        """The pipeline, built once per process (baselines loaded once), thread-safe."""
        with self._build_lock:
            return self._build_pipeline()

    def _build_pipeline(self) -> Pipeline:
        if self._pipeline is None:
            from .baseline import load_baselines
            from .pipeline import Pipeline
            from .store import Incidents, Ledger

            s = self.settings
            baselines = load_baselines(s.baselines_dir)
            for notice in rollback_warnings(s, baselines):
                log.warning("%s", notice, extra={"baselines_dir": s.baselines_dir})
            ledger: Any = Ledger(self.table(s.events_table))
            sink = self.logs_sink()
            if sink is not None:
                from .loganalytics import MirroredLedger

                ledger = MirroredLedger(ledger, sink)
            self._pipeline = Pipeline(
                baselines,
                self._reader(),
                ledger,
                Incidents(self.table(s.incidents_table)),
                self._alerts(),
                self_ids=s.self_ids,
                guards=s.guards,
                rollback=self._rollback_stage(baselines),
                own_request=self._own_request() if s.rollback != "off" else None,
            )
        return self._pipeline

    def _request_key(self) -> bytes:
        """The key our client request ids are signed with (shared by every instance)."""
        with self._build_lock:
            if self._request_key_value is None:
                s = self.settings
                self._request_key_value = (
                    s.approval_key.encode("utf-8")
                    if s.approval_key
                    else self.approvals().form_key()
                )
            return self._request_key_value

    def _own_request(self) -> Callable[[str], bool]:
        from .rollback._request_ids import is_own_request_id

        def check(correlation_id: str) -> bool:
            # the key (maybe a table read) is asked for only for an id of our ids' shape
            return is_own_request_id(self._request_key, correlation_id)

        return check

    def _rollback_stage(self, baselines: BaselineSet) -> RollbackStage | None:
        """Approval links and automatic rollback, unless the kill switch is off."""
        s = self.settings
        if s.rollback == "off":
            return None
        import socket
        from datetime import timedelta

        from .live import Writer
        from .rollback import Endpoints
        from .rollback._request_ids import own_request_id
        from .rollback._service import Rollbacks
        from .rollback._stage import RollbackStage
        from .store._brakes import Brakes

        rollbacks = Rollbacks(
            baselines,
            self._reader(),
            Writer(self._live_clients()),
            Brakes(self.table(s.brakes_table)),
            mode=s.rollback,
            budget=s.auto_rollback_budget,
            endpoints=Endpoints(s.arm_endpoint, s.graph_endpoint),
            owner=f"{socket.gethostname()}:{os.getpid()}",
            request_id=lambda: own_request_id(self._request_key()),
        )
        return RollbackStage(
            rollbacks,
            self.approvals() if s.public_url else None,
            s.public_url,
            timedelta(seconds=s.approval_ttl_seconds),
        )

    def approvals(self) -> Approvals:
        """The approval requests (table ``settings.approvals_table``)."""
        from .store import Approvals

        return Approvals(self.table(self.settings.approvals_table))

    def rollback_executor(self) -> RollbackExecutor:
        """What runs an approved plan: the injected :attr:`executor`, else
        :func:`rollback_not_configured`."""
        if self.executor is not None:
            return self.executor
        if self.settings.rollback == "off":
            return rollback_not_configured
        from .rollback._decisions import run_approved

        return lambda request: run_approved(self.pipeline(), request)

    def decided(self, request: ApprovalRequest) -> Mapping[str, Any]:
        """What a rejected or accepted request does (an approved one runs through
        :meth:`rollback_executor`): recorded, and for an accepted drift, its incident closed
        and the baseline change proposed."""
        from .rollback._decisions import accept_drift, reject_drift

        if request.status == "accepted":
            return accept_drift(self.pipeline(), request)
        if request.status == "rejected":
            return reject_drift(self.pipeline(), request)
        return {}

    def current_plan_hash(self, request: ApprovalRequest) -> str:
        """The plan hash the drift of ``request`` implies now (``""``: the drift is gone or
        is another one): the injected :attr:`planner`'s answer, else the request's own
        while its incident is still open at the same generation."""
        if self.planner is not None:
            return self.planner(request)
        from .store import Incidents

        try:
            incident = Incidents(self.table(self.settings.incidents_table)).get(
                request.resource, request.rule
            )
        except LookupError:
            return ""
        if incident.status != "open" or incident.generation != request.generation:
            return ""
        return request.plan_hash

    def summaries(self) -> Summaries:
        """The per-day compliance summaries (tables ``summaries`` and ``summariescounts``)."""
        from .compliance import Summaries
        from .compliance._summaries import COUNTS_SUFFIX

        counts = self.table(self.summaries_table + COUNTS_SUFFIX)
        return Summaries(self.table(self.summaries_table), counts)

    def summarize(self, days: Sequence[date]) -> list[DayResult]:
        """(Re)compute the summaries of ``days`` from the event table, oldest first."""
        from .compliance import summarize_days

        return summarize_days(days, self.table(self.settings.events_table), self.summaries())

    def declared_rules(self) -> list[tuple[str, str]]:
        """The deployed baselines as (rule, kind), for the compliance report; loaded once
        (the pipeline's when built); none when they cannot be loaded."""
        from ._errors import DriftkeeperError
        from .baseline import load_baselines

        with self._build_lock:
            if self._rules is None:
                try:
                    loaded = (
                        self._pipeline.baselines
                        if self._pipeline is not None
                        else load_baselines(self.settings.baselines_dir)
                    )
                except DriftkeeperError as exc:
                    log.warning("compliance: baselines not loaded: %s", exc)
                    return []
                self._rules = [(b.name, b.kind) for b in loaded.baselines]
            return list(self._rules)

    def reconcile(self, run_id: str) -> list[Any]:
        """Read the whole tenant and judge it (the timer's backstop). The ARM sections go
        through Azure Resource Graph when more than
        ``DRIFTKEEPER_RESOURCE_GRAPH_MIN_SUBSCRIPTIONS`` subscriptions are watched."""
        from .live import choose_source, read_snapshot

        subscriptions = list(self.settings.subscriptions)
        snapshot = read_snapshot(
            self._credential(),
            subscriptions=subscriptions,
            source=choose_source(
                "auto", len(subscriptions), self.settings.resource_graph_min_subscriptions
            ),
            tenant_id=self.settings.tenant_id,
            arm_endpoint=self.settings.arm_endpoint,
            graph_endpoint=self.settings.graph_endpoint,
            connection_verify=self.settings.connection_verify,
            include_arm=bool(self.settings.subscriptions),
        )
        return self.pipeline().reconcile(snapshot, run_id=run_id)

    def seals(self) -> Seals:
        """The seals of the event table (table ``<events table>seals``)."""
        from .evidence import Seals, seals_table_name

        return Seals(self.table(seals_table_name(self.settings.events_table)))

    def keep_evidence(self) -> Upkeep:
        """Seal the event table's closed days, then apply ``DRIFTKEEPER_RETENTION_DAYS`` to
        the event table and the pruned days' summaries (the reconcile timer; bounded work
        per run)."""
        from datetime import UTC, datetime

        from .evidence import keep_evidence

        return keep_evidence(
            self.table(self.settings.events_table),
            self.seals(),
            today=datetime.now(UTC).date(),
            retention_days=self.settings.retention_days,
            forget=self.summaries().forget,
        )

    def logs_sink(self) -> LogsSink | None:
        """The Log Analytics sink (None: ``DRIFTKEEPER_LOGS_INGESTION_*`` not set)."""
        s = self.settings
        if not s.logs_ingestion:
            return None
        from .loganalytics import LogsSink, Outbox, logs_client, outbox_table_name

        with self._build_lock:
            if self._logs_client is None:
                self._logs_client = logs_client(
                    s.logs_ingestion_endpoint,
                    self._credential(),
                    connection_verify=s.connection_verify,
                )
            return LogsSink(
                self._logs_client,
                Outbox(self.table(outbox_table_name(s.events_table))),
                rule_id=s.logs_ingestion_rule_id,
                stream=s.logs_ingestion_stream,
                events=self.table(s.events_table),
            )

    def resend_logs(self) -> Sent | None:
        """Send the rows an earlier ingestion failure left in the outbox (the reconcile
        timer); None when the sink is off."""
        sink = self.logs_sink()
        return None if sink is None else sink.resend()

    def poll_audit(self) -> Any:
        """One Entra audit poll (the timer): new RoleManagement and Policy records."""
        from datetime import timedelta

        from .audit import AuditPoller
        from .live import AuditLogReader
        from .store import Cursors

        if self._audit_reader is None:
            self._audit_reader = AuditLogReader(
                self._credential(),
                graph_endpoint=self.settings.graph_endpoint,
                connection_verify=self.settings.connection_verify,
                session=self._live_clients().graph,
            )
        poller = AuditPoller(
            self._audit_reader,
            Cursors(self.table(self.settings.cursors_table)),
            self.pipeline(),
            overlap=timedelta(minutes=self.settings.audit_overlap_minutes),
        )
        return poller.poll()

    def close(self) -> None:
        """Release the live clients built here (the audit poll's and the per-setting
        reader's ARM client and Graph session); building them again is allowed."""
        with self._build_lock:
            audit, live = self._audit_reader, self._live
            self._audit_reader = self._live = None
        if audit is not None:
            audit.close()
        if live is not None:
            live.close()
        if self._reader_built:  # its clients are closed: the next use builds them again
            self._reader_built, self.reader, self._pipeline = False, None, None


class _LazyCredential:
    """The runtime's credential, built (and ``azure.identity`` imported) when a client first
    asks it for a token, not when the clients are built: the first event, whose reader is
    injected or whose rollback never writes, does not pay for it."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build

    def __getattr__(self, name: str) -> Any:
        return getattr(self._build(), name)


def resource_reader(
    settings: Settings,
    credential: Any,
    subscriptions: Sequence[str] = (),
    *,
    clients: LiveClients | None = None,
) -> ResourceReader:
    """The per-setting live reader for these settings (``subscriptions`` override them;
    ``clients`` shares another reader's ARM client and Graph session)."""
    from .live import ResourceReader

    return ResourceReader(
        credential,
        subscriptions=list(subscriptions) or list(settings.subscriptions),
        arm_endpoint=settings.arm_endpoint,
        graph_endpoint=settings.graph_endpoint,
        connection_verify=settings.connection_verify,
        clients=clients,
    )


def build_alerts(settings: Settings, *, credential: Any = None) -> AlertSink | None:
    """The alert channels ``settings.alerts`` configures (None when there are none).

    The channels are built here, their SDKs imported when they first send. ``credential``
    (or a function returning it) publishes to Event Grid when no topic key is set.
    """
    from .alerts import EventGridChannel, Notifier, SmtpEmailChannel, TeamsChannel
    from .respond import Responder

    alerts = settings.alerts
    routes = alerts.routes
    channels: list[Any] = []
    if alerts.teams_webhook_url:
        channels.append(TeamsChannel(alerts.teams_webhook_url))
    if alerts.smtp_host:
        channels.append(
            SmtpEmailChannel(
                alerts.smtp_host,
                sender=alerts.smtp_from,
                to=routes.email_to,
                port=alerts.smtp_port,
                starttls=alerts.smtp_starttls,
                username=alerts.smtp_user or None,
                password=alerts.smtp_password or None,
            )
        )
    if alerts.graph_mail_sender:
        from azure.identity.aio import DefaultAzureCredential

        from .alerts import GraphMailChannel, graph_mail_client

        endpoint = settings.graph_endpoint
        client, aclose = graph_mail_client(DefaultAzureCredential(), endpoint=endpoint)
        channels.append(
            GraphMailChannel(
                client, sender=alerts.graph_mail_sender, to=routes.email_to, aclose=aclose
            )
        )
    publisher = None
    if alerts.eventgrid_topic_endpoint:
        if alerts.eventgrid_topic_key:
            from azure.core.credentials import AzureKeyCredential

            topic_credential: Any = AzureKeyCredential(alerts.eventgrid_topic_key)
        else:
            topic_credential = credential() if callable(credential) else credential
        publisher = EventGridChannel(
            alerts.eventgrid_topic_endpoint, topic_credential, source_name="driftkeeper"
        )
    if not channels and publisher is None:
        return None
    # Every finding is published to Event Grid whatever its severity: routes that name it
    # are satisfied by the publisher, and the Notifier handles the other channels.
    return Responder(Notifier(channels, routes.without(["eventgrid"])), publisher)


def rollback_not_configured(request: ApprovalRequest) -> Mapping[str, Any]:
    """The executor while none is configured: nothing is changed, and the request says so."""
    return {"outcome": "rollback-skipped", "reason": "rollback execution not configured"}


def current() -> Runtime:
    """The process's runtime, built from the environment on first use."""
    global _current
    with _lock:
        if _current is None:
            _current = Runtime.from_env()
        return _current


def install(runtime: Runtime | None) -> None:
    """Use ``runtime`` for the following invocations (tests, the demo); None resets."""
    global _current
    with _lock:
        _current = runtime
