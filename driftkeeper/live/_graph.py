"""The Graph sections of a live snapshot, read with msgraph-sdk (async, kiota).

Lists follow every ``@odata.nextLink``; the client, its retries and how a failed call is
judged are :mod:`._graph_client`'s. Requests are built by msgraph-sdk's request builders and
sent through its adapter (authentication, retries, error mapping), but bodies are kept as the
JSON Graph sent, objects exactly as Graph v1.0 returns them: a round trip through kiota's
models would drop what they cannot write back (multi-value enums such as
``guestOrExternalUserTypes`` or ``authenticationStrength.allowedCombinations``) and hide
drift. ``@odata.context`` (response metadata) is removed from single objects.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from ._failures import Refused, SectionReads
from ._graph_client import (
    BadNextLinkError,
    GraphSettings,
    aclose,
    call_graph,
    graph_client,
    graph_http,
    sdk_deprecations_silenced,
)

__all__ = ["read_graph"]

_log = logging.getLogger(__name__)


async def read_graph(settings: GraphSettings) -> SectionReads:
    """Read the Graph sections; raise on a transient failure."""
    with sdk_deprecations_silenced():
        from kiota_abstractions.base_request_configuration import RequestConfiguration

    endpoint = settings.endpoint
    http = graph_http(settings)
    try:
        client = graph_client(settings, http)
        with sdk_deprecations_silenced():  # navigating imports the request builders
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
        await aclose(http)


def _lister(builder: Any, endpoint: str, config: Any = None) -> Callable[[], Awaitable[Any]]:
    async def list_all() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        seen: set[str] = set()
        page = await _raw_get(builder, config)
        while page is not None:
            items.extend(v for v in page.get("value") or () if isinstance(v, dict))
            next_link = page.get("@odata.nextLink")
            if not next_link:
                break
            if urlsplit(next_link).netloc != urlsplit(endpoint).netloc:
                raise BadNextLinkError(f"@odata.nextLink leaves {urlsplit(endpoint).netloc}")
            if next_link in seen:
                raise BadNextLinkError("@odata.nextLink repeats a page already read")
            seen.add(next_link)
            page = await _raw_get(builder.with_url(next_link))
        return items

    return list_all


def _getter(builder: Any) -> Callable[[], Awaitable[Any]]:
    async def get() -> dict[str, Any] | None:
        value = await _raw_get(builder)
        if value is not None:
            value.pop("@odata.context", None)
        return value

    return get


async def _raw_get(builder: Any, config: Any = None) -> dict[str, Any] | None:
    """GET through the builder's request (auth, retries, middleware), the body kept as the
    JSON Graph sent: kiota's models drop what they cannot write back (multi-value enums
    such as ``guestOrExternalUserTypes``), which would hide drift."""
    with sdk_deprecations_silenced():
        from msgraph.generated.models.o_data_errors.o_data_error import ODataError

    request = builder.to_get_request_information(config)
    content = await builder.request_adapter.send_primitive_async(
        request, "bytes", {"XXX": ODataError}
    )
    if not content:
        return None
    value = json.loads(content)
    return value if isinstance(value, dict) else None


async def _read_section(
    reads: SectionReads, section: str, read: Callable[[], Awaitable[Any]]
) -> None:
    value = await call_graph(section, read)
    if isinstance(value, Refused):
        _log.warning("cannot read %s: %s", section, value.text, extra={"section": section})
        reads.fail(section, value.text)
        return
    if value is None:
        reads.fail(section, "Microsoft Graph answered with an empty body")
        return
    count = len(value) if isinstance(value, list) else 1
    _log.info("read %s: %d objects", section, count, extra={"section": section})
    reads.sections[section] = value
