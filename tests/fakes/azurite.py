"""Azurite (the Azure Table Storage emulator) for the store tests, and a TCP proxy to break it.

:class:`Azurite` runs ``node_modules/.bin/azurite-table`` (pinned in ``package.json``; the
Makefile runs ``npm ci``) on a free port of 127.0.0.1, in memory, and hands out the
connection string of the well-known ``devstoreaccount1`` account. Nothing is taken from a
global install: without ``node_modules`` the fixture fails and says to run ``npm ci``.

:class:`TcpProxy` sits between a client and Azurite so a test can make the store unavailable
and bring it back within a few milliseconds, without restarting Azurite (whose in-memory
tables would be lost):

- ``up()``      forward every connection (the default);
- ``refuse()``  stop listening: new connections are refused (``ECONNREFUSED``);
- ``hang()``    accept connections but never answer (the client's read timeout fires).

``refuse()`` and ``hang()`` also cut the connections already open, so a client's pooled
keep-alive connection cannot slip a request through. ``up()`` listens again on the same port.
"""

from __future__ import annotations

import contextlib
import selectors
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import urlsplit

__all__ = [
    "ACCOUNT_KEY",
    "ACCOUNT_NAME",
    "Azurite",
    "AzuriteMissingError",
    "TcpProxy",
    "connection_string",
    "table_endpoint_port",
]

ACCOUNT_NAME = "devstoreaccount1"
# The emulator's published well-known key (not a secret).
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
REPO_ROOT = Path(__file__).resolve().parents[2]
AZURITE_TABLE = REPO_ROOT / "node_modules" / ".bin" / "azurite-table"
HOST = "127.0.0.1"


class AzuriteMissingError(RuntimeError):
    """``node_modules/.bin/azurite-table`` (or ``node``) is not there."""


def connection_string(port: int) -> str:
    """The devstoreaccount1 connection string for a table endpoint on 127.0.0.1:``port``."""
    return (
        "DefaultEndpointsProtocol=http;"
        f"AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};"
        f"TableEndpoint=http://{HOST}:{port}/{ACCOUNT_NAME};"
    )


def table_endpoint_port(conn_str: str) -> int:
    """The port of the ``TableEndpoint`` in a connection string."""
    for part in conn_str.split(";"):
        name, _, value = part.partition("=")
        if name == "TableEndpoint":
            port = urlsplit(value).port
            if port is None:
                raise ValueError(f"TableEndpoint has no port: {value}")
            return port
    raise ValueError("connection string has no TableEndpoint")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.2):
            return True
    except OSError:
        return False


class Azurite:
    """An ``azurite-table`` process, in memory, on a free port of 127.0.0.1."""

    def __init__(self, *, executable: Path = AZURITE_TABLE, start_timeout: float = 30.0) -> None:
        self.executable = executable
        self.start_timeout = start_timeout
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def connection_string(self) -> str:
        if self._process is None:
            raise RuntimeError("Azurite is not running")
        return connection_string(self.port)

    def start(self) -> None:
        if not self.executable.exists():
            raise AzuriteMissingError(
                f"{self.executable} is missing: run `npm ci` in {REPO_ROOT} "
                "(make test does it) to install the pinned Azurite"
            )
        if shutil.which("node") is None:
            raise AzuriteMissingError("`node` is not on PATH: Azurite needs Node.js 20")
        self._workdir = tempfile.TemporaryDirectory(prefix="azurite-")
        errors: list[str] = []
        for _ in range(3):  # the free port may be taken between choosing and binding it
            self.port = _free_port()
            log = Path(self._workdir.name) / f"azurite-{self.port}.log"
            with log.open("wb") as out:
                self._process = subprocess.Popen(
                    [str(self.executable), *self.arguments()],
                    cwd=self._workdir.name,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            if self._wait_until_listening():
                return
            self._stop_process()
            errors.append(log.read_text(errors="replace").strip())
        self.stop()
        raise RuntimeError("Azurite did not start:\n" + "\n---\n".join(errors))

    def arguments(self) -> list[str]:
        """Command-line options: in memory, any API version, account from the path."""
        return [
            *("--tableHost", HOST, "--tablePort", str(self.port)),
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--disableProductStyleUrl",
            "--disableTelemetry",
            "--silent",
        ]

    def _wait_until_listening(self) -> bool:
        assert self._process is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            if _accepts(self.port):
                return True
            time.sleep(0.05)
        return False

    def _stop_process(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=5)
        self._process = None

    def stop(self) -> None:
        self._stop_process()
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def __enter__(self) -> Azurite:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


ProxyMode = Literal["up", "refuse", "hang"]


class TcpProxy:
    """A TCP proxy on 127.0.0.1 in front of ``target_port`` that can refuse or hang."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.mode: ProxyMode = "up"
        self.connections = 0  # connections accepted while up
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def connection_string(self) -> str:
        return connection_string(self.port)

    def start(self) -> None:
        self._listen()
        self._thread = threading.Thread(target=self._accept_loop, name="tcp-proxy", daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, self.port))
        listener.listen(64)
        listener.setblocking(False)
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener

    def up(self) -> None:
        """Forward connections again (listening on the same port)."""
        with self._lock:
            listening = self._listener is not None
        if not listening:
            self._listen()
        self.mode = "up"

    def refuse(self) -> None:
        """Stop listening, so connections are refused, and cut the open ones."""
        self.mode = "refuse"
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        self._cut_all()

    def hang(self) -> None:
        """Accept connections but never answer, and cut the open ones."""
        self.up()
        self.mode = "hang"
        self._cut_all()

    def _cut_all(self) -> None:
        with self._lock:
            sockets, self._open = self._open, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.add(sock)

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            with self._lock:
                listener = self._listener
            if listener is None:
                time.sleep(0.01)
                continue
            try:
                ready = selectors.DefaultSelector()
                with ready:
                    ready.register(listener, selectors.EVENT_READ)
                    if not ready.select(timeout=0.05):
                        continue
                client, _ = listener.accept()
            except (OSError, ValueError):  # closed by refuse() meanwhile
                continue
            client.setblocking(True)
            self._track(client)
            if self.mode == "hang":
                continue  # held open, never read, closed by _cut_all / close
            try:
                upstream = socket.create_connection((HOST, self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            self._track(upstream)
            self.connections += 1
            threading.Thread(
                target=self._pump, args=(client, upstream), name="tcp-proxy-pump", daemon=True
            ).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        peer = {client: upstream, upstream: client}
        with selectors.DefaultSelector() as sel:
            try:
                sel.register(client, selectors.EVENT_READ)
                sel.register(upstream, selectors.EVENT_READ)
                while not self._stopping.is_set():
                    for key, _ in sel.select(timeout=0.1):
                        src: socket.socket = key.fileobj  # type: ignore[assignment]
                        data = src.recv(65536)
                        if not data:
                            return
                        peer[src].sendall(data)
            except (OSError, ValueError):
                return
            finally:
                with self._lock:
                    self._open.discard(client)
                    self._open.discard(upstream)
                client.close()
                upstream.close()

    def close(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        self._cut_all()

    def __enter__(self) -> TcpProxy:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def drop_app_tables(service: Any) -> None:
    """Delete the Function App's tables (events, incidents, cursors: every test's own
    suffixed copy) from ``service`` and close it."""
    for table in list(service.list_tables()):
        if table.name.startswith(("events", "incidents", "cursors")):
            service.delete_table(table.name)
    service.close()
