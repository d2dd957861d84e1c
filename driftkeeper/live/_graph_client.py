"""The msgraph-sdk plumbing every Graph call shares: building the client, the session that
keeps it on a loop thread and sends declared reads, and judging a failed call.

The httpx client speaks HTTP/1.1 only: over HTTP/2, the ``hpack`` library logs every header,
``Authorization`` included, at DEBUG level. kiota's RetryHandler retries 429/503/504 and
honours ``Retry-After``; ``max_retries`` / ``retry_delay`` set its ``RetryHandlerOption``
(``None``: kiota's defaults, 3 retries and a 3 s base delay).
"""

from __future__ import annotations

import json
import ssl
import warnings
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

from .._errors import BadNextLinkError, InvalidBodyError, ReadError, TransientReadError
from ._failures import Refused, describe_failure, is_transient
from ._reply import Reply

if TYPE_CHECKING:
    import httpx
    from azure.core.credentials import TokenCredential
    from azure.core.credentials_async import AsyncTokenCredential

    from ..kinds import Request

__all__ = [
    "BadNextLinkError",
    "GraphSession",
    "GraphSettings",
    "aclose",
    "call_graph",
    "check_next_link",
    "graph_client",
    "graph_http",
    "sdk_deprecations_silenced",
]

T = TypeVar("T")


@dataclass(frozen=True)
class GraphSettings:
    """How to reach Microsoft Graph: the credential, ``endpoint`` (no trailing ``/``), the
    token ``scope``, TLS verification and kiota's retry option."""

    credential: TokenCredential | AsyncTokenCredential = field(repr=False)
    endpoint: str
    scope: str
    connection_verify: str | bool
    max_retries: int | None
    retry_delay: float | None

    @classmethod
    def for_endpoint(
        cls,
        endpoint: str,
        credential: TokenCredential | AsyncTokenCredential,
        *,
        connection_verify: str | bool,
        max_retries: int | None,
        retry_delay: float | None,
    ) -> GraphSettings:
        """Settings for ``endpoint`` as configured (a trailing ``/`` is dropped; tokens are
        asked for ``<endpoint origin>/.default``)."""
        from . import _default_scope

        return cls(
            credential,
            endpoint.rstrip("/"),
            _default_scope(endpoint),
            connection_verify,
            max_retries,
            retry_delay,
        )


def graph_http(settings: GraphSettings) -> httpx.AsyncClient:
    """The httpx client a Graph client is built on (HTTP/1.1; see the module notes)."""
    import httpx

    return httpx.AsyncClient(
        timeout=httpx.Timeout(100, connect=30),
        verify=_ssl_verify(settings.connection_verify),
        http2=False,
    )


def graph_client(settings: GraphSettings, http: httpx.AsyncClient) -> Any:
    """A ``GraphServiceClient`` on ``http`` with msgraph's middleware and the retry option."""
    with sdk_deprecations_silenced():
        from kiota_authentication_azure.azure_identity_authentication_provider import (
            AzureIdentityAuthenticationProvider,
        )
        from kiota_http.middleware.options import RedirectHandlerOption, RetryHandlerOption
        from msgraph.graph_request_adapter import GraphRequestAdapter
        from msgraph.graph_request_adapter import options as msgraph_options
        from msgraph.graph_service_client import GraphServiceClient
        from msgraph_core import GraphClientFactory

    options = dict(msgraph_options)
    max_retries, retry_delay = settings.max_retries, settings.retry_delay
    # a read answered elsewhere is a failed read: the token and the trust stay here
    options[RedirectHandlerOption.get_key()] = RedirectHandlerOption(should_redirect=False)
    if max_retries is not None or retry_delay is not None:
        options[RetryHandlerOption.get_key()] = RetryHandlerOption(
            delay=RetryHandlerOption.DEFAULT_DELAY if retry_delay is None else retry_delay,
            max_retries=RetryHandlerOption.DEFAULT_MAX_RETRIES
            if max_retries is None
            else min(max_retries, RetryHandlerOption.MAX_MAX_RETRIES),
        )
    GraphClientFactory.create_with_default_middleware(client=http, options=options)
    adapter = GraphRequestAdapter(
        AzureIdentityAuthenticationProvider(settings.credential, scopes=[settings.scope]),
        client=http,
    )
    adapter.base_url = settings.endpoint
    with sdk_deprecations_silenced():
        return GraphServiceClient(request_adapter=adapter)


