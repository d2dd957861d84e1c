"""Write to ARM and Microsoft Graph through the clients the readers use (rollback's way out).

:meth:`Writer.send` executes one mutating request, ``(method, absolute URL, JSON body)``,
and returns a :class:`WriteResult`, or raises one of the :class:`~driftkeeper.WriteError`
family:

- **Where.** Only a URL on the configured ARM or Graph endpoint is sent (same scheme and
  host; for Graph, below its version path; https, or http to a loopback stand-in), through
  that service's client: the same credential, policies and middleware as the reads, never
  following a redirect. Anything else raises :class:`~driftkeeper.ForeignUrlError` before a
  byte (or a token) leaves. A long-running operation's status URL is held to the same rule.
- **Who.** Every request carries a client request id (``x-ms-client-request-id``, and the
  same value as ``x-ms-correlation-request-id``, for ARM; ``client-request-id`` for Graph):
  the caller's, or a new uuid4. It comes back in the change's Event Grid event
  (``data.httpRequest.clientRequestId`` and ``data.correlationId``) and Entra audit record
  (``correlationId``), which is how our own change is recognised.
- **Success.** 200, 201, 202 and 204. An ARM answer with ``Azure-AsyncOperation`` is
  followed by polling that URL until its ``status`` is ``Succeeded`` (``Failed`` /
  ``Canceled`` raise :class:`~driftkeeper.WriteRefusedError`); else a 202 with ``Location``
  by polling it until it no longer answers 202. Polls wait what ``Retry-After`` says
  (``poll_interval`` without one), up to ``operation_seconds`` in all. A DELETE answered 404
  with an error code (not ``SubscriptionNotFound``) is success: already gone.
- **Transient failures** (408, 429, 5xx, no answer) are retried, each request (the write,
  or one poll) up to ``attempts`` sends and ``seconds`` of waiting, honouring
  ``Retry-After`` (seconds or an HTTP date; ``retry-after-ms``), else backing off from
  ``backoff`` seconds; then :class:`~driftkeeper.TransientWriteError`. A POST (not
  idempotent: it creates) is retried only when it cannot have been acted on (429, 503, no
  connection); after a 500/502/504 or a lost answer it raises at once: read before retrying.
- **Anything else** (400, 401, 403, 409, a redirect ...) raises
  :class:`~driftkeeper.WriteRefusedError` with the status and the service's error code and
  message, shortened; never a header, so never a token. A credential that cannot produce a
  token raises :class:`~driftkeeper.WriteError`.

Waiting goes through the injected ``sleep``, and the budgets count the time waited, so tests
never wait.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import unquote, urlsplit

from .._errors import ForeignUrlError, TransientWriteError, WriteError, WriteRefusedError
from ._failures import Refused, describe_failure, is_transient
from ._reply import Reply, retry_after

if TYPE_CHECKING:
    from ._resource import LiveClients

__all__ = ["WRITE_METHODS", "WriteBudget", "WriteResult", "Writer"]

_log = logging.getLogger(__name__)

WRITE_METHODS = frozenset({"PUT", "PATCH", "POST", "DELETE"})
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_TERMINAL_FAILURES = frozenset({"failed", "canceled", "cancelled"})
_UNACTED = frozenset({429, 503})
"""Transient statuses that say the request was not acted on (so even a POST may be resent)."""
Service = Literal["arm", "graph"]


@dataclass(frozen=True)
class WriteBudget:
    """How long a write may take. ``attempts`` and ``seconds`` bound each request (the write
    itself, or one poll): sends, and time waited between them. ``operation_seconds`` bounds
    the time waited for a long-running operation; ``poll_interval`` is the wait between polls
    when the service sends no ``Retry-After``; ``backoff`` the first wait after a transient
    failure without one (doubling each time)."""

    attempts: int = 4
    seconds: float = 60.0
    operation_seconds: float = 600.0
    poll_interval: float = 5.0
    backoff: float = 1.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"attempts must be >= 1, got {self.attempts}")
        for name in ("seconds", "operation_seconds", "poll_interval", "backoff"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0 seconds, got {getattr(self, name)}")


@dataclass(frozen=True)
class WriteResult:
    """A write that took effect (or found its target already gone)."""

    method: str
    url: str
    status: int
    """The write's own answer: 200, 201, 202, 204, or 404 when ``gone``."""
    attempts: int
    """How many times the write itself was sent (polls not counted)."""
    client_request_id: str
    gone: bool = False
    """A DELETE answered 404: there was nothing to delete."""
    operation: str = ""
    """How a long-running operation ended (``Succeeded``, or the final poll's status code for
    a ``Location`` poll); empty when there was none."""
    polls: int = 0
    body: Any = None
    """The JSON the write was answered with (the resource, as the service sent it), if any."""

    @property
    def summary(self) -> str:
        """``"PUT 201 Created (operation Succeeded after 2 polls)"``, ``"DELETE 404 already
        gone"``: for logs and the event table."""
        if self.gone:
            return f"{self.method} 404 already gone"
        text = f"{self.method} {describe_failure(self.status, None, None)}"
        if self.operation:
            text += f" (operation {self.operation} after {self.polls} poll(s))"
        return text


