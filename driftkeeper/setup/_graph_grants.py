"""Grant Microsoft Graph application permissions to driftkeeper's identity, through
msgraph-sdk (``driftkeeper setup graph-permissions``).

:func:`grant_graph_permissions` finds Microsoft Graph's service principal (appId
:data:`~driftkeeper.permissions.GRAPH_APP_ID`) and its application roles, finds the target
service principal (a managed identity's object id, or an app id), lists the app role
assignments it already holds, and creates the missing ones
(``POST /servicePrincipals/{id}/appRoleAssignments``). It is idempotent: what is held is
skipped, and Graph's "Permission being assigned already exists on the object" (a grant made
meanwhile) counts as held. A dry run reads and grants nothing. Nothing is ever removed:
permissions held beyond the mode's are reported (``extra``), not revoked.

Reads go through the session's client and its retry middleware (429/503/504 retried,
``Retry-After`` honoured). A failed read raises :class:`~driftkeeper.ReadError`, a refused
grant :class:`~driftkeeper.WriteRefusedError`, an unknown principal or permission
:class:`~driftkeeper.InputError`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from .._errors import (
    InputError,
    ReadError,
    TransientReadError,
    TransientWriteError,
    WriteRefusedError,
)
from ..permissions import GRAPH_APP_ID

if TYPE_CHECKING:
    from ..live._graph_client import GraphSession

__all__ = ["ALREADY_EXISTS", "GrantReport", "grant_graph_permissions"]

T = TypeVar("T")

ALREADY_EXISTS = "permission being assigned already exists on the object"
"""What Graph says (casefolded) when the app role assignment being created already exists."""


@dataclass(frozen=True)
class GrantReport:
    """What :func:`grant_graph_permissions` found and did."""

    principal_id: str
    """The target service principal's object id."""
    principal_name: str
    wanted: tuple[str, ...]
    granted: tuple[str, ...]
    """Granted by this run (would be granted, on a dry run)."""
    held: tuple[str, ...]
    """Already held (skipped)."""
    extra: tuple[str, ...]
    """Graph permissions held beyond ``wanted`` (reported, never removed)."""
    dry_run: bool

    def lines(self) -> list[str]:
        """The report, for people."""
        verb = "would grant" if self.dry_run else "granted"
        who = f"{self.principal_name} ({self.principal_id})"
        out = [f"{verb}: {p}" for p in self.granted]
        out += [f"already held: {p}" for p in self.held]
        out += [f"held beyond this mode (not removed): {p}" for p in self.extra]
        out.append(
            f"{who}: {verb} {len(self.granted)}, already held {len(self.held)} "
            f"of {len(self.wanted)} Microsoft Graph application permission(s)"
        )
        return out


def grant_graph_permissions(
    session: GraphSession, principal: str, permissions: Sequence[str], *, dry_run: bool = False
) -> GrantReport:
    """Grant ``permissions`` (Graph application permission names) to ``principal`` (a
    service principal's object id or an app id): see the module notes."""
    try:
        wanted_id = str(uuid.UUID(principal.strip()))
    except ValueError:
        raise InputError(
            f"--principal is not an object id or app id (a GUID): {principal!r}"
        ) from None
    _import_builders()
    return session.run(_grant(session.client, wanted_id, tuple(permissions), dry_run))


def _import_builders() -> None:
    """Import the request builders and models used here, before the loop runs: their
    modules warn at import time (see ``sdk_deprecations_silenced``)."""
    import importlib

    from ..live._graph_client import sdk_deprecations_silenced

    with sdk_deprecations_silenced():
        for name in (
            "service_principals.service_principals_request_builder",
            "service_principals.item.service_principal_item_request_builder",
            "service_principals.item.app_role_assignments.app_role_assignments_request_builder",
            "models.app_role_assignment",
            "models.app_role_assignment_collection_response",
            "models.service_principal",
            "models.service_principal_collection_response",
        ):
            importlib.import_module(f"msgraph.generated.{name}")


async def _grant(
    client: Any, principal: str, wanted: tuple[str, ...], dry_run: bool
) -> GrantReport:
    graph = await _one_by_app_id(client, GRAPH_APP_ID)
    if graph is None:
        raise ReadError(
            f"the Microsoft Graph service principal (appId {GRAPH_APP_ID}) is not found"
        )
    roles: dict[str, Any] = {}
    for role in graph.app_roles or []:
        if (
            role.value
            and role.is_enabled is not False
            and "Application" in (role.allowed_member_types or [])
        ):
            roles[role.value] = role.id
    unknown = sorted(p for p in wanted if p not in roles)
    if unknown:
        raise InputError(f"Microsoft Graph has no application permission {', '.join(unknown)}")
    target = await _one_by_app_id(client, principal) or await _by_object_id(client, principal)
    if target is None:
        raise InputError(
            f"no service principal with object id or app id {principal} in this tenant "
            "(a managed identity's principal id, or an app registration's app id)"
        )
    target_id = str(target.id)
    names = {str(v): k for k, v in roles.items()}
    held_ids = {
        str(a.app_role_id)
        for a in await _assignments(client, target_id)
        if str(a.resource_id).casefold() == str(graph.id).casefold()
    }
    held = tuple(p for p in sorted(wanted) if str(roles[p]) in held_ids)
    extra = tuple(sorted(names[i] for i in held_ids if i in names and names[i] not in wanted))
    missing = [p for p in sorted(wanted) if p not in held]
    granted: list[str] = []
    if not dry_run:
        for permission in missing:
            if await _assign(client, target_id, str(graph.id), roles[permission], permission):
                granted.append(permission)
            else:
                held += (permission,)
    else:
        granted = missing
    return GrantReport(
        target_id,
        str(target.display_name or ""),
        tuple(sorted(wanted)),
        tuple(granted),
        tuple(sorted(held)),
        extra,
        dry_run,
    )


