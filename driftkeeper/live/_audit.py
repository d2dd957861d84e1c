"""Read Entra ID audit records (Graph ``/auditLogs/directoryAudits``) for the audit poll.

:meth:`AuditLogReader.list_since` asks Graph for the records of some categories from a time
on::

    $filter=activityDateTime ge 2026-11-22T02:48:13Z
            and (category eq 'RoleManagement' or category eq 'Policy')
    $orderby=activityDateTime asc

follows every ``@odata.nextLink`` and returns the records as Graph JSON, oldest first (sorted
here as well, so the order never depends on the service), kept as the JSON Graph sent, which
:func:`~driftkeeper.intake.parse_events` reads. The filter is built only from checked values:
an aware ``datetime`` (written in UTC, whole seconds, rounded down so nothing at ``since`` is
missed) and category names of letters only.

Failures: a transient one (408, 429, 5xx, no answer, after kiota's retries) raises
:class:`~driftkeeper.TransientReadError`; a permanent one (403 without ``AuditLog.Read.All``,
400 ...) and a credential without a token raise :class:`~driftkeeper.ReadError`, whose message
has the status and Graph's error code and message (never a header, so never the token).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .._errors import InputError, ReadError, TimeFormatError
from .._time import parse_time
from ..kinds import audit_categories
from ._clients import ClientCache
from ._failures import Refused
from ._graph_client import GraphSession, GraphSettings

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.core.credentials_async import AsyncTokenCredential

__all__ = ["AUDIT_CATEGORIES", "AuditLogReader"]

_log = logging.getLogger(__name__)

AUDIT_CATEGORIES: tuple[str, ...] = audit_categories()
"""The directoryAudit categories whose records can touch a watched setting (as the kinds
declare them)."""

_CATEGORY = re.compile(r"[A-Za-z]+")
_SECTION = "auditLogs.directoryAudits"
_OLDEST = datetime.min.replace(tzinfo=UTC)


class AuditLogReader:
    """Lists directoryAudit records from Microsoft Graph (see the module notes).

    The options are :class:`~driftkeeper.live.ResourceReader`'s Graph ones: ``credential``
    signs the calls unless ``async_credential`` is given; ``max_retries`` / ``retry_delay``
    set kiota's retry option (``None`` keeps its defaults). The Graph client is built on the
    first :meth:`list_since` and reused, on an event loop thread of its own, so the reader
    may be used from any thread. :meth:`close` releases it (the credentials stay open).
    ``session`` hands in the Graph session of the per-setting reader instead (its owner
    closes it).
    """

    def __init__(
        self,
        credential: TokenCredential | AsyncTokenCredential,
        *,
        async_credential: AsyncTokenCredential | None = None,
        tenant_id: str = "",
        graph_endpoint: str = "https://graph.microsoft.com/v1.0",
        connection_verify: str | bool = True,
        max_retries: int | None = None,
        retry_delay: float | None = None,
        session: Callable[[], GraphSession] | None = None,
    ) -> None:
        self._tenant_id = tenant_id
        self._graph_settings = GraphSettings.for_endpoint(
            graph_endpoint,
            async_credential or credential,
            connection_verify=connection_verify,
            max_retries=max_retries,
            retry_delay=retry_delay,
        )
        self._shared = session
        self._clients = ClientCache("AuditLogReader")

    def list_since(
        self, since: datetime, *, categories: Sequence[str] = AUDIT_CATEGORIES
    ) -> list[dict[str, Any]]:
        """Every record of ``categories`` whose ``activityDateTime`` is at or after ``since``,
        oldest first, as Graph JSON.

        Raises :class:`InputError` for a naive ``since`` or a category that is not letters
        only (before any call), :class:`TransientReadError` when a retry later may help and
        :class:`ReadError` when Graph refuses (the status and error code say why).
        """
        from ..kinds import Request

        query = _audit_filter(since, categories)
        request = Request(
            _SECTION,
            "graph",
            "/auditLogs/directoryAudits",
            query=(("$filter", query), ("$orderby", "activityDateTime asc")),
        )
        answer = self._graph_session().fetch(request)
        if isinstance(answer, Refused):
            raise ReadError(f"{_SECTION}: {answer.text}")
        found: list[dict[str, Any]] = sorted(answer, key=_activity_time)
        _log.info(
            "read %s since %s: %d records",
            _SECTION,
            query,
            len(found),
            extra={"section": _SECTION, "tenant_id": self._tenant_id},
        )
        return found

    def close(self) -> None:
        """Close the Graph client; listing afterwards raises ``RuntimeError``."""
        self._clients.close()

    def __enter__(self) -> AuditLogReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _graph_session(self) -> GraphSession:
        if self._shared is not None:
            return self._shared()
        return self._clients.get("graph", lambda: GraphSession(self._graph_settings))


def _audit_filter(since: datetime, categories: Sequence[str]) -> str:
    """The ``$filter`` of :meth:`AuditLogReader.list_since` (values checked first)."""
    if not isinstance(since, datetime) or since.tzinfo is None:
        raise InputError(f"since must be a timezone-aware datetime, got {since!r}")
    if isinstance(categories, str):
        raise TypeError("categories must be a sequence of category names, not a string")
    names = list(dict.fromkeys(categories))
    if not names:
        raise InputError("at least one audit category is needed")
    for name in names:
        if not isinstance(name, str) or _CATEGORY.fullmatch(name) is None:
            raise InputError(f"not an audit category (letters only): {name!r}")
    moment = since.astimezone(UTC).replace(microsecond=0)  # rounded down: nothing is missed
    either = " or ".join(f"category eq '{name}'" for name in names)
    return f"activityDateTime ge {moment:%Y-%m-%dT%H:%M:%SZ} and ({either})"


def _activity_time(record: dict[str, Any]) -> datetime:
    """A record's ``activityDateTime`` (records without a readable one sort first)."""
    try:
        return parse_time(str(record.get("activityDateTime")))
    except TimeFormatError:
        return _OLDEST
