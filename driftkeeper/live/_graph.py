"""The Graph sections of a live snapshot, read with msgraph-sdk (async, kiota).

Lists follow every ``@odata.nextLink``; the client, its retries and how a failed call is
judged are :mod:`._graph_client`'s. Each kiota model is written back to Graph JSON with kiota's
``JsonSerializationWriter``. What that changes against the wire:

- ``@odata.type`` is written for every object (Graph leaves it out for the base type);
- properties that were ``null`` are left out;
- timestamps come back as Python ``isoformat`` with at most 6 fraction digits
  (``2022-01-26T10:47:26.6044384Z`` becomes ``2022-01-26T10:47:26.604438+00:00``);
- unknown properties are kept (kiota's ``additional_data``); ``@odata.context`` (response
  metadata) is removed.
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

__all__ = ["graph_json", "read_graph"]

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
        page = await builder.get(request_configuration=config)
        while page is not None:
            items.extend(graph_json(model) for model in page.value or ())
            next_link = page.odata_next_link
            if not next_link:
                break
            if urlsplit(next_link).netloc != urlsplit(endpoint).netloc:
                raise BadNextLinkError(f"@odata.nextLink leaves {urlsplit(endpoint).netloc}")
            if next_link in seen:
                raise BadNextLinkError("@odata.nextLink repeats a page already read")
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


def graph_json(model: Any) -> dict[str, Any]:
    """A kiota model as Graph JSON (camelCase, ``@odata.type``; see the module notes)."""
    from kiota_serialization_json.json_serialization_writer import JsonSerializationWriter

    writer = JsonSerializationWriter()
    writer.write_object_value(None, model)
    value: dict[str, Any] = json.loads(writer.get_serialized_content())
    value.pop("@odata.context", None)
    return value