class _Channel(Protocol):
    def write(self, method: str, url: str, body: Any, client_request_id: str) -> Reply: ...


class Writer:
    """Sends writes through ``clients`` (a :class:`~driftkeeper.live.LiveClients`; its owner
    closes it) within ``budget``; ``sleep`` waits (injected in tests). Thread-safe as the
    clients are. See the module notes."""

    def __init__(
        self,
        clients: LiveClients,
        *,
        budget: WriteBudget | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clients = clients
        self.budget = budget or WriteBudget()
        self._sleep = sleep

    def send(
        self,
        method: str,
        url: str,
        body: Mapping[str, Any] | None = None,
        *,
        client_request_id: str | None = None,
    ) -> WriteResult:
        """Execute one write (see the module notes) and return how it went.

        Raises :class:`ValueError` for a method that does not write,
        :class:`ForeignUrlError` for a URL on neither endpoint (nothing sent),
        :class:`TransientWriteError` when the budget ran out on throttling, 5xx, no answer or
        a running operation, :class:`WriteRefusedError` when the service refused it, and
        :class:`WriteError` when no token can be had.
        """
        verb = method.upper()
        if verb not in WRITE_METHODS:
            raise ValueError(f"not a write method: {method!r}; one of {sorted(WRITE_METHODS)}")
        crid = client_request_id or str(uuid.uuid4())
        service = self._service_of(verb, url, crid)
        channel = self._channel(service)
        context = _Context(verb, url, crid)
        reply, attempts = self._attempts(channel, verb, url, body, context)
        context.attempts = attempts
        if reply.status == 404 and verb == "DELETE" and _refusal(reply).gone:
            _log.info("%s %s: already gone", verb, url, extra=context.log())
            return WriteResult(verb, url, 404, attempts, crid, gone=True, body=reply.body)
        if not 200 <= reply.status < 300:
            raise context.refused(reply, "")
        operation, polls = "", 0
        if service == "arm" and reply.status != 204:
            operation, polls = self._follow(channel, reply, context)
        result = WriteResult(
            verb,
            url,
            reply.status,
            attempts,
            crid,
            operation=operation,
            polls=polls,
            body=reply.body,
        )
        _log.info("%s %s: %s", verb, url, result.summary, extra=context.log())
        return result

    # -- where --
    def _service_of(self, method: str, url: str, crid: str) -> Service:
        arm = self._clients.arm_endpoint
        graph = self._clients.graph_settings.endpoint
        for service, endpoint in (("graph", graph), ("arm", arm)):
            if _on_endpoint(url, endpoint, below_path=service == "graph"):
                return service  # type: ignore[return-value]
        shown = _origin(url)
        raise ForeignUrlError(
            f"{method} {shown}: not the configured ARM or Graph endpoint; not sent",
            method=method,
            url=shown,
            client_request_id=crid,
        )

    def _channel(self, service: Service) -> _Channel:
        return self._clients.arm() if service == "arm" else self._clients.graph()

    # -- one request, retried within the budget --
    def _attempts(
        self,
        channel: _Channel,
        method: str,
        url: str,
        body: Any,
        context: _Context,
    ) -> tuple[Reply, int]:
        from azure.core.exceptions import ClientAuthenticationError

        budget, waited, attempts = self.budget, 0.0, 0
        while True:
            attempts += 1
            sent_body = None if body is None else dict(body)
            try:
                reply = channel.write(method, url, sent_body, context.crid)
            except ClientAuthenticationError as exc:
                first_line = " ".join((exc.message or "").strip().splitlines()[:1])
                raise WriteError(
                    f"{context.where}: could not get an access token: "
                    f"{type(exc).__name__}: {first_line}",
                    **context.fields(0, attempts),
                ) from exc
            if reply.status and not is_transient(reply.status):
                return reply, attempts
            what = _describe(reply)
            if method == "POST" and not _may_resend(reply):
                raise TransientWriteError(
                    f"{context.where}: {what}; a POST may have been acted on: read before "
                    "sending it again",
                    **context.fields(reply.status, attempts),
                )
            if attempts >= budget.attempts:
                raise TransientWriteError(
                    f"{context.where}: {what} (after {attempts} attempt(s))",
                    **context.fields(reply.status, attempts),
                )
            delay = retry_after(reply)
            if delay is None:
                delay = budget.backoff * 2 ** (attempts - 1)
            if waited + delay > budget.seconds:
                raise TransientWriteError(
                    f"{context.where}: {what}; waiting {delay:g} s more would exceed the "
                    f"{budget.seconds:g} s budget (after {attempts} attempt(s))",
                    **context.fields(reply.status, attempts),
                )
            _log.info("%s: %s; retrying in %g s", context.where, what, delay, extra=context.log())
            self._sleep(delay)
            waited += delay

    # -- long-running operations --
    def _follow(self, channel: _Channel, first: Reply, context: _Context) -> tuple[str, int]:
        """Poll ``Azure-AsyncOperation`` (else ``Location`` of a 202) to the end."""
        status_url = first.headers.get("azure-asyncoperation", "")
        location = first.headers.get("location", "") if first.status == 202 else ""
        poll_url = status_url or location
        if not poll_url:
            return "", 0
        if not _on_endpoint(poll_url, self._clients.arm_endpoint, below_path=False):
            raise ForeignUrlError(
                f"{context.where}: the operation status URL leaves the ARM endpoint "
                f"({_origin(poll_url)}); not followed: the change may still be running",
                **context.fields(first.status, context.attempts),
            )
        budget, waited, polls, last = self.budget, 0.0, 0, first
        while True:
            delay = retry_after(last)
            delay = budget.poll_interval if delay is None else delay
            if waited + delay > budget.operation_seconds:
                raise TransientWriteError(
                    f"{context.where}: the operation was still running after {polls} poll(s) "
                    f"and {waited:g} s (budget {budget.operation_seconds:g} s)",
                    **context.fields(first.status, context.attempts),
                )
            self._sleep(delay)
            waited += delay
            last, _ = self._attempts(channel, "GET", poll_url, None, context)
            polls += 1
            if status_url:
                done = self._async_status(last, context)
            else:
                done = self._location_status(last, context)
            if done:
                return done, polls

    def _async_status(self, reply: Reply, context: _Context) -> str:
        """``Succeeded`` when the operation is, empty while it runs; raises when it failed."""
        if reply.status != 200:
            raise context.refused(reply, "operation status: ")
        body = reply.body if isinstance(reply.body, dict) else {}
        status = body.get("status")
        if not isinstance(status, str) or not status:
            raise TransientWriteError(
                f"{context.where}: the operation status has no status: the outcome is unknown",
                **context.fields(reply.status, context.attempts),
            )
        if status.casefold() == "succeeded":
            return "Succeeded"
        if status.casefold() in _TERMINAL_FAILURES:
            error = _refusal(reply)
            detail = error.text.partition(": ")[2] or "no error details"
            raise WriteRefusedError(
                f"{context.where}: the operation ended {status[:40]}: {detail}",
                **context.fields(reply.status, context.attempts),
                code=error.code,
            )
        return ""

    @staticmethod
    def _location_status(reply: Reply, context: _Context) -> str:
        if reply.status == 202:
            return ""
        if 200 <= reply.status < 300:
            return str(reply.status)
        raise context.refused(reply, "operation result: ")


@dataclass
class _Context:
    method: str
    url: str
    crid: str
    attempts: int = 0

    @property
    def where(self) -> str:
        return f"{self.method} {self.url}"

    def fields(self, status: int, attempts: int) -> dict[str, Any]:
        return {
            "method": self.method,
            "url": self.url,
            "status": status,
            "attempts": attempts,
            "client_request_id": self.crid,
        }

    def log(self) -> dict[str, str]:
        return {"client_request_id": self.crid}

    def refused(self, reply: Reply, prefix: str) -> WriteRefusedError:
        error = _refusal(reply)
        what = error.text
        if 300 <= reply.status < 400:
            what += " (a redirect: not followed)"
        return WriteRefusedError(
            f"{self.where}: {prefix}{what}",
            **self.fields(reply.status, self.attempts),
            code=error.code,
        )


def _refusal(reply: Reply) -> Refused:
    """The service's error code and message of a failed answer, as the readers judge them."""
    body = reply.body if isinstance(reply.body, dict) else {}
    error = body.get("error")
    error = error if isinstance(error, dict) else {}
    code = error.get("code") if isinstance(error.get("code"), str) else None
    return Refused(reply.status, code, describe_failure(reply.status, code, _error_message(body)))


def _error_message(body: Mapping[str, Any]) -> str | None:
    error = body.get("error")
    message = error.get("message") if isinstance(error, dict) else None
    return message if isinstance(message, str) else None


def _describe(reply: Reply) -> str:
    if reply.status == 0:
        return f"no answer ({reply.problem or 'connection failed'})"
    return _refusal(reply).text


def _may_resend(reply: Reply) -> bool:
    """Whether a failed POST cannot have been acted on: throttled, unavailable, never sent."""
    return reply.status in _UNACTED or (reply.status == 0 and not reply.sent)


def _on_endpoint(url: str, endpoint: str, *, below_path: bool) -> bool:
    """Whether ``url`` is on ``endpoint``: the same scheme and host (and port), no user
    info, fragment or dot segment, https unless both are a loopback stand-in, and
    (``below_path``) below the endpoint's path (Graph's ``/v1.0``)."""
    try:
        mine, theirs = urlsplit(endpoint), urlsplit(url)
        theirs.port  # noqa: B018 - a malformed port raises here
    except ValueError:
        return False
    if theirs.username is not None or theirs.password is not None or theirs.fragment:
        return False
    if (theirs.scheme, theirs.netloc.casefold()) != (mine.scheme, mine.netloc.casefold()):
        return False
    if theirs.scheme != "https" and (
        theirs.scheme != "http" or (theirs.hostname or "") not in _LOOPBACK
    ):
        return False
    if any(part in (".", "..") for part in unquote(theirs.path).split("/")):
        return False  # a dot segment could leave the path once normalized
    if below_path:
        root = mine.path.rstrip("/").casefold()
        return theirs.path.casefold().startswith(root + "/")
    return theirs.path.startswith("/")


def _origin(url: str) -> str:
    """What a refused URL is shown as: its scheme and host only (no path, no query)."""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname or ''}"[:200]
    except ValueError:
        return "<unparsable URL>"
