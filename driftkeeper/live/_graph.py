"""The Graph sections of a live snapshot, read with msgraph-sdk (async, kiota).

Lists follow every ``@odata.nextLink``; kiota's RetryHandler retries 429/503/504 and honours
``Retry-After``. Each kiota model is written back to Graph JSON with kiota's
``JsonSerializationWriter``. What that changes against the wire:

- ``@odata.type`` is written for every object (Graph leaves it out for the base type);
- properties that were ``null`` are left out;
- timestamps come back as Python ``isoformat`` with at most 6 fraction digits
  (``2022-01-26T10:47:26.6044384Z`` becomes ``2022-01-26T10:47:26.604438+00:00``);
- unknown properties are kept (kiota's ``additional_data``); ``@odata.context`` (response
  metadata) is removed.

The httpx client speaks HTTP/1.1 only: over HTTP/2, the ``hpack`` library logs every header,
``Authorization`` included, at DEBUG level.
"""

from __future__ import annotations

import json
import logging
import ssl
import warnings
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .._errors import ReadError, TransientReadError
from ._failures import SectionReads, describe_failure, is_transient

if TYPE_CHECKING:
    import httpx
    from azure.core.credentials import TokenCredential
    from azure.core.credentials_async import AsyncTokenCredential

__all__ = ["graph_json", "read_graph"]

_log = logging.getLogger(__name__)


async def read_graph(
    credential: TokenCredential | AsyncTokenCredential,
    *,
    endpoint: str,
    scope: str,
    connection_verify: str | bool,
    max_retries: int | None,
    retry_delay: float | None,
) -> SectionReads:
    """Read the Graph sections; raise on a transient failure.

    ``max_retries`` / ``retry_delay`` set kiota's ``RetryHandlerOption`` (``None``: kiota's
    defaults, 3 retries and a 3 s base delay; a ``Retry-After`` is honoured either way).
    """
    import httpx

    with _sdk_deprecations_silenced():
        from kiota_abstractions.base_request_configuration import RequestConfiguration
        from kiota_authentication_azure.azure_identity_authentication_provider import (
            AzureIdentityAuthenticationProvider,
        )
        from kiota_http.middleware.options import RetryHandlerOption
        from msgraph.graph_request_adapter import GraphRequestAdapter
        from msgraph.graph_request_adapter import options as msgraph_options
        from msgraph.graph_service_client import GraphServiceClient
        from msgraph_core import GraphClientFactory

    options = dict(msgraph_options)
    if max_retries is not None or retry_delay is not None:
        options[RetryHandlerOption.get_key()] = RetryHandlerOption(
            delay=RetryHandlerOption.DEFAULT_DELAY if retry_delay is None else retry_delay,
            max_retries=RetryHandlerOption.DEFAULT_MAX_RETRIES
            if max_retries is None
            else min(max_retries, RetryHandlerOption.MAX_MAX_RETRIES),
        )

    http = httpx.AsyncClient(
        timeout=httpx.Timeout(100, connect=30), verify=_ssl_verify(connection_verify), http2=False
    )
    try:
        GraphClientFactory.create_with_default_middleware(client=http, options=options)
        adapter = GraphRequestAdapter(
            AzureIdentityAuthenticationProvider(credential, scopes=[scope]), client=http
        )
        adapter.base_url = endpoint
        with _sdk_deprecations_silenced():  # navigating imports the request builders
            client = GraphServiceClient(request_adapter=adapter)
            directory = client.role_management.directory
            assignments = directory.role_assignments
            expand_principal = RequestConfiguration(
                query_parameters=assignments.RoleAssignmentsRequestBuilderGetQueryParameters(
                    expand=["principal"]
                )
            )
            readers: dict[str, Callable[[], Awaitable[Any]]] = {
                "graph.conditionalAccessPolicies": _lister(
                    client.identity.conditional_access.policies, endpoint
                ),
                "graph.directoryRoleAssignments": _lister(assignments, endpoint, expand_principal),
                "graph.directoryRoleEligibilitySchedules": _lister(
                    directory.role_eligibility_schedules, endpoint
                ),
                "graph.directoryRoleDefinitions": _lister(directory.role_definitions, endpoint),
                "graph.securityDefaults": _getter(
                    client.policies.identity_security_defaults_enforcement_policy
                ),
                "graph.authenticationMethodsPolicy": _getter(
                    client.policies.authentication_methods_policy
                ),
            }
        reads = SectionReads()
        for section, read in readers.items():
            await _read_section(reads, section, read)
        return reads
    finally:
        await _aclose(http)