class GraphSession:
    """One ``GraphServiceClient`` and its httpx client, on one event loop thread
    (:class:`~driftkeeper._loop.LoopThread`), for every Graph read.

    An httpx ``AsyncClient`` is bound to the loop it first ran on, so one long-lived loop lets
    every read, from whichever thread, share the client and its connection pool.
    :meth:`fetch` sends one declared :class:`~driftkeeper.kinds.Request` through the
    client's request adapter (authentication, retries, error mapping) and keeps the body as
    the JSON Graph sent.
    """

    def __init__(self, settings: GraphSettings) -> None:
        from .._loop import LoopThread

        self.settings = settings
        self._loop = LoopThread("driftkeeper-graph")
        self._http: httpx.AsyncClient | None = None
        try:
            self.client = self.run(self._connect())
        except BaseException:
            self.close()
            raise

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` on the session's loop and wait for it (from any other thread)."""
        return self._loop.run(work)

    def fetch(self, request: Request) -> Any:
        """The answer to ``request``: a list (every page), an object (``None`` for an empty
        body), or :class:`Refused`; a transient failure raises."""
        where = f"{request.section} {request.path}"
        return self.run(call_graph(where, lambda: self._fetch(request)))

    async def _connect(self) -> Any:
        self._http = graph_http(self.settings)
        return graph_client(self.settings, self._http)

    async def _fetch(self, request: Request) -> Any:
        url = self.settings.endpoint + request.path
        if request.query:
            url += "?" + urlencode(request.query, quote_via=quote, safe="$,()'")
        if not request.many:
            return await self._get(url)
        items: list[dict[str, Any]] = []
        seen: set[str] = set()
        page = await self._get(url)
        while True:
            values = page.get("value") if page is not None else None
            if not isinstance(values, list):
                raise InvalidBodyError("Microsoft Graph answered a list without a value list")
            items.extend(values)
            next_link = page.get("@odata.nextLink") if page is not None else None
            if not next_link:
                return items
            check_next_link(str(next_link), url, seen)
            page = await self._get(str(next_link))

    async def _get(self, url: str) -> dict[str, Any] | None:
        """GET ``url`` through the adapter; the body as the JSON Graph sent (kiota's models
        drop what they cannot write back, such as multi-value enums, which would hide
        drift). ``@odata.context`` (response metadata) is dropped."""
        with sdk_deprecations_silenced():
            from kiota_abstractions.method import Method
            from kiota_abstractions.request_information import RequestInformation
            from msgraph.generated.models.o_data_errors.o_data_error import ODataError

        info = RequestInformation()
        info.http_method = Method.GET
        info.url = url
        info.headers.try_add("Accept", "application/json")
        content = await self.client.request_adapter.send_primitive_async(
            info, "bytes", {"XXX": ODataError}
        )
        if not content:
            return None
        try:
            value = json.loads(content)
        except (ValueError, UnicodeDecodeError):
            raise InvalidBodyError(
                "Microsoft Graph answered with a body that is not JSON"
            ) from None
        if not isinstance(value, dict):
            raise InvalidBodyError("Microsoft Graph answered with a body that is not an object")
        value.pop("@odata.context", None)
        return value

    def write(self, method: str, url: str, body: Any, client_request_id: str) -> Reply:
        """Send one mutating request once through the client's request adapter (its
        credential and middleware, no redirects) with ``client-request-id``; kiota's retries
        are off for it (the caller, :class:`~driftkeeper.live.Writer`, retries within its
        budget). Never raises for a status or a lost connection: see :class:`Reply`. A
        credential that cannot produce a token raises azure-core's
        ``ClientAuthenticationError``.
        """
        return self.run(self._write(method, url, body, client_request_id))

    async def _write(self, method: str, url: str, body: Any, client_request_id: str) -> Reply:
        import httpx
        from opentelemetry import trace

        with sdk_deprecations_silenced():
            from kiota_abstractions.method import Method
            from kiota_abstractions.request_information import RequestInformation
            from kiota_http.middleware.options import RetryHandlerOption

        info = RequestInformation()
        info.http_method = Method(method)
        info.url = url
        info.headers.try_add("Accept", "application/json")
        info.headers.try_add("client-request-id", client_request_id)
        if body is not None:
            info.headers.try_add("Content-Type", "application/json")
            info.content = json.dumps(body).encode()
        info.add_request_options([RetryHandlerOption(delay=0, max_retries=0, should_retry=False)])
        adapter = self.client.request_adapter
        try:
            response = await adapter.get_http_response_message(info, trace.INVALID_SPAN)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # never reached Graph
            return Reply(0, sent=False, problem=type(exc).__name__)
        except httpx.TransportError as exc:  # sent; the answer was lost
            return Reply(0, sent=True, problem=type(exc).__name__)
        return Reply.of(response.status_code, response.headers, response.content)

    def close(self) -> None:
        try:
            if self._http is not None:
                http, self._http = self._http, None
                self.run(aclose(http))
        finally:
            self._loop.close()


def check_next_link(link: str, first: str, seen: set[str]) -> None:
    """Refuse a next link that is not the listing's own (same scheme, host and path as the
    ``first`` URL: the token goes along, and another path is another listing) or that
    repeats a page already read (a loop); ``seen`` collects the links followed."""
    mine, theirs = urlsplit(first), urlsplit(link)
    if (theirs.scheme, theirs.netloc.casefold()) != (mine.scheme, mine.netloc.casefold()):
        raise BadNextLinkError(f"next link leaves {mine.scheme}://{mine.netloc}")
    if theirs.path.rstrip("/").casefold() != mine.path.rstrip("/").casefold():
        raise BadNextLinkError(f"next link leaves the listing {mine.path}")
    if link in seen:
        raise BadNextLinkError("next link repeats a page already read")
    seen.add(link)


async def call_graph(where: str, read: Callable[[], Awaitable[T]]) -> T | Refused:
    """Run a Graph SDK call; return a permanent failure, raise a transient one."""
    import httpx
    from azure.core.exceptions import ClientAuthenticationError
    from kiota_abstractions.api_error import APIError

    try:
        return await read()
    except APIError as exc:
        status = exc.response_status_code
        error = getattr(exc, "error", None)  # ODataError carries the Graph error body
        code = getattr(error, "code", None)
        message = getattr(error, "message", None) or exc.message
        if status is None:
            raise ReadError(f"{where}: Microsoft Graph call failed: {message}") from exc
        text = describe_failure(status, code, message)
        if is_transient(status):
            raise TransientReadError(f"{where}: {text} (after retries)") from exc
        return Refused(status, code, text)
    except BadNextLinkError as exc:
        return Refused(0, "BadNextLink", str(exc))
    except InvalidBodyError as exc:
        return Refused(0, "InvalidBody", str(exc))
    except httpx.TransportError as exc:
        raise TransientReadError(
            f"{where}: no response from Microsoft Graph ({type(exc).__name__}, after retries)"
        ) from exc
    except ClientAuthenticationError as exc:
        first_line = (exc.message or "").strip().splitlines()[:1]
        raise ReadError(
            f"{where}: could not get an access token for Microsoft Graph: "
            f"{type(exc).__name__}: {' '.join(first_line)}"
        ) from exc


def _ssl_verify(connection_verify: str | bool) -> ssl.SSLContext | bool:
    if isinstance(connection_verify, str):  # a CA bundle; httpx wants it as an SSLContext
        return ssl.create_default_context(cafile=connection_verify)
    return connection_verify


async def aclose(http: httpx.AsyncClient) -> None:
    """Close ``http`` and the transports msgraph-core wrapped.

    msgraph-core's ``AsyncGraphTransport`` (1.5) has no ``aclose``, so ``http.aclose()``
    does not reach the connection pool it wraps; without this the sockets leak.
    """
    import httpx

    wrappers = [http._transport, *http._mounts.values()]
    await http.aclose()
    for wrapper in wrappers:
        inner = getattr(wrapper, "transport", None)
        if isinstance(inner, httpx.AsyncBaseTransport):
            await inner.aclose()


@contextmanager
def sdk_deprecations_silenced() -> Iterator[None]:
    """Import msgraph-sdk request builders without their import-time DeprecationWarnings.

    msgraph-sdk 1.x and kiota-abstractions define deprecated classes whose class bodies call
    ``warnings.warn`` when their module is imported. Only those modules' DeprecationWarnings
    are ignored, and only while the block runs (no network I/O happens inside it).
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", category=DeprecationWarning, module=r"(msgraph|kiota_abstractions)(\.|$)"
        )
        yield
