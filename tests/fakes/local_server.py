"""The HTTP server plumbing the local stand-ins share.

:class:`LocalHttpServer` is a ``ThreadingHTTPServer`` on an ephemeral 127.0.0.1 port (TLS
when given a server ``ssl_context``), served from a daemon thread by :meth:`~LocalHttpServer.start`.
:meth:`~LocalHttpServer.stop` also shuts down the keep-alive connections its handler threads
still wait on, so closing never hangs on a pooled client connection.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["LocalHttpServer"]


class LocalHttpServer(ThreadingHTTPServer):
    """Serves ``handler`` on 127.0.0.1 from a thread named ``name``; ``url`` is its origin."""

    daemon_threads = True
    block_on_close = True

    def __init__(
        self,
        handler: type[BaseHTTPRequestHandler],
        *,
        name: str,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._name = name
        super().__init__(("127.0.0.1", 0), handler)
        scheme = "http"
        if ssl_context is not None:
            self.socket = ssl_context.wrap_socket(self.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.server_address[1]}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=self._name,
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:  # shutdown() waits for serve_forever() to return
            self.shutdown()
        self._close_connections()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def _close_connections(self) -> None:
        """Unblock handler threads still waiting on a keep-alive connection."""
        with self._connections_lock:
            open_now = list(self._connections)
        for connection in open_now:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)
