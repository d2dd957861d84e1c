"""Read the current state of the one setting an event touches (the pipeline's *read* stage).

:meth:`ResourceReader.read` answers ``(kind, scope)`` with a *partial*
:class:`~driftkeeper.snapshot.Snapshot` that holds only the section(s) the kind reads for
that scope, and in them only that setting, so the kind's own ``index()`` / ``actual()`` work
on it unchanged. What is read is the kind's :meth:`~driftkeeper.kinds.Kind.requests` (by
default one GET of the resource or Graph object, or a whole Graph collection or object whose
path is the scope); scopes are validated there, before any call, and a scope that is none of
the kind's raises :class:`~driftkeeper.InputError`.

Failures are judged as :func:`~driftkeeper.live.read_snapshot` judges them (see
:mod:`._fetch`): transient (408, 429, 5xx, no answer, after the SDK's retries) raises
:class:`~driftkeeper.TransientReadError`; permanent (400, 401, 403 ...) returns a snapshot
whose ``read_errors`` names the section, so the engine reports an error finding, never
"compliant". A 404 for the thing read one by one (an NSG, a CA policy, the resource group
whose role assignments are listed) is state, not an error: an empty section, so the engine
reports it as deleted. ``SubscriptionNotFound`` is not "gone" (the reader may simply not see
the subscription) and stays an error.

:class:`CoalescingReader` puts single-flight and a short cache in front of any reader, and
:func:`snapshot_reader` reads from a snapshot already in hand (``driftkeeper replay --state``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from .._errors import InputError
from ..snapshot import Snapshot
from ._arm import ArmClient
from ._clients import ClientCache
from ._fetch import Fetcher, run_requests
from ._graph_client import GraphSession, GraphSettings

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.core.credentials_async import AsyncTokenCredential

    from ..kinds import Request
    from ..pipeline import StateReader

__all__ = ["CoalescingReader", "LiveClients", "ResourceReader", "snapshot_reader"]

_log = logging.getLogger(__name__)


class LiveClients:
    """The ARM client and the Graph session a reader sends its requests through, each built
    on first use and kept until :meth:`close` (the credentials are the caller's)."""

    def __init__(
        self,
        credential: TokenCredential,
        *,
        async_credential: AsyncTokenCredential | None = None,
        arm_endpoint: str = "https://management.azure.com",
        graph_endpoint: str = "https://graph.microsoft.com/v1.0",
        connection_verify: str | bool = True,
        max_retries: int | None = None,
        retry_delay: float | None = None,
        owner: str = "reader",
    ) -> None:
        self.arm_endpoint = arm_endpoint.rstrip("/")
        self._arm = lambda: ArmClient(
            credential,
            endpoint=arm_endpoint,
            connection_verify=connection_verify,
            max_retries=max_retries,
            retry_delay=retry_delay,
        )
        self.graph_settings = GraphSettings.for_endpoint(
            graph_endpoint,
            async_credential or credential,
            connection_verify=connection_verify,
            max_retries=max_retries,
            retry_delay=retry_delay,
        )
        self._clients = ClientCache(owner)

    def __call__(self, request: Request) -> Fetcher:
        """The client that sends ``request``."""
        if request.api == "arm":
            return self.arm()
        return self.graph()

    def arm(self) -> ArmClient:
        return self._clients.get("arm", self._arm)

    def graph(self) -> GraphSession:
        return self._clients.get("graph", lambda: GraphSession(self.graph_settings))

    def close(self) -> None:
        self._clients.close()


class ResourceReader:
    """Reads one setting at a time from ARM and Microsoft Graph (see the module notes).

    The options are :func:`~driftkeeper.live.read_snapshot`'s; ``subscriptions`` is only
    needed for kinds that read every subscription at once (role assignments at ``/``). The
    clients are built on first use and reused, Graph's on an event loop thread of its own,
    so :meth:`read` may be called from any thread, and from several at once. :meth:`close`
    releases them all (the credentials are the caller's and stay open). ``clients`` shares
    the clients of another reader (the Function App: one ARM client, one Graph session).
    """

    def __init__(
        self,
        credential: TokenCredential,
        *,
        async_credential: AsyncTokenCredential | None = None,
        subscriptions: Sequence[str] = (),
        tenant_id: str = "",
        arm_endpoint: str = "https://management.azure.com",
        graph_endpoint: str = "https://graph.microsoft.com/v1.0",
        connection_verify: str | bool = True,
        max_retries: int | None = None,
        retry_delay: float | None = None,
        clients: LiveClients | None = None,
    ) -> None:
        from . import _check_subscription_ids

        _check_subscription_ids(subscriptions)
        self._subscriptions = tuple(dict.fromkeys(s.casefold() for s in subscriptions))
        self._tenant_id = tenant_id
        self._owns_clients = clients is None
        self._clients = clients or LiveClients(
            credential,
            async_credential=async_credential,
            arm_endpoint=arm_endpoint,
            graph_endpoint=graph_endpoint,
            connection_verify=connection_verify,
            max_retries=max_retries,
            retry_delay=retry_delay,
            owner="ResourceReader",
        )

    def read(self, kind: str, scope: str, *, newer_than: datetime | None = None) -> Snapshot:
        """The current state of ``scope`` of ``kind`` as a partial snapshot (always a fresh
        read, so ``newer_than`` holds by construction).

        Raises :class:`InputError` for an unknown kind or a scope that is not one of the
        kind's (before any call), :class:`TransientReadError` when a retry later may help,
        :class:`ReadError` when no token can be had.
        """
        from ..kinds import all_kinds

        kinds = all_kinds()
        if kind not in kinds:
            raise InputError(f"no live reader for kind {kind!r}; known: {', '.join(kinds)}")
        requests = kinds[kind].requests(scope.strip(), subscriptions=self._subscriptions)
        captured_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        reads = run_requests(requests, self._clients, scope=scope)
        _log.info(
            "read %s %s: %d section(s) captured, %d failed",
            kind,
            scope,
            len(reads.sections),
            len(reads.errors),
            extra={"kind": kind, "resource_id": scope},
        )
        return Snapshot(self._tenant_id, captured_at, reads.sections, reads.errors, "live")

    def close(self) -> None:
        """Close every client built so far (unless ``clients`` were handed in: their owner
        closes them); reading afterwards raises ``RuntimeError``."""
        if self._owns_clients:
            self._clients.close()

    def __enter__(self) -> ResourceReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# --- readers over other readers --------------------------------------------------------------
@dataclass(frozen=True)
class _SnapshotReader:
    snapshot: Snapshot

    def read(self, kind: str, scope: str, *, newer_than: datetime | None = None) -> Snapshot:
        return self.snapshot


def snapshot_reader(snapshot: Snapshot) -> StateReader:
    """A reader that answers every ``read`` with ``snapshot`` (a full one, e.g. from a file)."""
    return _SnapshotReader(snapshot)


@dataclass(eq=False)
class _Flight:
    started: float
    began: datetime
    done: threading.Event = field(default_factory=threading.Event)
    result: Snapshot | None = None
    error: BaseException | None = None


class CoalescingReader:
    """Single-flight plus a short cache in front of another reader.

    Reads are keyed by (kind, the kind's scope key: casefolded). While one read of a key is
    in flight, other callers of that key wait for it and get its snapshot, or its exception.
    A snapshot is reused for ``window`` seconds counted from the moment its read *began*, so
    an answer is never older than ``window``; an exception is never reused. A caller that
    passes ``newer_than`` (the time of the change it was told about) only shares a read that
    began at or after that time, so a change is never judged on state read before it
    happened. ``reads`` counts the reads passed to ``inner``. Thread-safe.

    ``settle`` trades a little latency for far fewer reads while changes keep arriving (a
    deployment writing rules for ten seconds): the leader waits ``settle`` seconds before
    reading, and every change made before the read begins joins it.
    """

    def __init__(
        self,
        inner: StateReader,
        *,
        window: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        settle: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if window < 0 or settle < 0:
            raise ValueError(f"window and settle must be >= 0 seconds, got {window}, {settle}")
        self.inner = inner
        self.window = window
        self.settle = settle
        self._sleep = sleep
        self.reads = 0
        self._clock = clock
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._flights: dict[tuple[str, str], _Flight] = {}

    def read(self, kind: str, scope: str, *, newer_than: datetime | None = None) -> Snapshot:
        key = (kind, _scope_key(kind, scope))
        with self._lock:
            now = self._clock()
            flight = self._flights.get(key)
            leader = (
                flight is None
                or (flight.done.is_set() and now - flight.started >= self.window)
                # done or still in flight, a read that began before the change cannot show it
                or (newer_than is not None and flight.began < newer_than)
            )
            if leader:
                self._forget_expired(now)
                # the read begins after the settle time: changes until then can join it
                began = self._wall_clock() + timedelta(seconds=self.settle)
                flight = self._flights[key] = _Flight(now, began)
                self.reads += 1
        assert flight is not None
        if leader:
            return self._lead(key, flight, kind, scope)
        flight.done.wait()
        if flight.error is not None:
            raise flight.error
        assert flight.result is not None
        return flight.result

    def _lead(self, key: tuple[str, str], flight: _Flight, kind: str, scope: str) -> Snapshot:
        try:
            if self.settle:
                self._sleep(self.settle)
            flight.result = self.inner.read(kind, scope)
        except BaseException as exc:
            flight.error = exc
            with self._lock:
                if self._flights.get(key) is flight:
                    del self._flights[key]
            raise
        finally:
            flight.done.set()
        return flight.result

    def _forget_expired(self, now: float) -> None:
        expired = [
            key
            for key, flight in self._flights.items()
            if flight.done.is_set() and now - flight.started >= self.window
        ]
        for key in expired:
            del self._flights[key]


def _scope_key(kind: str, scope: str) -> str:
    from ..kinds import get_kind

    try:
        return get_kind(kind).scope_key(scope)
    except KeyError:
        return scope.strip().casefold()