# -- Graph calls ---------------------------------------------------------------------------
async def _one_by_app_id(client: Any, app_id: str) -> Any:
    from ..live._graph_client import sdk_deprecations_silenced

    with sdk_deprecations_silenced():
        from kiota_abstractions.base_request_configuration import RequestConfiguration
        from msgraph.generated.service_principals.service_principals_request_builder import (
            ServicePrincipalsRequestBuilder,
        )

    query = ServicePrincipalsRequestBuilder.ServicePrincipalsRequestBuilderGetQueryParameters(
        filter=f"appId eq '{app_id}'",  # a GUID, validated
        select=["id", "appId", "displayName", "appRoles"],
    )
    config = RequestConfiguration(query_parameters=query)
    page = await _read(
        f"GET /servicePrincipals?$filter=appId eq '{app_id}'",
        lambda: client.service_principals.get(request_configuration=config),
    )
    found = list(page.value or []) if page is not None else []
    return found[0] if found else None


async def _by_object_id(client: Any, object_id: str) -> Any:
    return await _read(
        f"GET /servicePrincipals/{object_id}",
        lambda: client.service_principals.by_service_principal_id(object_id).get(),
        missing_ok=True,
    )


async def _assignments(client: Any, principal_id: str) -> list[Any]:
    """Every app role assignment the principal holds (every page)."""
    from ..live._graph_client import check_next_link

    path = f"/servicePrincipals/{principal_id}/appRoleAssignments"
    builder = client.service_principals.by_service_principal_id(principal_id).app_role_assignments
    first = client.request_adapter.base_url.rstrip("/") + path
    page = await _read(f"GET {path}", builder.get)
    items: list[Any] = []
    seen: set[str] = set()
    while page is not None:
        items.extend(page.value or [])
        next_link = page.odata_next_link
        if not next_link:
            break
        check_next_link(next_link, first, seen)
        page = await _read(f"GET {path}", builder.with_url(next_link).get)
    return items


async def _assign(
    client: Any, principal_id: str, resource_id: str, role_id: Any, permission: str
) -> bool:
    """Create one app role assignment; False when Graph says it already exists."""
    from kiota_abstractions.api_error import APIError

    from ..live._graph_client import sdk_deprecations_silenced

    with sdk_deprecations_silenced():
        from msgraph.generated.models.app_role_assignment import AppRoleAssignment

    body = AppRoleAssignment(
        principal_id=uuid.UUID(principal_id),
        resource_id=uuid.UUID(resource_id),
        app_role_id=uuid.UUID(str(role_id)),
    )
    builder = client.service_principals.by_service_principal_id(principal_id).app_role_assignments
    try:
        await builder.post(body)
    except APIError as exc:
        status, code, message = _error(exc)
        if status in (400, 409) and ALREADY_EXISTS in (message or "").casefold():
            return False
        text = _describe(status, code, message)
        error = TransientWriteError if status in (429, 503) else WriteRefusedError
        raise error(
            f"granting {permission}: {text}",
            method="POST",
            url=f"/servicePrincipals/{principal_id}/appRoleAssignments",
            status=status,
            attempts=1,
            code=code,
        ) from exc
    return True


async def _read(
    where: str, call: Callable[[], Awaitable[T]], *, missing_ok: bool = False
) -> T | None:
    import httpx
    from azure.core.exceptions import ClientAuthenticationError
    from kiota_abstractions.api_error import APIError

    from ..live._failures import is_transient

    try:
        return await call()
    except APIError as exc:
        status, code, message = _error(exc)
        if missing_ok and status == 404:
            return None
        text = f"{where}: {_describe(status, code, message)}"
        if is_transient(status):
            raise TransientReadError(f"{text} (after retries)") from exc
        raise ReadError(text) from exc
    except httpx.TransportError as exc:
        raise TransientReadError(
            f"{where}: no response from Microsoft Graph ({type(exc).__name__}, after retries)"
        ) from exc
    except ClientAuthenticationError as exc:
        raise ReadError(
            f"{where}: could not get an access token for Microsoft Graph ({type(exc).__name__})"
        ) from exc


def _error(exc: Any) -> tuple[int, str | None, str | None]:
    error = getattr(exc, "error", None)
    return (
        int(exc.response_status_code or 0),
        getattr(error, "code", None),
        getattr(error, "message", None) or getattr(exc, "message", None),
    )


def _describe(status: int, code: str | None, message: str | None) -> str:
    from ..live._failures import describe_failure

    return describe_failure(status, code, message)
