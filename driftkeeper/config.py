"""Configuration from ``DRIFTKEEPER_*`` environment variables (Function App settings).

This module is the one place that reads them (and ``AZURE_SUBSCRIPTION_ID``,
``AZURE_TENANT_ID``): the Function App, ``/api/health`` and the CLI all go through
:meth:`Settings.from_env`. Every variable is documented in the README's Configuration table.
Values are validated here, once; a bad one raises :class:`~driftkeeper.SettingsError` (an
:class:`~driftkeeper.InputError`) whose ``variable`` names it, and alert settings raise its
subclass :class:`~driftkeeper.AlertConfigError`.

Secrets (the Teams webhook URL, the SMTP password, the Event Grid key, the storage connection
string, the approval key) are never shown: not in an error, not in ``repr(settings)``, not in
a log line. An endpoint is shown without its user info and query (:func:`_shown_url`), and an
endpoint with user info (``https://user:password@host``) is refused.

The optional Event Hubs trigger's connection (``DRIFTKEEPER_EVENT_HUB__fullyQualifiedNamespace``,
``__credential``, ``__clientId``) and hub name (``DRIFTKEEPER_EVENT_HUB_NAME``) are the
exception: the Functions host reads them for the binding (``handlers/event_hub.py``,
``HOST_SETTINGS``), and they are documented in the same table.

``WEBSITE_AUTH_ENABLED`` is read here too: App Service sets it when its authentication is
on, and the approval pages trust ``X-MS-CLIENT-PRINCIPAL`` only then.

GUIDs (``AZURE_SUBSCRIPTION_ID``, ``DRIFTKEEPER_SELF_IDS``) are accepted in the forms people
paste (``{...}``, 32 hex digits, ``urn:uuid:...``, any case) and kept canonical: lower case,
8-4-4-4-12, the form ARM paths and actor ids use.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_args
from urllib.parse import urlsplit

from ._errors import AlertConfigError, SettingsError
from .alerts import (
    CHANNEL_NAMES,
    EMAIL_TO_VARIABLE,
    ROUTES_VARIABLE,
    Routes,
    graph_mail_sender_problem,
    is_email_address,
    topic_host,
    webhook_host,
)
from .alerts._model import endpoint_host
from .engine import GuardMode
from .rollback._brakes import ROLLBACK_MODES, RollbackMode

__all__ = ["AlertSettings", "Settings"]

_GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_GUID_FORMS = re.compile(
    rf"(?:urn:uuid:)?(?:(?P<plain>{_GUID})|\{{(?P<braced>{_GUID})\}}|(?P<bare>[0-9a-f]{{32}}))",
    re.IGNORECASE,
)
"""A GUID as people paste it: dashed, in braces, 32 hex digits, or a ``urn:uuid:`` URN."""
_TABLE = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,62}$")
_HOST = re.compile(r"^[A-Za-z0-9._:\[\]-]{1,253}$")
_USER_INFO = "expected a URL without a user name or password (not shown)"
_TRUE = frozenset({"true", "yes", "1", "on"})
_FALSE = frozenset({"false", "no", "0", "off"})
_GUARD_MODES: tuple[GuardMode, ...] = get_args(GuardMode)


def _secret(default: str = "") -> Any:
    """A field holding a secret: shown as ``'<secret>'`` (or ``''``) by ``repr``."""
    return field(default=default, metadata={"secret": True})


def _endpoint(default: str = "") -> Any:
    """A field holding an endpoint URL: ``repr`` leaves out its query (a SAS token)."""
    return field(default=default, metadata={"url": True})


def _repr(self: Any) -> str:
    parts = []
    for f in fields(self):
        value = getattr(self, f.name)
        if f.metadata.get("secret"):
            shown = "'<secret>'" if value else "''"
        elif f.metadata.get("url"):
            shown = repr(_shown_url(value))
        else:
            shown = repr(value)
        parts.append(f"{f.name}={shown}")
    return f"{type(self).__name__}({', '.join(parts)})"


# --- readers: each names its variable in the error ---------------------------------------------
def _text(env: Mapping[str, str], name: str, default: str = "") -> str:
    return env.get(name, "").strip() or default


def _shown_url(value: str) -> str:
    """What of an endpoint URL a message may show: no user info (everything up to the last
    ``@`` is hidden, however malformed the URL), no query (a SAS token), no fragment."""
    head, at, rest = value.rpartition("@")
    if "?" in head or "#" in head:
        rest = ""  # the "@" may be in the query: nothing after it is shown either
    shown = rest.partition("?")[0].partition("#")[0]
    return f"<hidden>@{shown}" if at else shown


def _guids(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated GUIDs (subscription ids, app ids, object ids), canonical (lower case,
    dashed) and without duplicates."""
    values: dict[str, None] = {}
    for value in (v.strip() for v in env.get(name, "").split(",")):
        if not value:
            continue
        found = _GUID_FORMS.fullmatch(value)
        if found is None:
            raise SettingsError(name, f"not a GUID: {value!r}")
        values[str(uuid.UUID(next(g for g in found.groups() if g)))] = None
    return tuple(values)


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = _text(env, name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(name, f"expected a number, got {raw!r}") from None
    if not low <= value <= high:  # also refuses nan
        raise SettingsError(name, f"expected a number between {low} and {high}, got {raw!r}")
    return value


RETENTION_BOUNDS = (1, 36_500)
"""Days ``DRIFTKEEPER_RETENTION_DAYS`` may keep (a day to a hundred years)."""


def _retention(env: Mapping[str, str], name: str) -> int | None:
    """Whole days, or None (unset or empty: keep forever)."""
    raw = _text(env, name)
    if not raw:
        return None
    low, high = RETENTION_BOUNDS
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise SettingsError(name, f"expected whole days from {low} to {high}, got {raw!r}")
    return int(raw)


def _table(env: Mapping[str, str], name: str, default: str) -> str:
    value = _text(env, name, default)
    if not _TABLE.match(value):
        raise SettingsError(name, f"expected a table name (3-63 letters and digits), got {value!r}")
    return value


def _has_user_info(url: str) -> bool:
    return "@" in urlsplit(url).netloc


def _url(env: Mapping[str, str], name: str, default: str = "") -> str:
    """An endpoint: https, or plain http to a loopback address (local stand-ins); never
    with user info (the managed identity signs in, and a password would be shown)."""
    value = _text(env, name, default)
    if not value:
        return value
    try:
        _, host = endpoint_host(value)
    except ValueError:
        host = ""
    if not host or any(c.isspace() for c in value):
        raise SettingsError(name, f"expected an https URL, got {_shown_url(value)!r}")
    if _has_user_info(value):
        raise SettingsError(name, f"{_USER_INFO}, got {_shown_url(value)!r}")
    return value


def _guards(env: Mapping[str, str]) -> GuardMode:
    value = _text(env, "DRIFTKEEPER_GUARDS", "default")
    for mode in _GUARD_MODES:
        if value == mode:
            return mode
    raise SettingsError(
        "DRIFTKEEPER_GUARDS", f"expected {' or '.join(_GUARD_MODES)}, got {value!r}"
    )


def _connection_string(env: Mapping[str, str], name: str) -> str:
    """``Key=value;Key=value``; the value is a secret (it may hold an account key)."""
    value = _text(env, name)
    parts = [p for p in value.split(";") if p.strip()]
    if value and not all(p.partition("=")[0].strip() and "=" in p for p in parts):
        raise SettingsError(name, "expected a connection string (Key=value;...); value not shown")
    return value


def _ca_bundle(env: Mapping[str, str], name: str) -> str:
    value = _text(env, name)
    if value and not Path(value).is_file():
        raise SettingsError(name, f"no such file: {value!r}")
    return value


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = _text(env, name).casefold()
    if not value:
        return default
    if value in _TRUE or value in _FALSE:
        return value in _TRUE
    raise AlertConfigError(name, value, "expected true or false")


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = _text(env, name)
    if not raw:
        return default
    port = int(raw) if raw.isdigit() else 0
    if not 0 < port < 65536:
        raise AlertConfigError(name, raw, "expected a port number (1-65535)")
    return port


_DURATION = re.compile(
    r"P(?:(?P<d>\d{1,4})D)?(?:T(?:(?P<h>\d{1,6})H)?(?:(?P<m>\d{1,8})M)?(?:(?P<s>\d{1,9})S)?)?",
    re.IGNORECASE,
)
_UPN = re.compile(r"[^\s@,;<>\"'\x00-\x1f\x7f]{1,113}@[^\s@,;<>\"'\x00-\x1f\x7f]{1,140}")
LOCAL_AUTH_MODES = ("trust-header",)
"""``DRIFTKEEPER_LOCAL_AUTH`` values: ``trust-header`` serves the approval pages without App
Service Authentication, trusting ``X-MS-CLIENT-PRINCIPAL`` as sent (local development only)."""
APPROVAL_TTL_BOUNDS = (300.0, 7 * 86400.0)


def _approvers(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated object ids, group ids (GUIDs, canonical) or UPNs (casefolded)."""
    values: dict[str, None] = {}
    for value in (v.strip() for v in env.get(name, "").split(",")):
        if not value:
            continue
        found = _GUID_FORMS.fullmatch(value)
        if found is not None:
            values[str(uuid.UUID(next(g for g in found.groups() if g)))] = None
        elif _UPN.fullmatch(value):
            values[value.casefold()] = None
        else:
            raise SettingsError(name, f"not an object id, group id or UPN: {value[:120]!r}")
    return tuple(values)


def _duration(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    """Seconds, given as a number or an ISO 8601 duration (``PT1H``, ``P1DT12H``)."""
    raw = _text(env, name)
    if not raw:
        return default
    found = _DURATION.fullmatch(raw)
    if found is not None and raw.upper() not in ("P", "PT") and not raw.upper().endswith("T"):
        d, h, m, s = (int(found.group(g) or 0) for g in "dhms")
        value = float(((d * 24 + h) * 60 + m) * 60 + s)
    else:
        try:
            value = float(raw)
        except ValueError:
            raise SettingsError(
                name, f"expected seconds or an ISO 8601 duration (PT1H), got {raw[:60]!r}"
            ) from None
    if not low <= value <= high:  # also refuses nan
        raise SettingsError(
            name, f"expected between {low:g} and {high:g} seconds, got {raw[:60]!r}"
        )
    return value


def _platform_flag(env: Mapping[str, str], name: str) -> bool:
    value = _text(env, name).casefold()
    if value and value not in _TRUE and value not in _FALSE:
        raise SettingsError(name, f"expected true or false, got {value[:20]!r}")
    return value in _TRUE


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    value = _text(env, name)
    if value and value not in choices:
        raise SettingsError(name, f"expected {' or '.join(choices)} or nothing, got {value[:40]!r}")
    return value


def _rollback_mode(env: Mapping[str, str], name: str) -> RollbackMode:
    value = _text(env, name, "approve-only").lower()
    for mode in ROLLBACK_MODES:
        if value == mode:
            return mode
    raise SettingsError(name, f"expected {', '.join(ROLLBACK_MODES)}, got {value[:40]!r}")


def _secret_key(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if value and len(value) < 32:
        raise SettingsError(name, "expected at least 32 characters (value not shown)")
    return value


def _public_url(env: Mapping[str, str], name: str) -> str:
    value = _url(env, name)
    parts = urlsplit(value)
    if value and (parts.query or parts.fragment or "#" in value or "?" in value):
        raise SettingsError(name, f"expected a base URL without query, got {_shown_url(value)!r}")
    return value.rstrip("/")


_RULE_ID = re.compile(r"dcr-[0-9a-fA-F]{32}")
_STREAM = re.compile(r"Custom-[A-Za-z0-9_]{1,200}")
_LOGS_INGESTION = (
    "DRIFTKEEPER_LOGS_INGESTION_ENDPOINT",
    "DRIFTKEEPER_LOGS_INGESTION_RULE_ID",
    "DRIFTKEEPER_LOGS_INGESTION_STREAM",
)


def _logs_ingestion(env: Mapping[str, str]) -> dict[str, str]:
    """The Log Analytics sink's three settings: all given (on) or none (off)."""
    endpoint_name, rule_name, stream_name = _LOGS_INGESTION
    endpoint = _url(env, endpoint_name)
    rule, stream = _text(env, rule_name), _text(env, stream_name)
    given = [n for n, v in zip(_LOGS_INGESTION, (endpoint, rule, stream), strict=True) if v]
    if given and len(given) < 3:
        missing = next(n for n in _LOGS_INGESTION if n not in given)
        raise SettingsError(missing, f"not set, while {given[0]} is: set all three or none")
    if rule and not _RULE_ID.fullmatch(rule):
        raise SettingsError(
            rule_name, f"expected the rule's immutable id (dcr- and 32 hex), got {rule[:60]!r}"
        )
    if stream and not _STREAM.fullmatch(stream):
        raise SettingsError(
            stream_name, f"expected a custom stream (Custom-<Name>_CL), got {stream[:60]!r}"
        )
    return {
        "logs_ingestion_endpoint": endpoint,
        "logs_ingestion_rule_id": rule,
        "logs_ingestion_stream": stream,
    }


@dataclass(frozen=True, repr=False)
class AlertSettings:
    """Where alerts go. No channel configured (the default): nobody is alerted."""

    teams_webhook_url: str = _secret()
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_from: str = ""
    smtp_user: str = ""
    smtp_password: str = _secret()
    smtp_starttls: bool = True
    graph_mail_sender: str = ""
    eventgrid_topic_endpoint: str = _endpoint()
    eventgrid_topic_key: str = _secret()
    """Empty: the managed identity publishes."""
    routes: Routes = field(default_factory=Routes)

    __repr__ = _repr

    @property
    def channels(self) -> tuple[str, ...]:
        """The names of the configured channels (``teams``, ``email``, ``eventgrid``)."""
        configured = {
            "teams": bool(self.teams_webhook_url),
            "email": bool(self.smtp_host or self.graph_mail_sender),
            "eventgrid": bool(self.eventgrid_topic_endpoint),
        }
        return tuple(name for name in CHANNEL_NAMES if configured[name])

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AlertSettings:
        """Read and check the alert variables; :class:`~driftkeeper.AlertConfigError` names
        the first unusable one."""
        webhook = _text(env, "DRIFTKEEPER_TEAMS_WEBHOOK_URL")
        if webhook:
            webhook_host(webhook, variable="DRIFTKEEPER_TEAMS_WEBHOOK_URL")
        routes_text = env.get(ROUTES_VARIABLE, "").strip()
        settings = cls(
            teams_webhook_url=webhook,
            smtp_host=_text(env, "DRIFTKEEPER_SMTP_HOST"),
            smtp_port=_port(env, "DRIFTKEEPER_SMTP_PORT", 587),
            smtp_from=_text(env, "DRIFTKEEPER_SMTP_FROM"),
            smtp_user=_text(env, "DRIFTKEEPER_SMTP_USER"),
            smtp_password=env.get("DRIFTKEEPER_SMTP_PASSWORD", ""),
            smtp_starttls=_flag(env, "DRIFTKEEPER_SMTP_STARTTLS", True),
            graph_mail_sender=_text(env, "DRIFTKEEPER_GRAPH_MAIL_SENDER"),
            eventgrid_topic_endpoint=_text(env, "DRIFTKEEPER_EVENTGRID_TOPIC_ENDPOINT"),
            eventgrid_topic_key=_text(env, "DRIFTKEEPER_EVENTGRID_TOPIC_KEY"),
            routes=Routes.parse(routes_text, env.get(EMAIL_TO_VARIABLE, "")),
        )
        settings._check(routes_text)
        return settings

    def _check(self, routes_text: str) -> None:
        if self.smtp_host and self.graph_mail_sender:
            raise AlertConfigError(
                "DRIFTKEEPER_GRAPH_MAIL_SENDER",
                self.graph_mail_sender,
                "set DRIFTKEEPER_SMTP_HOST or DRIFTKEEPER_GRAPH_MAIL_SENDER, not both",
            )
        if self.smtp_host and not _HOST.match(self.smtp_host):
            # "user:password@host" would show the password: shown as "<hidden>@host"
            shown = _shown_url(self.smtp_host)
            raise AlertConfigError("DRIFTKEEPER_SMTP_HOST", shown, "is not a host name")
        if self.smtp_host and not is_email_address(self.smtp_from):
            problem = "is not an email address" if self.smtp_from else "is required"
            raise AlertConfigError(
                "DRIFTKEEPER_SMTP_FROM", self.smtp_from, f"{problem} with DRIFTKEEPER_SMTP_HOST"
            )
        if self.smtp_user and not self.smtp_starttls:
            raise AlertConfigError(
                "DRIFTKEEPER_SMTP_USER",
                self.smtp_user,
                "a login needs STARTTLS (DRIFTKEEPER_SMTP_STARTTLS is false: "
                "the password would travel in clear)",
            )
        if self.smtp_password and not self.smtp_user:
            raise AlertConfigError(
                "DRIFTKEEPER_SMTP_PASSWORD", "<secret>", "is set, DRIFTKEEPER_SMTP_USER is not"
            )
        bad_sender = self.graph_mail_sender and graph_mail_sender_problem(self.graph_mail_sender)
        if bad_sender:
            raise AlertConfigError(
                "DRIFTKEEPER_GRAPH_MAIL_SENDER", self.graph_mail_sender, bad_sender
            )
        if self.eventgrid_topic_endpoint:
            variable = "DRIFTKEEPER_EVENTGRID_TOPIC_ENDPOINT"
            shown = _shown_url(self.eventgrid_topic_endpoint)
            try:
                topic_host(self.eventgrid_topic_endpoint, variable=variable)
            except AlertConfigError as exc:  # it shows the whole URL
                raise AlertConfigError(variable, shown, exc.problem) from None
            if _has_user_info(self.eventgrid_topic_endpoint):
                raise AlertConfigError(variable, shown, _USER_INFO)
        elif self.eventgrid_topic_key:
            raise AlertConfigError(
                "DRIFTKEEPER_EVENTGRID_TOPIC_KEY",
                "<secret>",
                "is set, DRIFTKEEPER_EVENTGRID_TOPIC_ENDPOINT is not",
            )
        missing = sorted(self.routes.channel_names() - set(self.channels))
        if missing and self.routes.explicit:
            raise AlertConfigError(
                ROUTES_VARIABLE,
                routes_text,
                f"routes to {', '.join(missing)}, which is not configured "
                f"(configured: {', '.join(self.channels) or 'none'})",
            )


@dataclass(frozen=True, repr=False)
class Settings:
    """Everything the Function App and the CLI are configured with (see the README)."""

    baselines_dir: str = "baselines"
    self_ids: frozenset[str] = frozenset()
    guards: GuardMode = "default"
    storage_connection: str = _secret()
    """A connection string (Azurite, or a key) — or empty to use ``table_endpoint``."""
    table_endpoint: str = _endpoint()
    """``https://<account>.table.core.windows.net``, reached with the managed identity."""
    events_table: str = "driftevents"
    incidents_table: str = "incidents"
    cursors_table: str = "cursors"
    approvals_table: str = "approvals"
    coalesce_seconds: float = 5.0
    settle_seconds: float = 1.0
    audit_overlap_minutes: float = 10.0
    arm_endpoint: str = _endpoint("https://management.azure.com")
    graph_endpoint: str = _endpoint("https://graph.microsoft.com/v1.0")
    ca_bundle: str = ""
    subscriptions: tuple[str, ...] = ()
    tenant_id: str = ""
    """``AZURE_TENANT_ID``: recorded in live snapshots (the credential reads it itself)."""
    alerts: AlertSettings = field(default_factory=AlertSettings)
    approvers: tuple[str, ...] = ()
    """Who may decide a rollback: object ids, group ids (canonical GUIDs), UPNs (casefolded)."""
    readers: tuple[str, ...] = ()
    """Who may read the query API and the dashboard (approvers may too): same forms."""
    approval_ttl_seconds: float = 3600.0
    approval_key: str = _secret()
    """The anti-forgery key of the approval form; empty: one kept in the approvals table."""
    public_url: str = _endpoint()
    """The Function App's https base URL, for the approval links in alerts."""
    auth_enabled: bool = False
    """``WEBSITE_AUTH_ENABLED``: App Service Authentication is on (set by the platform)."""
    local_auth: str = ""
    """``DRIFTKEEPER_LOCAL_AUTH``: ``trust-header`` for local development, else empty."""
    rollback: RollbackMode = "approve-only"
    """``DRIFTKEEPER_ROLLBACK``, the kill switch: ``off``, ``approve-only`` or ``on``."""
    auto_rollback_budget: int = 10
    """Automatic rollbacks allowed per hour, tenant-wide, before the breaker trips."""
    brakes_table: str = "brakes"
    resource_graph_min_subscriptions: int = 10
    """``DRIFTKEEPER_RESOURCE_GRAPH_MIN_SUBSCRIPTIONS``: whole-tenant reads (``snapshot
    --source auto``, reconcile) go through Azure Resource Graph when more subscriptions than
    this are watched."""
    retention_days: int | None = None
    """``DRIFTKEEPER_RETENTION_DAYS``: event-table days older than this are deleted once
    sealed (None: kept forever)."""
    logs_ingestion_endpoint: str = _endpoint()
    """``DRIFTKEEPER_LOGS_INGESTION_ENDPOINT``: the data collection rule's logs ingestion
    endpoint (or its DCE); empty: rows go to the event table only."""
    logs_ingestion_rule_id: str = ""
    """``DRIFTKEEPER_LOGS_INGESTION_RULE_ID``: the rule's immutable id (``dcr-`` + 32 hex)."""
    logs_ingestion_stream: str = ""
    """``DRIFTKEEPER_LOGS_INGESTION_STREAM``: the stream (``Custom-DriftkeeperEvents_CL``)."""

    __repr__ = _repr

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, alerts: bool = True) -> Settings:
        """Read and check every variable.

        ``alerts=False`` leaves the alert variables unread (no channel): the CLI, which never
        alerts, and a Function App whose alert settings are unusable (it keeps recording).
        Raises :class:`~driftkeeper.SettingsError` naming the first unusable variable.
        """
        return cls(
            baselines_dir=_text(env, "DRIFTKEEPER_BASELINES_DIR", "baselines"),
            self_ids=frozenset(i.casefold() for i in _guids(env, "DRIFTKEEPER_SELF_IDS")),
            guards=_guards(env),
            storage_connection=_connection_string(env, "DRIFTKEEPER_STORAGE_CONNECTION"),
            table_endpoint=_url(env, "DRIFTKEEPER_TABLE_ENDPOINT"),
            events_table=_table(env, "DRIFTKEEPER_EVENTS_TABLE", "driftevents"),
            incidents_table=_table(env, "DRIFTKEEPER_INCIDENTS_TABLE", "incidents"),
            cursors_table=_table(env, "DRIFTKEEPER_CURSORS_TABLE", "cursors"),
            approvals_table=_table(env, "DRIFTKEEPER_APPROVALS_TABLE", "approvals"),
            coalesce_seconds=_number(env, "DRIFTKEEPER_COALESCE_SECONDS", 5.0, 0.0, 300.0),
            settle_seconds=_number(env, "DRIFTKEEPER_SETTLE_SECONDS", 1.0, 0.0, 30.0),
            audit_overlap_minutes=_number(
                env, "DRIFTKEEPER_AUDIT_OVERLAP_MINUTES", 10.0, 0.0, 1440.0
            ),
            arm_endpoint=_url(env, "DRIFTKEEPER_ARM_ENDPOINT", "https://management.azure.com"),
            graph_endpoint=_url(
                env, "DRIFTKEEPER_GRAPH_ENDPOINT", "https://graph.microsoft.com/v1.0"
            ),
            ca_bundle=_ca_bundle(env, "DRIFTKEEPER_CA_BUNDLE"),
            subscriptions=_guids(env, "AZURE_SUBSCRIPTION_ID"),
            tenant_id=_text(env, "AZURE_TENANT_ID"),
            alerts=AlertSettings.from_env(env) if alerts else AlertSettings(),
            approvers=_approvers(env, "DRIFTKEEPER_APPROVERS"),
            readers=_approvers(env, "DRIFTKEEPER_READERS"),
            approval_ttl_seconds=_duration(
                env, "DRIFTKEEPER_APPROVAL_TTL", 3600.0, *APPROVAL_TTL_BOUNDS
            ),
            approval_key=_secret_key(env, "DRIFTKEEPER_APPROVAL_KEY"),
            public_url=_public_url(env, "DRIFTKEEPER_PUBLIC_URL"),
            auth_enabled=_platform_flag(env, "WEBSITE_AUTH_ENABLED"),
            local_auth=_choice(env, "DRIFTKEEPER_LOCAL_AUTH", LOCAL_AUTH_MODES),
            rollback=_rollback_mode(env, "DRIFTKEEPER_ROLLBACK"),
            auto_rollback_budget=int(_number(env, "DRIFTKEEPER_AUTO_ROLLBACK_BUDGET", 10, 1, 100)),
            brakes_table=_table(env, "DRIFTKEEPER_BRAKES_TABLE", "brakes"),
            retention_days=_retention(env, "DRIFTKEEPER_RETENTION_DAYS"),
            resource_graph_min_subscriptions=int(
                _number(env, "DRIFTKEEPER_RESOURCE_GRAPH_MIN_SUBSCRIPTIONS", 10, 0, 1_000_000)
            ),
            **_logs_ingestion(env),
        )

    @property
    def logs_ingestion(self) -> bool:
        """Whether event rows also go to Log Analytics (all three settings given)."""
        return bool(self.logs_ingestion_endpoint)

    @property
    def approval_pages_problem(self) -> str | None:
        """Why the approval pages must not be served (None: they may be).

        ``X-MS-CLIENT-PRINCIPAL`` names the caller only behind App Service Authentication,
        which strips a copy a client sends; without it anybody could claim to be anybody.
        """
        if self.auth_enabled or self.local_auth == "trust-header":
            return None
        return (
            "App Service Authentication is not on (WEBSITE_AUTH_ENABLED is not true): the "
            "caller cannot be known, so approvals are refused. Turn on authentication, or set "
            "DRIFTKEEPER_LOCAL_AUTH=trust-header for local development only."
        )

    @property
    def connection_verify(self) -> str | bool:
        """What the SDKs take as ``connection_verify``: the CA bundle, or True."""
        return self.ca_bundle or True

    def require_table_storage(self) -> None:
        """Raise :class:`~driftkeeper.SettingsError` unless a table can be reached (the
        Function App needs one; the CLI's ``events`` too)."""
        if not (self.storage_connection or self.table_endpoint):
            raise SettingsError(
                "DRIFTKEEPER_TABLE_ENDPOINT",
                "not set, nor DRIFTKEEPER_STORAGE_CONNECTION: set the table endpoint "
                "(managed identity) or a connection string",
            )
