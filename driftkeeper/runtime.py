"""The Function App's clients, built on first use from settings (never at import time).

A :class:`Runtime` holds what one worker process shares between invocations: the Table
clients, the coalescing state reader (so a burst costs one read per resource), the alert
channels and the loaded baselines. Triggers get it from :func:`current` and hand its
pipeline the signals; tests build one with their own clients and :func:`install` it.

Settings (besides :class:`~driftkeeper.config.Settings`), all optional:

- ``DRIFTKEEPER_TEAMS_WEBHOOK_URL``: a Teams Workflows webhook (a secret: never logged);
- ``DRIFTKEEPER_SMTP_HOST``, ``_SMTP_PORT`` (587), ``_SMTP_FROM``, ``_SMTP_USER``,
  ``_SMTP_PASSWORD``, ``_SMTP_STARTTLS`` (true): email through SMTP;
- ``DRIFTKEEPER_GRAPH_MAIL_SENDER``: email through Graph sendMail as this user (the identity
  needs ``Mail.Send``), instead of SMTP;
- ``DRIFTKEEPER_EVENTGRID_TOPIC_ENDPOINT`` and ``_EVENTGRID_TOPIC_KEY`` (or the managed
  identity when no key): every finding published as a CloudEvent;
- ``DRIFTKEEPER_ALERT_ROUTES``, ``DRIFTKEEPER_ALERT_EMAIL_TO``: routing per severity.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .config import Settings

if TYPE_CHECKING:
    from .baseline import BaselineSet
    from .live import ResourceReader
    from .pipeline import AlertSink, Pipeline, StateReader

__all__ = ["Runtime", "current", "install"]

log = logging.getLogger(__name__)
_lock = threading.Lock()
_current: Runtime | None = None


@dataclass
class Runtime:
    """Everything a trigger needs, built lazily; every part can be injected instead."""

    settings: Settings
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    table_service: Any = None
    reader: StateReader | None = None
    alerts: AlertSink | None = None
    credential: Any = None
    _pipeline: Pipeline | None = field(default=None, init=False, repr=False)
    _tables: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    _build_lock: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False)
    _audit_reader: Any = field(default=None, init=False, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Runtime:
        env = dict(os.environ if environ is None else environ)
        return cls(Settings.from_env(env), env)

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

            if self.settings.storage_connection:
                self.table_service = TableServiceClient.from_connection_string(
                    self.settings.storage_connection
                )
            else:
                if not self.settings.table_endpoint:
                    from ._errors import InputError

                    raise InputError(
                        "set DRIFTKEEPER_TABLE_ENDPOINT (managed identity) "
                        "or DRIFTKEEPER_STORAGE_CONNECTION"
                    )
                self.table_service = TableServiceClient(
                    self.settings.table_endpoint, credential=self._credential()
                )
        return self.table_service

    def _credential(self) -> Any:
        if self.credential is None:
            from azure.identity import DefaultAzureCredential

            self.credential = DefaultAzureCredential()
        return self.credential

    def _reader(self) -> StateReader:
        from .live import CoalescingReader

        if self.reader is None:
            inner = resource_reader(self.settings, self._credential())
            self.reader = CoalescingReader(
                inner,
                window=self.settings.coalesce_seconds,
                settle=self.settings.settle_seconds,
            )
        return self.reader

    def _alerts(self) -> AlertSink | None:
        if self.alerts is None:
            from ._errors import InputError

            try:
                self.alerts = build_alerts(self.environ, credential=self._credential)
            except InputError as exc:
                # Bad alert settings must not stop the recording: rows are still written
                # (and /api/health, which checks them, fails), but nobody is alerted.
                log.error("alerts are off, the alert settings are unusable: %s", exc)
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
            self._pipeline = Pipeline(
                load_baselines(s.baselines_dir),
                self._reader(),
                Ledger(self.table(s.events_table)),
                Incidents(self.table(s.incidents_table)),
                self._alerts(),
                self_ids=s.self_ids,
                guards=s.guards,
            )
        return self._pipeline

    def reconcile(self, run_id: str) -> list[Any]:
        """Read the whole tenant and judge it (the timer's backstop)."""
        from .live import read_snapshot

        snapshot = read_snapshot(
            self._credential(),
            subscriptions=list(self.settings.subscriptions),
            arm_endpoint=self.settings.arm_endpoint,
            graph_endpoint=self.settings.graph_endpoint,
            connection_verify=self.settings.ca_bundle or True,
            include_arm=bool(self.settings.subscriptions),
        )
        return self.pipeline().reconcile(snapshot, run_id=run_id)

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
                connection_verify=self.settings.ca_bundle or True,
            )
        poller = AuditPoller(
            self._audit_reader,
            Cursors(self.table(self.settings.cursors_table)),
            self.pipeline(),
            overlap=timedelta(minutes=self.settings.audit_overlap_minutes),
        )
        return poller.poll()


