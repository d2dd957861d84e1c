"""Read a live :class:`~driftkeeper.snapshot.Snapshot` from ARM and Microsoft Graph.

What is read is what the kinds declare (``Kind.reads``): every ARM section listed in each
subscription, every Graph section read once. ARM goes through azure-mgmt-core's
``ARMPipelineClient`` (:mod:`._arm`), Graph through msgraph-sdk's client (:mod:`._graph_client`);
both keep the JSON the service sent.

With ``source="graph"`` the ARM sections are read through Azure Resource Graph instead: one
paged query per section for up to 1,000 subscriptions (or for management groups), rows in
ARM's shape (:mod:`._resource_graph`; docs/resource-graph.md). The management groups above
the read subscriptions are read first (:class:`~._resource_graph.Ancestry`), so the
tenant-wide query for role assignments keeps only those that apply to them, as ARM's
listing does. :func:`choose_source` picks the source for ``auto``.

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
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal
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
from ._fetch import Fetcher, run_requests
from ._resource import CoalescingReader, LiveClients, ResourceReader, snapshot_reader
from ._resource_graph import (
    RESOURCE_GRAPH_PATH,
    Ancestry,
    PageListener,
    ResourceGraphFetcher,
    ancestry_requests,
    graph_requests,
    is_above,
)
from ._write import WRITE_METHODS, WriteBudget, Writer, WriteResult

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.core.credentials_async import AsyncTokenCredential

    from ..kinds import ArmSection, Request

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
    "choose_source",
    "read_snapshot",
    "snapshot_reader",
]

_log = logging.getLogger(__name__)

Source = Literal["arm", "graph"]
ReadListener = Callable[[str, str, int, int], None]
"""Called after each request of a read: (section, where, requests done, requests planned)."""


def choose_source(source: str, subscriptions: int, minimum: int) -> Source:
    """``graph`` or ``arm`` as asked; for ``auto``, Resource Graph when more than
    ``minimum`` subscriptions are watched (``DRIFTKEEPER_RESOURCE_GRAPH_MIN_SUBSCRIPTIONS``)."""
    if source in ("arm", "graph"):
        return "graph" if source == "graph" else "arm"
    if source != "auto":
        raise InputError(f"not a source (auto, graph or arm): {source!r}")
    return "graph" if subscriptions > minimum else "arm"


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
    source: Source = "arm",
    management_groups: Sequence[str] = (),
    on_read: ReadListener | None = None,
    on_page: PageListener | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Snapshot:
    """Capture the watched ARM and Graph state of a tenant.

    ``credential`` signs the ARM calls, and the Graph calls too unless ``async_credential``
    is given. Tokens are requested for ``<endpoint origin>/.default``. ``connection_verify``
    is ``True``, ``False`` or the path of a CA bundle, for both services.
    ``max_retries`` and ``retry_delay`` (seconds; the base delay when the service sends no
    ``Retry-After``) override the SDKs' retry settings; ``None`` keeps their defaults.

    ARM sections are read only when ``subscriptions`` (or, through Resource Graph,
    ``management_groups``) is not empty. Call this from synchronous code (Graph runs on a
    loop thread of its own).

    ``source="graph"`` reads the ARM sections through Azure Resource Graph (for
    ``subscriptions``, or for ``management_groups`` when given); ``sleep`` is how it waits
    when throttled. ``on_read`` is told after each request, ``on_page`` after each Resource
    Graph page (progress on a terminal).
    """
    _check_subscription_ids(subscriptions)
    if management_groups and source != "graph":
        raise InputError("management groups are read through Resource Graph only (source=graph)")
    captured_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    read_arm = include_arm and bool(subscriptions or management_groups)
    if include_arm and not read_arm:
        _log.warning("no subscriptions given: the ARM sections are not captured")
    sections = declared_sections().values()
    arm_sections: list[ArmSection] = [s for s in sections if s.api == "arm"]
    first: list[Request] = []  # the ancestry read, when a tenant-wide query needs it
    if read_arm and source == "graph":
        requests = graph_requests(arm_sections, subscriptions, management_groups)
        if any(is_above(r) for r in requests):
            first = ancestry_requests(subscriptions, management_groups)
    else:
        requests = [
            request
            for section in arm_sections
            if read_arm
            for request in section.tenant_requests(s.casefold() for s in subscriptions)
        ]
    if include_graph:
        requests += [r for s in sections if s.api == "graph" for r in s.tenant_requests(())]
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
    graph: list[ResourceGraphFetcher] = []

    def fetcher(request: Request) -> Fetcher:
        if request.path != RESOURCE_GRAPH_PATH:
            return clients(request)
        if not graph:
            types = {s.name: s.resource_type for s in arm_sections}
            retry: dict[str, Any] = {"sleep": sleep, "on_page": on_page}
            if max_retries is not None:
                retry["max_retries"] = max_retries
            if retry_delay is not None:
                retry["retry_delay"] = retry_delay
            graph.append(ResourceGraphFetcher(clients.arm(), types, **retry))
        return graph[0]

    told = _told(fetcher, len(first) + len(requests), on_read)
    try:
        if first:
            expected = () if management_groups else subscriptions  # each needs a row
            ancestry = Ancestry.learn(run_requests(first, told, scope="tenant"), expected)
            if ancestry.problem:
                _log.warning(
                    "Resource Graph: %s; a role assignment at a management group outside "
                    "the known ones fails its section",
                    ancestry.problem,
                    extra={"tenant_id": tenant_id},
                )
            if graph:
                graph[0].ancestry = ancestry
        reads = run_requests(requests, told, scope="tenant")
    finally:
        clients.close()
    if graph:
        _log.info(
            "Resource Graph: %d requests, %d pages",
            graph[0].requests_sent,
            graph[0].pages_read,
            extra={"tenant_id": tenant_id},
        )
    _log.info(
        "live snapshot read: %d sections captured, %d failed",
        len(reads.sections),
        len(reads.errors),
        extra={"tenant_id": tenant_id},
    )
    read = tuple(s.casefold() for s in subscriptions) if read_arm and subscriptions else None
    ordered = {name: reads.sections[name] for name in declared_sections() if name in reads.sections}
    return Snapshot(
        tenant_id, captured_at, ordered, reads.errors, source="live", subscriptions=read
    )


def _told(
    fetcher: Callable[[Request], Fetcher], total: int, on_read: ReadListener | None
) -> Callable[[Request], Fetcher]:
    """``fetcher``, telling ``on_read`` after each request it answered."""
    if on_read is None:
        return fetcher
    done = [0]

    class Told:
        def __init__(self, inner: Fetcher) -> None:
            self._inner = inner

        def fetch(self, request: Request) -> Any:
            answer = self._inner.fetch(request)
            done[0] += 1
            assert on_read is not None
            on_read(request.section, request.where, done[0], total)
            return answer

    return lambda request: Told(fetcher(request))


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
