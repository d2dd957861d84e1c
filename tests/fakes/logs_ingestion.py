"""A local receiver of the Logs Ingestion REST contract (Azure Monitor), over TLS.

``POST {endpoint}/dataCollectionRules/{ruleId}/streams/{stream}?api-version=2023-01-01``
with ``Authorization: Bearer <token>`` (scope ``https://monitor.azure.com//.default``) and a
JSON array of objects, gzip-compressed (``Content-Encoding: gzip``) or not. Answers as the
service does:

- **204** accepted (the rows are kept in :attr:`LogsIngestionReceiver.rows`, per stream);
- **401** no bearer token; **404** another rule id or stream; **400** a body that is not a
  JSON array of objects, or another api-version;
- **413** a body of more than :data:`MAX_BODY` bytes once decompressed (1 MB a call);
- whatever :meth:`LogsIngestionReceiver.fail` scripted (a 500, a 429 with ``Retry-After``).

The SDK refuses a bearer token over plain http, so the receiver serves https with the
throwaway CA of :func:`tests.fakes.azure_rest.make_tls_files`; clients trust it through
``connection_verify=<ca file>``.
"""

from __future__ import annotations

import gzip
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .azure_rest import TlsFiles
from .local_server import LocalHttpServer

__all__ = ["API_VERSION", "MAX_BODY", "IngestionCall", "LogsIngestionReceiver"]

API_VERSION = "2023-01-01"
MAX_BODY = 1_000_000
"""Bytes of one call's JSON, decompressed (the service's limit: 1 MB)."""


@dataclass(frozen=True)
class IngestionCall:
    """One call as received: its stream, status, decompressed size and rows (on 204)."""

    rule_id: str
    stream: str
    status: int
    size: int
    rows: tuple[dict[str, Any], ...] = ()
    gzip: bool = False
    token: str = ""


@dataclass
class _Failure:
    status: int
    remaining: int
    retry_after: str | None


@dataclass
class LogsIngestionReceiver:
    """Accepts uploads for one rule id and its streams; use as a context manager."""

    tls: TlsFiles
    rule_id: str = "dcr-00112233445566778899aabbccddeeff"
    streams: tuple[str, ...] = ("Custom-DriftkeeperEvents_CL",)
    calls: list[IngestionCall] = field(default_factory=list)
    url: str = ""
    _failures: list[_Failure] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: LocalHttpServer | None = None

    def __enter__(self) -> LogsIngestionReceiver:
        server = _Server(self)
        self._server = server
        self.url = server.url
        server.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.stop()
        self._server = None

    def fail(self, status: int = 500, *, times: int = 1, retry_after: int | None = None) -> None:
        """Answer the next ``times`` well-formed calls with ``status`` (+ ``Retry-After``)."""
        with self._lock:
            self._failures.append(
                _Failure(status, times, None if retry_after is None else str(retry_after))
            )

    def recover(self) -> None:
        """Drop the scripted failures not yet answered."""
        with self._lock:
            self._failures.clear()

    def rows(self, stream: str | None = None) -> list[dict[str, Any]]:
        """Every row accepted (204) for ``stream`` (default: the first), in arrival order."""
        wanted = stream or self.streams[0]
        with self._lock:
            return [r for c in self.calls if c.status == 204 and c.stream == wanted for r in c.rows]

    def _scripted(self) -> tuple[int, str | None] | None:
        with self._lock:
            if not self._failures:
                return None
            failure = self._failures[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                self._failures.pop(0)
            return failure.status, failure.retry_after

    def _record(self, call: IngestionCall) -> None:
        with self._lock:
            self.calls.append(call)


class _Server(LocalHttpServer):
    def __init__(self, owner: LogsIngestionReceiver) -> None:
        self.owner = owner
        super().__init__(
            _Handler, name="fake-logs-ingestion", ssl_context=owner.tls.server_context()
        )


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, error: str = "", headers: dict[str, str] | None = None) -> None:
        body = b""
        if error:
            body = json.dumps({"error": {"code": error, "message": error}}).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if body:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        owner = self.server.owner
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = urlsplit(self.path)
        segments = [unquote(s) for s in parts.path.split("/") if s]
        query = parse_qs(parts.query)
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or len(auth) <= len("Bearer "):
            return self._answer(401, "InvalidAuthenticationToken")
        token = auth.removeprefix("Bearer ")
        if query.get("api-version") != [API_VERSION]:
            return self._answer(400, "InvalidApiVersion")
        if (
            len(segments) != 4
            or segments[0] != "dataCollectionRules"
            or segments[2] != "streams"
            or segments[1] != owner.rule_id
            or segments[3] not in owner.streams
        ):
            return self._answer(404, "NotFound")
        zipped = self.headers.get("Content-Encoding", "").lower() == "gzip"
        try:
            body = gzip.decompress(raw) if zipped else raw
        except (OSError, EOFError):
            return self._answer(400, "InvalidContentEncoding")
        call = IngestionCall(owner.rule_id, segments[3], 0, len(body), gzip=zipped, token=token)
        if len(body) > MAX_BODY:
            owner._record(_with(call, status=413))
            return self._answer(413, "ContentLengthLimitExceeded")
        try:
            rows = json.loads(body)
        except ValueError:
            rows = None
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            owner._record(_with(call, status=400))
            return self._answer(400, "InvalidPayload")
        scripted = owner._scripted()
        if scripted is not None:
            status, retry_after = scripted
            owner._record(_with(call, status=status))
            headers = {"Retry-After": retry_after} if retry_after else {}
            return self._answer(status, "Scripted", headers)
        owner._record(_with(call, status=204, rows=tuple(rows)))
        return self._answer(204)


def _with(call: IngestionCall, **changes: Any) -> IngestionCall:
    from dataclasses import replace

    return replace(call, **changes)
