"""Local receivers for the alert channels: an HTTP endpoint and an SMTP server.

:class:`HttpReceiver` is a ``ThreadingHTTPServer`` on 127.0.0.1 (plain http, or TLS with the
certificate of :func:`tests.fakes.azure_rest.make_tls_files`). It records every request
(method, path, query, headers, body) and answers ``status`` (202 by default) with an empty
body. It stands in for a Teams Workflows webhook, Microsoft Graph ``sendMail`` (point
msgraph-sdk at ``receiver.url + "/v1.0"``) and an Event Grid topic (``receiver.url +
"/api/events"``). :meth:`HttpReceiver.fail` scripts the next answers: 500 N times, or 429
with ``Retry-After``.

:class:`SmtpReceiver` runs aiosmtpd on 127.0.0.1 and records every message it accepts. With
``tls`` it offers STARTTLS and requires it, and with ``users`` it requires ``AUTH`` (PLAIN or
LOGIN) with one of those user/password pairs. :meth:`SmtpReceiver.fail` makes the next
``RCPT`` answers a chosen SMTP reply (e.g. ``451`` temporary failure).
"""

from __future__ import annotations

import email
import email.policy
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from .azure_rest import TlsFiles
from .local_server import LocalHttpServer

__all__ = [
    "SMTP_PASSWORD",
    "SMTP_USER",
    "HttpReceiver",
    "ReceivedMail",
    "ReceivedRequest",
    "SmtpReceiver",
]

SMTP_USER = "alerts@contoso.example"
"""The user and password ``smtp_tls_receiver`` accepts."""
SMTP_PASSWORD = "dk-smtp-secret"


# --- HTTP ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the receiver saw it. ``headers`` keys are lower-case."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    status: int
    """The status the receiver answered with."""

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Script:
    status: int
    remaining: int
    retry_after: str | None


class HttpReceiver:
    """Records requests to 127.0.0.1 and answers ``status``; use as a context manager."""

    def __init__(self, *, status: int = 202, tls: TlsFiles | None = None) -> None:
        self.status = status
        self.tls = tls
        self.requests: list[ReceivedRequest] = []
        self._script: list[_Script] = []
        self._lock = threading.Lock()
        self._server: _HttpServer | None = None
        self.url = ""

    def start(self) -> HttpReceiver:
        server = _HttpServer(self)
        self._server = server
        self.url = server.url
        server.start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()
        self._server = None

    def __enter__(self) -> HttpReceiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def fail(
        self, status: int = 500, *, times: int = 1, retry_after: int | str | None = None
    ) -> None:
        """Answer the next ``times`` requests with ``status`` (+ ``Retry-After``), then recover."""
        with self._lock:
            self._script.append(
                _Script(status, times, None if retry_after is None else str(retry_after))
            )

    def requests_to(self, path: str) -> list[ReceivedRequest]:
        """Recorded requests whose path is ``path`` (case-insensitive), oldest first."""
        with self._lock:
            return [r for r in self.requests if r.path.lower() == path.lower()]

    def _answer(self) -> tuple[int, dict[str, str]]:
        with self._lock:
            if self._script:
                script = self._script[0]
                script.remaining -= 1
                if script.remaining <= 0:
                    self._script.pop(0)
                headers = {"Retry-After": script.retry_after} if script.retry_after else {}
                return script.status, headers
        return self.status, {}

    def _record(self, request: ReceivedRequest) -> None:
        with self._lock:
            self.requests.append(request)


class _HttpServer(LocalHttpServer):
    def __init__(self, owner: HttpReceiver) -> None:
        self.owner = owner
        context = None if owner.tls is None else owner.tls.server_context()
        super().__init__(_HttpHandler, name="fake-http-receiver", ssl_context=context)


class _HttpHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "driftkeeper-fake-receiver/1"
    disable_nagle_algorithm = True
    server: _HttpServer

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, headers = self.server.owner._answer()
        parts = urlsplit(self.path)
        self.server.owner._record(
            ReceivedRequest(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                status=status,
            )
        )
        self.send_response(status)
        self.send_header("Content-Length", "0")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log."""


# --- SMTP ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReceivedMail:
    """One accepted message: envelope, the parsed message, and how the client connected."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    login: str | None
    """The user that authenticated, if any."""
    tls: bool
    """Whether the session had switched to TLS (STARTTLS) before DATA."""

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        return cast(EmailMessage, parsed)


@dataclass
class _SmtpHandler:
    owner: SmtpReceiver
    messages: list[ReceivedMail] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = self.owner._take_failure()
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        login = session.auth_data.login.decode() if session.authenticated else None
        data = envelope.original_content or b""
        self.owner._record(
            ReceivedMail(
                mail_from=str(envelope.mail_from),
                rcpt_tos=tuple(envelope.rcpt_tos),
                data=data,
                login=login,
                tls=session.ssl is not None,
            )
        )
        return "250 Message accepted for delivery"


class _Controller(Controller):
    """aiosmtpd's Controller on an ephemeral port (it only knows fixed ones)."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpReceiver:
    """aiosmtpd on 127.0.0.1; ``tls`` requires STARTTLS, ``users`` requires AUTH."""

    def __init__(
        self, *, tls: TlsFiles | None = None, users: Mapping[str, str] | None = None
    ) -> None:
        self.tls = tls
        self.users = dict(users or {})
        self.messages: list[ReceivedMail] = []
        self.host = "127.0.0.1"
        self.port = 0
        self._failures: list[str] = []
        self._lock = threading.Lock()
        self._controller: _Controller | None = None

    def start(self) -> SmtpReceiver:
        kwargs: dict[str, Any] = {}
        if self.tls is not None:
            kwargs.update(tls_context=self.tls.server_context(), require_starttls=True)
        if self.users:
            kwargs.update(authenticator=self._authenticate, auth_required=True)
        controller = _Controller(
            _SmtpHandler(self), hostname="127.0.0.1", port=0, ready_timeout=5, **kwargs
        )
        controller.start()
        self._controller = controller
        self.port = controller.port
        return self

    def close(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpReceiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def fail(self, reply: str = "451 4.3.0 Try again later", *, times: int = 1) -> None:
        """Answer the next ``times`` RCPT commands with ``reply``."""
        with self._lock:
            self._failures.extend([reply] * times)

    def _take_failure(self) -> str | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def _record(self, mail: ReceivedMail) -> None:
        with self._lock:
            self.messages.append(mail)

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            user = auth_data.login.decode()
            if self.users.get(user) == auth_data.password.decode():
                return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)
