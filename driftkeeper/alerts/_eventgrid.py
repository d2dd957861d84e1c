"""Every finding as a CloudEvent on an Event Grid custom topic (``EventGridPublisherClient``).

- ``type``: ``driftkeeper.finding.<outcome>`` (``driftkeeper.finding.drift``)
- ``source``: ``/driftkeeper/<source_name>`` (the tenant or the app)
- ``subject``: the resource id; ``time``: when the change happened
- ``data``: the finding in the JSON shape of ``driftkeeper scan --format json``
- ``id``: a UUID derived from (signal id, resource, rule), so a retry publishes the same id and
  subscribers can drop duplicates
- extension attributes ``severity``, ``transition``, and ``signalid`` / ``correlationid`` when
  known, for Event Grid subscription filters.

azure-eventgrid 4.22.1's sync ``EventGridPublisherClient`` does not hand its constructor
keywords (``retry_total``, ``connection_verify``, ``transport``) to the basic-topic client it
wraps, so they go with each ``send`` call instead. The SDK's own retries are turned off
(``retry_total=0``): the default (10 retries, backoff up to 120 s) could hold a Function for
minutes, and :class:`~driftkeeper.alerts.Notifier` retries with ``Retry-After``. The SDK also
passes per-call keywords to its event model, which logs "... is not a known attribute" for
each; a filter on that one logger drops exactly those notices.

Values are not defanged here (unlike the Teams card and the mail, which show them to people):
the event is data for machines, and subscribers match the resource id, the actor and the
changed values exactly, so they get them as the event and the APIs gave them. A subscriber that
shows them to a person escapes and defangs them for its own medium.

``AzureKeyCredential`` (``aeg-sas-key``) works over any URL; a token credential needs https
(azure-core's bearer policy refuses plain http).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .._errors import AlertConfigError, DeliveryError, TimeFormatError
from .._time import parse_time
from ..live._failures import is_transient
from ._http import parse_retry_after, status_text
from ._model import Alert, endpoint_host
from ._text import clean

if TYPE_CHECKING:
    from azure.core.messaging import CloudEvent

__all__ = ["EventGridChannel", "cloud_event", "event_id", "topic_host"]

_log = logging.getLogger(__name__)

_ID_NAMESPACE = uuid.UUID("6b0d7c52-5f43-4a1c-9a8e-2f1d3c4b5a69")
_SOURCE_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._")
_PER_CALL_OPTIONS = frozenset(
    {"retry_total", "connection_verify", "connection_timeout", "read_timeout"}
)
_SDK_MODEL_LOGGER = "azure.eventgrid._legacy._generated._serialization"


def event_id(signal_id: str, resource: str, rule: str) -> str:
    """The CloudEvent id of a finding: the same (signal, resource, rule) gives the same id."""
    key = "\x1f".join((signal_id, resource.casefold(), rule))
    return str(uuid.uuid5(_ID_NAMESPACE, key))


def cloud_event(alert: Alert, *, source: str) -> CloudEvent[dict[str, Any]]:
    """The CloudEvent published for ``alert``."""
    from azure.core.messaging import CloudEvent

    extensions: dict[str, str] = {"severity": alert.severity, "transition": alert.transition}
    if alert.signal_id:
        extensions["signalid"] = clean(alert.signal_id, 200)
    if alert.correlation_id:
        extensions["correlationid"] = clean(alert.correlation_id, 200)
    event: CloudEvent[dict[str, Any]] = CloudEvent(
        source=source,
        type=f"driftkeeper.finding.{alert.outcome}",
        subject=alert.resource,
        data=alert.finding_dict(),
        id=event_id(alert.signal_id, alert.resource, alert.rule),
        datacontenttype="application/json",
        extensions=extensions,
    )
    when = _event_time(alert.event_time)
    if when is not None:  # else the SDK's stamp: now
        event.time = when
    return event


def topic_host(endpoint: str, *, variable: str = "Event Grid endpoint") -> str:
    """The host of a usable topic endpoint (https; plain http only to a loopback address).

    Raises :class:`~driftkeeper.AlertConfigError` naming ``variable``.
    """
    try:
        _, host = endpoint_host(endpoint)
    except ValueError:
        raise AlertConfigError(variable, endpoint, "is not a URL") from None
    if not host:
        raise AlertConfigError(variable, endpoint, "must be an https URL")
    return host


class EventGridChannel:
    """Publishes alerts to an Event Grid custom topic (``https://<topic>.<region>-1.eventgrid.azure.net/api/events``).

    ``credential`` is an ``AzureKeyCredential``, ``AzureSasCredential`` or token credential.
    ``connection_verify`` is a CA bundle path (or ``False``) for a TLS-inspecting proxy or
    tests. The client is built on the first send; :meth:`close` closes it.
    """

    name = "eventgrid"

    def __init__(
        self,
        endpoint: str,
        credential: Any,
        *,
        source_name: str,
        api_version: str | None = None,
        connection_verify: str | bool | None = None,
        timeout: float = 30.0,
    ) -> None:
        host = topic_host(endpoint)
        if not source_name or not set(source_name) <= _SOURCE_NAME_CHARS:
            raise AlertConfigError(
                "Event Grid source name", source_name, "use letters, digits, '-', '.', '_'"
            )
        self.host = host
        self.source = f"/driftkeeper/{source_name}"
        self._endpoint = endpoint
        self._credential = credential
        self._api_version = api_version
        self._options: dict[str, Any] = {
            "retry_total": 0,
            "connection_timeout": timeout,
            "read_timeout": timeout,
        }
        if connection_verify is not None:
            self._options["connection_verify"] = connection_verify
        self._client: Any = None

    def __repr__(self) -> str:
        return f"EventGridChannel(host={self.host!r}, source={self.source!r})"

    def send(self, alert: Alert) -> None:
        from azure.core.exceptions import (
            ClientAuthenticationError,
            HttpResponseError,
            ServiceRequestError,
            ServiceResponseError,
        )

        event = cloud_event(alert, source=self.source)
        where = f"Event Grid topic on {self.host}"
        try:
            self._publisher().send([event], **self._options)
        except (ServiceRequestError, ServiceResponseError) as exc:
            raise DeliveryError(
                f"no answer from {where}: {type(exc).__name__}", transient=True
            ) from None
        except HttpResponseError as exc:
            status = exc.status_code
            if status is None:  # e.g. no token for a token credential
                kind = "credential" if isinstance(exc, ClientAuthenticationError) else "request"
                raise DeliveryError(
                    f"{where}: {kind} failed: {type(exc).__name__}", transient=False
                ) from None
            headers = getattr(exc.response, "headers", None) or {}
            retry_after = headers.get("Retry-After")
            raise DeliveryError(
                f"{where} answered {status_text(status)}",
                transient=is_transient(status),
                retry_after=parse_retry_after(retry_after),
            ) from None
        _log.info(
            "published %s as event %s to %s",
            event.type,
            event.id,
            where,
            extra={"resource": alert.resource, "baseline": alert.rule},
        )

    def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            client.close()

    def __enter__(self) -> EventGridChannel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _publisher(self) -> Any:
        if self._client is None:
            from azure.eventgrid import EventGridPublisherClient

            _install_notice_filter()
            self._client = EventGridPublisherClient(
                self._endpoint, self._credential, api_version=self._api_version
            )
        return self._client


def _event_time(value: str) -> datetime | None:
    """The event time as an aware UTC datetime, or ``None`` when it is missing or unreadable."""
    try:
        return parse_time(value)
    except TimeFormatError:
        return None


class _PerCallOptionNotice(logging.Filter):
    """Drops the SDK's "<option> is not a known attribute of class ..." notices for our options."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        return not (
            isinstance(args, tuple)
            and args
            and args[0] in _PER_CALL_OPTIONS
            and str(record.msg).startswith("%s is not a known attribute")
        )


_NOTICE_FILTER = _PerCallOptionNotice()


def _install_notice_filter() -> None:
    logger = logging.getLogger(_SDK_MODEL_LOGGER)
    if _NOTICE_FILTER not in logger.filters:
        logger.addFilter(_NOTICE_FILTER)
