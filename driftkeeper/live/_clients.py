"""The SDK clients a reader builds on first use and keeps until it is closed."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, Protocol, TypeVar

__all__ = ["ClientCache"]


class _Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=_Closable)


class ClientCache:
    """Clients by key, each built once on first use (thread-safe); :meth:`close` closes them
    all, and asking for a client afterwards raises ``RuntimeError`` ("this ``owner`` is
    closed")."""

    def __init__(self, owner: str) -> None:
        self._owner = owner
        self._lock = threading.Lock()
        self._clients: dict[Hashable, Any] = {}
        self._closed = False

    def get(self, key: Hashable, build: Callable[[], C]) -> C:
        """The client for ``key``; ``build()`` makes it the first time."""
        with self._lock:
            if self._closed:
                raise RuntimeError(f"this {self._owner} is closed")
            client: C | None = self._clients.get(key)
            if client is None:
                client = self._clients[key] = build()
            return client

    def close(self) -> None:
        """Close every client built so far (the credentials they use are not closed)."""
        with self._lock:
            self._closed = True
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()