class _BadNextLinkError(Exception):
    """Graph answered a ``@odata.nextLink`` we will not follow (the token would go along)."""


def _lister(builder: Any, endpoint: str, config: Any = None) -> Callable[[], Awaitable[Any]]:
    async def list_all() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        seen: set[str] = set()
        page = await builder.get(request_configuration=config)
        while page is not None:
            items.extend(graph_json(model) for model in page.value or ())
            next_link = page.odata_next_link
            if not next_link:
                break
            if urlsplit(next_link).netloc != urlsplit(endpoint).netloc:
                raise _BadNextLinkError(f"@odata.nextLink leaves {urlsplit(endpoint).netloc}")
            if next_link in seen:
                raise _BadNextLinkError("@odata.nextLink repeats a page already read")
            seen.add(next_link)
            page = await builder.with_url(next_link).get()
        return items

    return list_all


def _getter(builder: Any) -> Callable[[], Awaitable[Any]]:
    async def get() -> dict[str, Any] | None:
        model = await builder.get()
        return None if model is None else graph_json(model)

    return get


async def _read_section(
    reads: SectionReads, section: str, read: Callable[[], Awaitable[Any]]
) -> None:
    import httpx
    from azure.core.exceptions import ClientAuthenticationError
    from kiota_abstractions.api_error import APIError

    try:
        value = await read()
    except APIError as exc:
        status = exc.response_status_code
        error = getattr(exc, "error", None)  # ODataError carries the Graph error body
        code = getattr(error, "code", None)
        message = getattr(error, "message", None) or exc.message
        if status is None:
            raise ReadError(f"{section}: Microsoft Graph call failed: {message}") from exc
        text = describe_failure(status, code, message)
        if is_transient(status):
            raise TransientReadError(f"{section}: {text} (after retries)") from exc
        _log.warning("cannot read %s: %s", section, text, extra={"section": section})
        reads.fail(section, text)
        return
    except _BadNextLinkError as exc:
        _log.warning("cannot read %s: %s", section, exc, extra={"section": section})
        reads.fail(section, str(exc))
        return
    except httpx.TransportError as exc:
        raise TransientReadError(
            f"{section}: no response from Microsoft Graph ({type(exc).__name__}, after retries)"
        ) from exc
    except ClientAuthenticationError as exc:
        first_line = (exc.message or "").strip().splitlines()[:1]
        raise ReadError(
            f"{section}: could not get an access token for Microsoft Graph: "
            f"{type(exc).__name__}: {' '.join(first_line)}"
        ) from exc
    if value is None:
        reads.fail(section, "Microsoft Graph answered with an empty body")
        return
    count = len(value) if isinstance(value, list) else 1
    _log.info("read %s: %d objects", section, count, extra={"section": section})
    reads.sections[section] = value


def graph_json(model: Any) -> dict[str, Any]:
    """A kiota model as Graph JSON (camelCase, ``@odata.type``; see the module notes)."""
    from kiota_serialization_json.json_serialization_writer import JsonSerializationWriter

    writer = JsonSerializationWriter()
    writer.write_object_value(None, model)
    value: dict[str, Any] = json.loads(writer.get_serialized_content())
    value.pop("@odata.context", None)
    return value


def _ssl_verify(connection_verify: str | bool) -> ssl.SSLContext | bool:
    if isinstance(connection_verify, str):  # a CA bundle; httpx wants it as an SSLContext
        return ssl.create_default_context(cafile=connection_verify)
    return connection_verify


async def _aclose(http: httpx.AsyncClient) -> None:
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
def _sdk_deprecations_silenced() -> Iterator[None]:
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