def resource_reader(
    settings: Settings, credential: Any, subscriptions: Sequence[str] = ()
) -> ResourceReader:
    """The per-setting live reader for these settings (``subscriptions`` override them)."""
    from .live import ResourceReader

    return ResourceReader(
        credential,
        subscriptions=list(subscriptions) or list(settings.subscriptions),
        arm_endpoint=settings.arm_endpoint,
        graph_endpoint=settings.graph_endpoint,
        connection_verify=settings.ca_bundle or True,
    )


def build_alerts(environ: Mapping[str, str], *, credential: Any = None) -> AlertSink | None:
    """The alert channels the settings configure (None when there are none)."""
    from .alerts import EventGridChannel, Notifier, Routes, SmtpEmailChannel, TeamsChannel
    from .respond import Responder

    routes = Routes.from_env(environ)
    channels: list[Any] = []
    webhook = environ.get("DRIFTKEEPER_TEAMS_WEBHOOK_URL", "").strip()
    if webhook:
        channels.append(TeamsChannel(webhook))
    smtp_host = environ.get("DRIFTKEEPER_SMTP_HOST", "").strip()
    mail_sender = environ.get("DRIFTKEEPER_GRAPH_MAIL_SENDER", "").strip()
    if smtp_host and mail_sender:
        from ._errors import InputError

        raise InputError("set DRIFTKEEPER_SMTP_HOST or DRIFTKEEPER_GRAPH_MAIL_SENDER, not both")
    if smtp_host:
        channels.append(
            SmtpEmailChannel(
                smtp_host,
                sender=environ.get("DRIFTKEEPER_SMTP_FROM", "").strip(),
                to=routes.email_to,
                port=_port(environ.get("DRIFTKEEPER_SMTP_PORT", "587")),
                starttls=environ.get("DRIFTKEEPER_SMTP_STARTTLS", "true").casefold() != "false",
                username=environ.get("DRIFTKEEPER_SMTP_USER") or None,
                password=environ.get("DRIFTKEEPER_SMTP_PASSWORD") or None,
            )
        )
    if mail_sender:
        from azure.identity.aio import DefaultAzureCredential

        from .alerts import GraphMailChannel, graph_mail_client

        client, aclose = graph_mail_client(
            DefaultAzureCredential(),
            endpoint=environ.get("DRIFTKEEPER_GRAPH_ENDPOINT", "").strip()
            or "https://graph.microsoft.com/v1.0",
        )
        channels.append(
            GraphMailChannel(client, sender=mail_sender, to=routes.email_to, aclose=aclose)
        )
    publisher = None
    topic = environ.get("DRIFTKEEPER_EVENTGRID_TOPIC_ENDPOINT", "").strip()
    if topic:
        key = environ.get("DRIFTKEEPER_EVENTGRID_TOPIC_KEY", "").strip()
        if key:
            from azure.core.credentials import AzureKeyCredential

            topic_credential: Any = AzureKeyCredential(key)
        else:
            topic_credential = credential() if callable(credential) else credential
        publisher = EventGridChannel(topic, topic_credential, source_name="driftkeeper")
    if not channels and publisher is None:
        return None
    return Responder(Notifier(channels, routes), publisher)


def _port(text: str) -> int:
    from ._errors import InputError

    try:
        port = int(text.strip())
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise InputError(f"DRIFTKEEPER_SMTP_PORT: expected a port number, got {text!r}")
    return port


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
