"""Read a live :class:`~driftkeeper.snapshot.Snapshot` from ARM and Microsoft Graph.

What is read is what the kinds declare (``Kind.reads``): every ARM section listed in each
subscription, every Graph section read once. ARM goes through azure-mgmt-core's
``ARMPipelineClient`` (:mod:`._arm`), Graph through msgraph-sdk's client (:mod:`._graph_client`);
both keep the JSON the service sent.

Also: :class:`ResourceReader` reads one setting (the pipeline's read stage),
:class:`AuditLogReader` lists Entra audit records (the audit poll) and :class:`Writer` sends
one change through the same clients (rollback; see :mod:`._write`).

``import driftkeeper.live`` is cheap: the Azure SDKs are imported, and their clients built,
only inside :func:`read_snapshot`.

Failures, section by section:

- a permanent failure (400, 401, 403, 404 ...) leaves the section out of the snapshot and puts
  ``"<status> <phrase>: <code>: <message>"`` into ``read_errors[section]``, so the engine
  reports an error finding for it, never "compliant";
- a transient failure (408, 429, 5xx, no response) that outlives the SDK's own retries
  raises :class:`~driftkeeper.TransientReadError`: a partial snapshot is never returned;
- a credential that cannot produce a token raises :class:`~driftkeeper.ReadError`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .._errors import (
    ForeignUrlError,
    InputError,
    TransientWriteError,
    WriteError,
    WriteRefusedError,
)
from ..snapshot import Snapshot, declared_sections
from ._audit import AUDIT_CATEGORIES, AuditLogReader
from ._fetch import run_requests
from ._resource import CoalescingReader, LiveClients, ResourceReader, snapshot_reader
from ._write import WRITE_METHODS, WriteBudget, Writer, WriteResult

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.core.credentials_async import AsyncTokenCredential

__all__ = [
    "AUDIT_CATEGORIES",
    "WRITE_METHODS",
    "AuditLogReader",
    "CoalescingReader",
    "ForeignUrlError",
    "LiveClients",
    "ResourceReader",
    "TransientWriteError",
    "WriteBudget",
    "WriteError",
    "WriteRefusedError",
    "WriteResult",
    "Writer",
    "read_snapshot",
    "snapshot_reader",
]

_log = logging.getLogger(__name__)


def read_snapshot(
    credential: TokenCredential,
    *,
    subscriptions: Sequence[str],
    tenant_id: str = "",
    arm_endpoint: str = "https://management.azure.com",
    graph_endpoint: str = "https://graph.microsoft.com/v1.0",
    connection_verify: str | bool = True,
    async_credential: AsyncTokenCredential | None = None,
    include_arm: bool = True,
    include_graph: bool = True,
    max_retries: int | None = None,
    retry_delay: float | None = None,
) -> Snapshot:
    """Capture the watched ARM and Graph state of a tenant.

    ``credential`` signs the ARM calls, and the Graph calls too unless ``async_credential``
    is given. Tokens are requested for ``<endpoint origin>/.default``. ``connection_verify``
    is ``True``, ``False`` or the path of a CA bundle, for both services.
    ``max_retries`` and ``retry_delay`` (seconds; the base delay when the service sends no
    ``Retry-After``) override the SDKs' retry settings; ``None`` keeps their defaults.

    ARM sections are read only when ``subscriptions`` is not empty. Call this from
    synchronous code (Graph runs on a loop thread of its own).
    """
    _check_subscription_ids(subscriptions)
    captured_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    read_arm = include_arm and bool(subscriptions)
    if include_arm and not subscriptions:
        _log.warning("no subscriptions given: the ARM sections are not captured")
    requests = [
        request
        for section in declared_sections().values()
        if (read_arm if section.api == "arm" else include_graph)
        for request in section.tenant_requests(s.casefold() for s in subscriptions)
    ]
    clients = LiveClients(
        credential,
        async_credential=async_credential,
        arm_endpoint=arm_endpoint,
        graph_endpoint=graph_endpoint,
        connection_verify=connection_verify,
        max_retries=max_retries,
        retry_delay=retry_delay,
        owner="snapshot reader",
    )
    try:
        reads = run_requests(requests, clients, scope="tenant")
    finally:
        clients.close()
    _log.info(
        "live snapshot read: %d sections captured, %d failed",
        len(reads.sections),
        len(reads.errors),
        extra={"tenant_id": tenant_id},
    )
    read = tuple(s.casefold() for s in subscriptions) if read_arm else None
    ordered = {name: reads.sections[name] for name in declared_sections() if name in reads.sections}
    return Snapshot(
        tenant_id, captured_at, ordered, reads.errors, source="live", subscriptions=read
    )


def _check_subscription_ids(subscriptions: Sequence[str]) -> None:
    if isinstance(subscriptions, str):
        raise TypeError("subscriptions must be a sequence of subscription ids, not a string")
    for subscription in subscriptions:
        try:
            uuid.UUID(subscription)
        except (ValueError, TypeError, AttributeError) as exc:
            raise InputError(f"not a subscription id (a GUID): {subscription!r}") from exc


def _default_scope(endpoint: str) -> str:
    """``https://graph.microsoft.com/v1.0`` -> ``https://graph.microsoft.com/.default``."""
    parts = urlsplit(endpoint)
    if not parts.scheme or not parts.hostname:
        raise InputError(f"not an absolute URL: {endpoint!r}")
    return f"{parts.scheme}://{parts.hostname}/.default"
