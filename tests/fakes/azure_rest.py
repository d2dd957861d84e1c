"""Local stand-ins for Azure Resource Manager and Microsoft Graph v1.0.

:class:`AzureRestServer` runs two ``ThreadingHTTPServer`` instances on 127.0.0.1:

- **ARM over TLS** with a certificate made by :func:`make_tls_files` (azure-core refuses to
  send a bearer token over plain http). Point the readers at
  ``arm_endpoint=server.arm_endpoint`` with ``connection_verify=str(server.ca_file)``.
- **Graph over plain http** (kiota exempts localhost from its https rule). Point msgraph-sdk at
  ``server.graph_endpoint`` (it ends in ``/v1.0``).

What it serves is derived from the kinds' declarations (``Kind.reads``): every ARM section's
provider path, every Graph section's path. A new kind's section is served with no change here.

What it follows of the REST contracts:

- ``data`` maps snapshot section names (``"arm.roleAssignments"``, ``"graph.securityDefaults"``
  ...) to the objects to serve: a list for list sections (a raw ``{"value": [...]}`` response
  is accepted too), an object for Graph object sections. A list section that is not in
  ``data`` is served as an empty list; an object section that is not there as a bare object
  (``{"id": "<last path segment>"}``: Graph's tenant-wide singletons always exist), and one
  whose value is not an object answers 404.
- ARM lists are filtered by subscription: an item is listed under ``/subscriptions/{sub}/...``
  when its id starts with ``/subscriptions/{sub}/``, or when its id is not under any
  subscription (management-group or root scope, i.e. inherited). A subscription that owns no
  item (and is not in ``subscriptions``) answers 404 ``SubscriptionNotFound``, a resource group
  that holds no item 404 ``ResourceGroupNotFound``. Any ARM item, and any NSG's (default)
  security rule, can also be read by its id (404 ``ResourceNotFound`` when there is none).
- Scoped (extension) types such as role assignments are listed at any scope
  (``{scope}/providers/<type>``: root, management group, subscription, resource group,
  resource) as ARM does: those at, above and below the scope, judged by
  ``properties.scope``; a management group is above the subscriptions
  :attr:`AzureRestServer.hierarchy` puts below it (without a hierarchy, above every
  subscription), the root (``/``) above all. ``$filter=atScope()`` keeps those at or above
  the scope, ``$filter=principalId eq '{id}'`` one principal's; any other ``$filter``
  answers 400.
- Graph lists take ``$filter`` clauses ``<property> eq '<value>'`` joined by `` and ``
  (compared case-insensitively, the form Graph accepts for ids); any other ``$filter`` answers
  400 ``BadRequest``. Any Graph list item can be read by its id (``.../policies/{id}``).
- Lists are paged with ``page_size`` items per page: ARM answers ``nextLink``, Graph
  ``@odata.nextLink``; both are absolute URLs carrying a ``$skiptoken`` and the original query.
- A Graph section's declared ``expand`` properties (a directory role assignment's
  ``principal``) are left out unless the request asks for them with ``$expand``, as Graph does.
- ``/auditLogs/directoryAudits`` serves ``data["graph.directoryAudits"]`` (directoryAudit
  records). Its ``$filter`` is clauses joined by `` and ``: ``activityDateTime ge|gt|le|lt
  <ISO timestamp with Z or offset>``, ``<property> eq '<value>'``, or a parenthesized
  ``<property> eq '<a>' or <property> eq '<b>' ...``; ``$orderby`` is ``activityDateTime``
  with ``asc`` (the default) or ``desc``; without it the records come in the order of
  ``data``. Anything else answers 400 ``BadRequest``. A record can be read by its id.
- Every request needs ``Authorization: Bearer ...`` (401 otherwise); every ARM request needs
  ``api-version`` (400 ``MissingApiVersionParameter`` otherwise). Errors have the ARM body
  (``{"error": {"code", "message"}}``) or the Graph one (plus ``innerError``).
- :meth:`AzureRestServer.fail` answers the next N requests of a path (any method, or one;
  a path ending in ``*`` is a prefix) with a chosen status (429 with ``Retry-After: 1`` by
  default, or 503, 403, 404 ...), before the request is acted on.
- **Azure Resource Graph** (on the ARM server): ``POST
  /providers/Microsoft.ResourceGraph/resources?api-version=...`` with ``{"subscriptions" |
  "managementGroups": [...], "query", "options": {"$top", "$skipToken", "resultFormat"}}``.
  The query is the form driftkeeper sends (``<resources|authorizationresources> | where type
  =~ '<type>' [| where isempty(subscriptionId)] | project <columns> [| order by id asc]``,
  or ``resourcecontainers | where type =~ 'microsoft.resources/subscriptions' | project
  <columns> | order by id asc``); another answers 400 ``InvalidQuery``, the wrong table for
  a type too. Rows are the ARM items of the section whose resource type it is, as Resource
  Graph shows them: ``type`` lower-case, every projected column present (``null`` when the
  item has none); ``resourcecontainers`` has a row per known subscription (``id``,
  ``name``, ``type``, ``subscriptionId``, ``properties.managementGroupAncestorsChain``:
  ``{"name", "displayName"}`` from its parent to the tenant root group, from
  :attr:`AzureRestServer.hierarchy`; a subscription the hierarchy does not name has no row,
  as one Resource Graph does not see). Scope: with ``subscriptions`` (at most 1,000, else
  400) the rows under those subscriptions; with ``managementGroups`` those under a
  subscription below one of the groups, or at one of them or a group below it (without a
  hierarchy: every row); with neither (the tenant) every row.
  Answer: ``{"totalRecords", "count", "data", "facets", "resultTruncated": "false"}`` plus
  an opaque ``$skipToken`` while rows remain; ``$top`` 1-1000 (else 400), pages of at most
  :attr:`AzureRestServer.graph_page_size`. Every answer carries
  ``x-ms-user-quota-remaining`` / ``x-ms-user-quota-resets-after`` from a budget of
  :attr:`AzureRestServer.graph_quota` requests per :attr:`AzureRestServer.graph_quota_window`
  seconds; a request made when it shows 0 starts a new window (the stand-in trusts the
  client waited) unless :attr:`AzureRestServer.graph_enforce_quota`, when it answers 429 with
  ``Retry-After``. :meth:`AzureRestServer.fail` works on ``/providers/Microsoft.ResourceGraph/
  resources`` like on any path (a scripted 429).
- Every request is recorded (:class:`RecordedRequest`): method, path, query, whether a
  bearer token was present, the client request id and the JSON body. The token itself is
  neither recorded nor logged.

Writes (the tenant is in memory, in ``data``; a write changes exactly what reads return):

- ARM: PUT and DELETE of an item of a type listed below any scope
  (``{scope}/providers/Microsoft.Authorization/roleAssignments/{name}``: 201 / 200; a second
  item for the same ``principalId``, ``roleDefinitionId`` and scope is 409
  ``RoleAssignmentExists``, changing who or what an existing one grants 409
  ``RoleAssignmentUpdateNotPermitted``); PUT and DELETE of a child kept in a list of its
  parent's ``properties`` (``.../networkSecurityGroups/{nsg}/securityRules/{rule}``); PUT,
  PATCH and DELETE of an item read by its declared ``get_path``. Those last two are
  long-running as :attr:`AzureRestServer.lro` says: by default a PUT answers 201 (200 when it
  replaced) and a DELETE 202, with ``Azure-AsyncOperation`` (a DELETE also ``Location``) and
  ``Retry-After: 0``, and the operation status reports ``InProgress`` once, then
  ``Succeeded``. The change is made when the write is accepted.
- Graph: POST to a collection (201, with a new ``id`` unless given), PATCH (top-level
  properties merged, each given one replaced whole; 204) and DELETE (204) of an item,
  PATCH of an object section and of an item in one of its list properties
  (``/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{id}``), and
  POST to a schedule collection's request collection
  (``.../roleEligibilitySchedules`` -> ``.../roleEligibilityScheduleRequests``) with
  ``action`` ``adminAssign`` (400 ``RoleAssignmentExists`` when it exists) or ``adminRemove``
  (400 ``RoleAssignmentDoesNotExist`` when it does not).
- A DELETE of something absent answers :attr:`AzureRestServer.delete_missing` (404 by
  default, with an error code, so the writer's "already gone" is exercised; ARM's 204 too).
- Each successful write emits what Azure would (:mod:`tests.fakes.azure_events`): an ARM
  write the Event Grid event of its subscription's system topic, a Graph write an Entra
  ``directoryAudit`` record, also served by ``/auditLogs/directoryAudits``; both name the
  caller (from a JWT-shaped token's claims, else :attr:`AzureRestServer.writer`) and the
  client request id sent. :meth:`AzureRestServer.emitted_events` lists them.
  :meth:`AzureRestServer.apply` makes a change directly, as someone in the portal would
  (another actor), with its event.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import operator
import re
import ssl
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from driftkeeper.kinds import PathTemplate, Section

from .azure_events import (
    ATTACKER,
    DEFAULT_WRITER,
    Caller,
    audit_record,
    caller_from_token,
    resource_event,
)
from .local_server import LocalHttpServer

__all__ = [
    "ARM_LIST_PATHS",
    "GRAPH_AUDIT_PATH",
    "GRAPH_LIST_PATHS",
    "GRAPH_OBJECT_PATHS",
    "AzureRestServer",
    "Lro",
    "RecordedRequest",
    "TlsFiles",
    "directory_audit",
    "make_tls_files",
]

Service = Literal["arm", "graph"]


def _declared() -> dict[str, Section]:
    from driftkeeper.snapshot import declared_sections

    return declared_sections()


# What the stand-in serves comes from the kinds' declarations (``Kind.reads``).
ARM_LIST_PATHS: Mapping[str, str] = {
    s.provider_path.lower(): s.name for s in _declared().values() if s.api == "arm"
}
"""ARM provider paths under /subscriptions/{sub} (or any scope, for scoped types) -> section."""
SCOPED_LISTINGS: Mapping[str, str] = {
    s.provider_path.lower(): s.name for s in _declared().values() if s.api == "arm" and s.scoped
}
"""Extension types listed below any scope (role assignments) -> section."""
GRAPH_LIST_PATHS: Mapping[str, tuple[str, str]] = {
    s.path.lower(): (s.name, s.path.lstrip("/"))
    for s in _declared().values()
    if s.api == "graph" and s.shape == "list"
}
"""Graph collections (below /v1.0) -> (section, @odata.context fragment)."""
GRAPH_OBJECT_PATHS: Mapping[str, tuple[str, str]] = {
    s.path.lower(): (s.name, s.path.lstrip("/") + "/$entity")
    for s in _declared().values()
    if s.api == "graph" and s.shape == "object"
}
"""Graph objects (below /v1.0) -> (section, @odata.context fragment)."""
_EXPANDED: Mapping[str, tuple[str, ...]] = {
    s.name: s.expand for s in _declared().values() if s.api == "graph" and s.expand
}
"""Navigation properties served only when ``$expand`` asks for them, by section."""
ARM_ITEM_PATHS: tuple[tuple[PathTemplate, str], ...] = tuple(
    (s.get_template, s.name)
    for s in _declared().values()
    if s.api == "arm" and s.get_template is not None
)
"""ARM items read (and written) one by one by their declared path -> section."""
_SECTION_PATHS: Mapping[str, str] = {
    s.name: s.path for s in _declared().values() if s.api == "graph"
}
"""Graph section -> its declared path (as spelled: audit records name it in words)."""
_RESOURCE_TYPES: Mapping[str, str] = {
    s.name: s.resource_type for s in _declared().values() if s.api == "arm"
}
SCHEDULE_REQUESTS: Mapping[str, str] = {
    path[:-1] + "requests": section
    for path, (section, _) in GRAPH_LIST_PATHS.items()
    if path.endswith("schedules")
}
"""Graph schedule-request collections (``.../roleEligibilityScheduleRequests``) -> the
section of the schedules they change (Graph's naming convention)."""


def _audit_categories() -> dict[str, str]:
    from driftkeeper.kinds import all_kinds

    found: dict[str, str] = {}
    for kind in all_kinds().values():
        for section in kind.reads:
            if kind.signals.audit_categories:
                found.setdefault(section.name, kind.signals.audit_categories[0])
    return found


_AUDIT_CATEGORY: Mapping[str, str] = _audit_categories()
"""The audit category of a Graph section's changes: the first its reading kind declares."""
# Graph directoryAudit records: served with their own $filter / $orderby grammar.
GRAPH_AUDIT_PATH = "/auditlogs/directoryaudits"
_AUDIT_SECTION = "graph.directoryAudits"
_AUDIT_CONTEXT = "auditLogs/directoryAudits"
_GRAPH_VERSION = "/v1.0"

_ARM_CODES = {
    400: "BadRequest",
    401: "AuthenticationFailed",
    403: "AuthorizationFailed",
    404: "ResourceNotFound",
    405: "MethodNotAllowed",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}
_GRAPH_CODES = {
    **_ARM_CODES,
    401: "InvalidAuthenticationToken",
    403: "Authorization_RequestDenied",
    404: "Request_ResourceNotFound",
    503: "serviceNotAvailable",
}
_MESSAGES = {
    400: "The request is invalid.",
    401: "Access token is empty.",
    403: "Insufficient privileges to complete the operation.",
    404: "The requested resource was not found.",
    405: "The HTTP method is not supported by this stand-in.",
    429: "Too many requests. Please retry after the time in the Retry-After header.",
    500: "An internal error occurred.",
    503: "The service is temporarily unavailable. Please retry later.",
}


# --- TLS -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class TlsFiles:
    """A throwaway CA and a server certificate for 127.0.0.1 / localhost signed by it."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        """A server-side TLS context with the certificate and its key."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_tls_files(directory: Path) -> TlsFiles:
    """Write ``ca.pem``, ``server.pem`` and ``server-key.pem`` into ``directory``."""
    now = dt.datetime.now(dt.UTC)
    valid = (now - dt.timedelta(minutes=5), now + dt.timedelta(days=2))

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "driftkeeper test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid[0])
        .not_valid_after(valid[1])
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid[0])
        .not_valid_after(valid[1])
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )

    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server-key.pem")
    files.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


# --- sample data -------------------------------------------------------------------------------
def directory_audit(
    ident: str,
    when: str,
    *,
    category: str,
    activity: str,
    target: Mapping[str, Any],
    service: str = "Core Directory",
    operation: str = "Update",
    upn: str = "mallory@contoso.example",
    user_id: str = "4b3a2918-0706-4f5e-9d4c-3b2a19081706",
) -> dict[str, Any]:
    """A Graph v1.0 ``directoryAudit`` record initiated by a user, with one target resource
    (``{"id", "displayName", "type", "modifiedProperties": [...]}``)."""
    return {
        "id": ident,
        "category": category,
        "correlationId": str(uuid.uuid5(uuid.NAMESPACE_URL, ident)),
        "result": "success",
        "resultReason": "",
        "activityDisplayName": activity,
        "activityDateTime": when,
        "loggedByService": service,
        "operationType": operation,
        "initiatedBy": {
            "user": {
                "id": user_id,
                "displayName": upn.partition("@")[0].title(),
                "userPrincipalName": upn,
                "ipAddress": "203.0.113.45",
            },
            "app": None,
        },
        "targetResources": [dict(target)],
        "additionalDetails": [],
    }


# --- request log and scripted failures --------------------------------------------------------
@dataclass(frozen=True)
class RecordedRequest:
    """One request as the stand-in saw it (the token itself is not kept)."""

    service: Service
    method: str
    path: str
    """Relative to the service root: ARM ``/subscriptions/...``, Graph without ``/v1.0``."""
    query: Mapping[str, list[str]]
    bearer: bool
    """Whether an ``Authorization: Bearer <non-empty>`` header was present."""
    status: int = 0
    """The status the stand-in answered with."""
    client_request_id: str = ""
    """``x-ms-client-request-id`` (ARM) or ``client-request-id`` (Graph), as sent."""
    body: Any = None
    """The JSON body sent with a write (None without one)."""

    @property
    def skiptoken(self) -> str | None:
        values = self.query.get("$skiptoken")
        return values[0] if values else None


@dataclass
class _Failure:
    status: int
    remaining: int | None
    retry_after: int | None
    code: str | None
    message: str | None


@dataclass(frozen=True)
class Lro:
    """How the stand-in answers a long-running ARM write (see the module notes).

    ``style``: ``"azure-async-operation"`` (the header, and ``Location`` too on a DELETE),
    ``"location"`` (202 with ``Location`` only; its poll answers 202 until done, then 204)
    or ``"none"`` (answered synchronously: 200 / 201). ``in_progress``: how many polls say
    it is still running; ``final``: how it ends (``Succeeded``, ``Failed``, ``Canceled``;
    then ``error`` is its error code); ``retry_after``: the ``Retry-After`` of the write and
    of each poll (None: no header).
    """

    style: Literal["azure-async-operation", "location", "none"] = "azure-async-operation"
    in_progress: int = 1
    final: str = "Succeeded"
    retry_after: int | None = 0
    error: str = "InternalOperationError"


@dataclass
class _Operation:
    remaining: int
    final: str
    error: str
    retry_after: int | None


@dataclass
class _Write:
    """Who is writing, and what was emitted for it."""

    caller: Caller
    client_request_id: str
    correlation_id: str
    url: str
    lro: bool = True
    api_version: str = ""
    emitted: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


# --- service principals and app role assignments (driftkeeper setup graph-permissions) ------
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
_SP_PATH = re.compile(
    r"/serviceprincipals(?:/(?P<id>[^/]+)(?:/(?P<rel>approleassignments|approleassignedto))?)?",
    re.IGNORECASE,
)
_SP_FILTER = re.compile(r"(?P<prop>appId|id) eq '(?P<value>[^']*)'", re.IGNORECASE)


def app_role(
    permission: str, *, member_types: tuple[str, ...] = ("Application",)
) -> dict[str, Any]:
    """An ``appRole`` of Microsoft Graph's service principal (its id a UUID 5 of the name)."""
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"graph-app-role:{permission}")),
        "value": permission,
        "displayName": permission,
        "description": f"{permission} (stand-in)",
        "allowedMemberTypes": list(member_types),
        "isEnabled": True,
        "origin": "Application",
    }


class _ServicePrincipals:
    """Graph's ``/servicePrincipals`` (look-up by id or ``$filter=appId eq '...'``) and its
    ``appRoleAssignments`` / ``appRoleAssignedTo`` (listed, paged, created), kept apart from
    the kinds' sections. Creating an assignment that exists answers 400
    ``Request_BadRequest`` "Permission being assigned already exists on the object", an
    unknown app role 400, an unknown service principal 404, as Graph does."""

    graph_endpoint: str
    page_size: int

    def _sp_store(self) -> dict[str, Any]:
        store: dict[str, Any] = self.__dict__.setdefault(
            "_sp_state", {"principals": [], "assignments": [], "lock": threading.Lock()}
        )
        return store

    def add_service_principal(
        self,
        display_name: str,
        *,
        app_id: str | None = None,
        object_id: str | None = None,
        app_roles: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Add a service principal (a managed identity's, an app's, or Microsoft Graph's with
        ``app_roles``); returns it."""
        item = {
            "id": object_id or str(uuid.uuid4()),
            "appId": app_id or str(uuid.uuid4()),
            "displayName": display_name,
            "servicePrincipalType": "ManagedIdentity" if app_roles is None else "Application",
            "appRoles": list(app_roles or []),
        }
        with self._sp_store()["lock"]:
            self._sp_store()["principals"].append(item)
        return item

    def app_role_assignments(self, principal_id: str | None = None) -> list[dict[str, Any]]:
        """The app role assignments held (by ``principal_id``, or all)."""
        with self._sp_store()["lock"]:
            found = list(self._sp_store()["assignments"])
        return [a for a in found if principal_id in (None, a["principalId"])]

    def _service_principal(self, ident: str) -> dict[str, Any] | None:
        return next(
            (p for p in self._sp_store()["principals"] if p["id"].lower() == ident.lower()), None
        )

    def _service_principals_answer(
        self, method: str, path: str, query: dict[str, list[str]], document: Any
    ) -> _Answer | None:
        found = _SP_PATH.fullmatch(path.rstrip("/"))
        if found is None:
            return None
        ident, rel = found["id"], (found["rel"] or "").lower()
        store = self._sp_store()
        with store["lock"]:
            if ident is None:
                if method != "GET":
                    return _graph_error(405, None, None)
                return self._sp_list(query)
            owner = self._service_principal(ident)
            if owner is None:
                return _graph_error(
                    404,
                    "Request_ResourceNotFound",
                    f"Resource '{ident}' does not exist or one of its queried reference-property "
                    "objects are not present.",
                )
            if not rel:
                if method != "GET":
                    return _graph_error(405, None, None)
                return _Answer(
                    200, {"@odata.context": self._sp_context("servicePrincipals/$entity"), **owner}
                )
            key = "principalId" if rel == "approleassignments" else "resourceId"
            if method == "GET":
                items = [a for a in store["assignments"] if a[key] == owner["id"]]
                return self._sp_page(path, query, items)
            if method != "POST":
                return _graph_error(405, None, None)
            return self._sp_assign(owner, key, document)

    def _sp_context(self, fragment: str) -> str:
        return f"{self.graph_endpoint}/$metadata#{fragment}"

    def _sp_list(self, query: dict[str, list[str]]) -> _Answer:
        items = list(self._sp_store()["principals"])
        for text in query.get("$filter", []):
            clause = _SP_FILTER.fullmatch(text.strip())
            if clause is None:
                return _graph_error(400, "Request_UnsupportedQuery", "Unsupported query.")
            prop = "appId" if clause["prop"].lower() == "appid" else "id"
            items = [p for p in items if p[prop].lower() == clause["value"].lower()]
        selected = [s for v in query.get("$select", []) for s in v.split(",") if s]
        if selected:
            items = [{k: v for k, v in p.items() if k in selected} for p in items]
        return _Answer(
            200, {"@odata.context": self._sp_context("servicePrincipals"), "value": items}
        )

    def _sp_page(
        self, path: str, query: dict[str, list[str]], items: list[dict[str, Any]]
    ) -> _Answer:
        start = int((query.get("$skiptoken") or ["0"])[0] or 0)
        body: dict[str, Any] = {
            "@odata.context": self._sp_context("appRoleAssignments"),
            "value": items[start : start + self.page_size],
        }
        if start + self.page_size < len(items):
            skip = urlencode({"$skiptoken": start + self.page_size})
            body["@odata.nextLink"] = f"{self.graph_endpoint}{path}?{skip}"
        return _Answer(200, body)

    def _sp_assign(self, owner: dict[str, Any], key: str, document: Any) -> _Answer:
        body = document if isinstance(document, dict) else {}
        wanted = {
            k: str(body.get(k) or "").lower() for k in ("principalId", "resourceId", "appRoleId")
        }
        if wanted[key] != owner["id"].lower():
            return _graph_error(400, "Request_BadRequest", f"{key} must be {owner['id']}.")
        principal = self._service_principal(wanted["principalId"])
        resource = self._service_principal(wanted["resourceId"])
        if principal is None or resource is None:
            return _graph_error(400, "Request_BadRequest", "Invalid principal or resource.")
        if not any(r["id"].lower() == wanted["appRoleId"] for r in resource["appRoles"]):
            return _graph_error(
                400, "Request_BadRequest", "Permission being assigned was not found on application"
            )
        store = self._sp_store()
        for held in store["assignments"]:
            if all(held[k].lower() == wanted[k] for k in wanted):
                return _graph_error(
                    400,
                    "Request_BadRequest",
                    "Permission being assigned already exists on the object",
                )
        created = {
            "id": uuid.uuid4().hex,
            "deletedDateTime": None,
            "appRoleId": wanted["appRoleId"],
            "createdDateTime": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "principalDisplayName": principal["displayName"],
            "principalId": principal["id"],
            "principalType": "ServicePrincipal",
            "resourceDisplayName": resource["displayName"],
            "resourceId": resource["id"],
        }
        store["assignments"] = [*store["assignments"], created]
        return _Answer(
            201, {"@odata.context": self._sp_context("appRoleAssignments/$entity"), **created}
        )


# --- the server ------------------------------------------------------------------------------
class AzureRestServer(_ServicePrincipals):
    """ARM (TLS) and Graph (http) stand-ins on 127.0.0.1; use as a context manager."""

    def __init__(
        self,
        tls: TlsFiles,
        *,
        data: Mapping[str, Any] | None = None,
        page_size: int = 100,
        subscriptions: set[str] | None = None,
        writer: Caller = DEFAULT_WRITER,
        lro: Lro | None = None,
        delete_missing: int = 404,
    ) -> None:
        self.tls = tls
        self.data: dict[str, Any] = dict(data or {})
        self.page_size = page_size
        self.subscriptions = subscriptions
        self.writer = writer
        """Who writes when the bearer token carries no claims."""
        self.lro = lro or Lro()
        self.delete_missing = delete_missing
        """What a DELETE of something absent answers: 404 (with an error code) or 204."""
        self.requests: list[RecordedRequest] = []
        self._failures: dict[tuple[str, str], _Failure] = {}
        self._operations: dict[str, _Operation] = {}
        self._emitted: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._tenant = threading.RLock()
        self._servers: list[_Server] = []
        self.graph_page_size = 1000
        """Resource Graph rows per page at most (the client's ``$top`` may ask fewer)."""
        self.graph_quota = 15
        """Resource Graph requests per window (Azure's default: 15 per 5 seconds)."""
        self.graph_quota_window = 5
        self.graph_enforce_quota = False
        self._graph_used = 0
        self.hierarchy: dict[str, str] | None = None
        """The management group each subscription id and management group name is in (its
        parent; the tenant root group is in none), or None: every management group is
        above every subscription (see the module notes)."""
        self.arm_endpoint = ""
        self.graph_endpoint = ""

    # -- lifecycle --
    def start(self) -> AzureRestServer:
        arm = _Server(self, "arm", self.tls.server_context())
        graph = _Server(self, "graph")
        self._servers = [arm, graph]
        self.arm_endpoint = arm.url
        self.graph_endpoint = f"{graph.url}{_GRAPH_VERSION}"
        for server in self._servers:
            server.start()
        return self

    def close(self) -> None:
        for server in self._servers:
            server.stop()
        self._servers = []

    def live_clients(self, credential: Any) -> Any:
        """driftkeeper's ARM client and Graph session pointed at this stand-in (its CA
        trusted, one SDK retry without delay); the caller closes them."""
        from driftkeeper.live import LiveClients

        return LiveClients(
            credential,
            arm_endpoint=self.arm_endpoint,
            graph_endpoint=self.graph_endpoint,
            connection_verify=str(self.ca_file),
            max_retries=1,
            retry_delay=0,
        )

    def __enter__(self) -> AzureRestServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def ca_file(self) -> Path:
        return self.tls.ca_file

    # -- test controls --
    def fail(
        self,
        path: str,
        status: int = 429,
        *,
        times: int | None = 1,
        retry_after: int | None = 1,
        code: str | None = None,
        message: str | None = None,
        method: str | None = None,
    ) -> None:
        """Answer the next ``times`` requests of ``path`` (``None``: all) with ``status``.

        ``path`` is relative to the service root (ARM ``/subscriptions/...``, Graph
        ``/identity/...``), matched case-insensitively and whatever the query; ending in
        ``*``, it is a prefix (``.../locations/*``: every operation status poll).
        ``method`` (``"PUT"``) limits it to one method; ``None``: any. ``retry_after``
        (seconds) is sent as ``Retry-After`` when not ``None``. A failed write is not made.
        """
        key = ((method or "*").upper(), path.lower().rstrip("/"))
        with self._lock:
            self._failures[key] = _Failure(status, times, retry_after, code, message)

    def emitted_events(
        self, kind: Literal["eventgrid", "audit"] | None = None
    ) -> list[dict[str, Any]]:
        """What the writes so far emitted, oldest first: Event Grid events (``"eventgrid"``,
        ARM writes), ``directoryAudit`` records (``"audit"``, Graph writes), or both."""
        with self._lock:
            found = list(self._emitted)
        if kind is None:
            return found
        return [e for e in found if ("eventType" in e) == (kind == "eventgrid")]

    def apply(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        actor: Caller = ATTACKER,
        service: Service | None = None,
    ) -> dict[str, Any]:
        """Change the tenant directly, as ``actor`` would in the portal (no HTTP, no scripted
        failure, no long-running operation), and return the event or audit record it emits.

        ``path`` is relative to the service root, as in :meth:`fail` (a query, if any, is
        ignored); ``service`` is ARM for ``/subscriptions/...`` and ``/providers/...`` paths,
        else Graph. Raises ``ValueError`` when the stand-in refuses the write.
        """
        verb = method.upper()
        path = urlsplit(path).path
        if path.lower().startswith(_GRAPH_VERSION + "/"):
            path = path[len(_GRAPH_VERSION) :]
        chosen: Service = service or (
            "arm" if path.lower().startswith(("/subscriptions/", "/providers/")) else "graph"
        )
        root = self.arm_endpoint if chosen == "arm" else self.graph_endpoint
        write = _Write(actor, str(uuid.uuid4()), str(uuid.uuid4()), root + path, lro=False)
        answer = self._write(chosen, verb, path, dict(body) if body is not None else None, write)
        if answer.status >= 400:
            raise ValueError(f"the stand-in refused {verb} {path}: {answer.status} {answer.body}")
        return write.emitted[-1] if write.emitted else {}

    def requests_to(self, path: str, *, service: Service | None = None) -> list[RecordedRequest]:
        """The recorded requests of ``path`` (case-insensitive), oldest first."""
        wanted = path.lower().rstrip("/")
        with self._lock:
            return [
                r
                for r in self.requests
                if r.path.lower().rstrip("/") == wanted and service in (None, r.service)
            ]

    # -- request handling (called from handler threads) --
    def _take_failure(self, method: str, path: str) -> _Failure | None:
        wanted = path.lower().rstrip("/")
        with self._lock:
            key = next(
                (
                    (m, p)
                    for m in (method.upper(), "*")
                    for p in [wanted, *sorted(self._prefixes(wanted), key=len, reverse=True)]
                    if (m, p) in self._failures
                ),
                None,
            )
            if key is None:
                return None
            failure = self._failures[key]
            if failure.remaining is not None:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    del self._failures[key]
            return failure

    def _prefixes(self, wanted: str) -> list[str]:
        return [p for _, p in self._failures if p.endswith("*") and wanted.startswith(p[:-1])]

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def handle(
        self,
        service: Service,
        method: str,
        raw_path: str,
        auth: str,
        *,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> _Answer:
        parts = urlsplit(raw_path)
        query = parse_qs(parts.query, keep_blank_values=True)
        bearer = auth[:7].lower() == "bearer " and bool(auth[7:].strip())
        path = parts.path
        if service == "graph":
            if path.lower().startswith(_GRAPH_VERSION + "/"):
                path = path[len(_GRAPH_VERSION) :]
            else:
                path = "/<unsupported version>" + path
        sent = {k.lower(): v for k, v in (headers or {}).items()}
        crid = sent.get("x-ms-client-request-id" if service == "arm" else "client-request-id", "")
        try:
            document = json.loads(body) if body else None
        except (ValueError, UnicodeDecodeError):
            document = _INVALID
        root = self.arm_endpoint if service == "arm" else self.graph_endpoint
        write = _Write(
            caller_from_token(auth[7:].strip(), self.writer) if bearer else self.writer,
            crid or str(uuid.uuid4()),
            sent.get("x-ms-correlation-request-id") or crid or str(uuid.uuid4()),
            root + raw_path,
            api_version=query.get("api-version", [""])[0],
        )
        answer = self._answer(service, method, path, query, bearer, document, write)
        recorded = None if document is _INVALID else document
        self._record(
            RecordedRequest(service, method, path, query, bearer, answer.status, crid, recorded)
        )
        return answer

    def _answer(
        self,
        service: Service,
        method: str,
        path: str,
        query: dict[str, list[str]],
        bearer: bool,
        document: Any = None,
        write: _Write | None = None,
    ) -> _Answer:
        error = _arm_error if service == "arm" else _graph_error
        if not bearer:
            return error(401, None, None)
        if service == "arm" and not query.get("api-version", [""])[0]:
            return error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        failure = self._take_failure(method, path)
        if failure is not None:
            answer = error(failure.status, failure.code, failure.message)
            if failure.retry_after is not None:
                answer.headers["Retry-After"] = str(failure.retry_after)
            return answer
        if service == "graph":
            principals = self._service_principals_answer(method, path, query, document)
            if principals is not None:
                return principals
        if service == "arm" and path.lower().rstrip("/") == RESOURCE_GRAPH_PATH:
            return self._resource_graph(method, document)
        if method in _WRITES and write is not None:
            if document is _INVALID or (document is not None and not isinstance(document, dict)):
                code = "InvalidRequestContent" if service == "arm" else "BadRequest"
                return error(400, code, "The request content is not a JSON object.")
            return self._write(service, method, path, document, write)
        if method != "GET":
            return error(405, None, None)
        if service == "arm":
            operation = _OPERATION.fullmatch(path.lower().rstrip("/"))
            if operation is not None:
                return self._operation_status(operation.group(1), operation.group(2))
            return self._arm_get(path, query)
        return self._graph_get(path, query)

    # writes (the tenant's state changes under self._tenant; lists are replaced, never changed
    # in place, so a read in another thread sees the state before or after, never between)
    def _write(self, service: Service, method: str, path: str, body: Any, write: _Write) -> _Answer:
        with self._tenant:
            if service == "arm":
                return self._arm_write(method, path, body, write)
            return self._graph_write(method, path, body, write)

    def _set_items(self, section: str, items: list[dict[str, Any]]) -> None:
        self.data[section] = items

    def _emit(self, write: _Write, event: dict[str, Any]) -> None:
        write.emitted.append(event)
        with self._lock:
            self._emitted.append(event)

    def _missing(self, service: Service, path: str) -> _Answer:
        if self.delete_missing == 204:
            return _Answer(204, None)
        if service == "arm":
            return _arm_error(404, None, f"The Resource '{path}' was not found.")
        return _graph_error(404, None, f"Resource '{path.rsplit('/', 1)[-1]}' does not exist.")

    # ARM writes
    def _arm_write(self, method: str, path: str, body: Any, write: _Write) -> _Answer:
        raw = unquote(path).rstrip("/")
        lower = raw.lower()
        parts = lower.split("/")
        if (
            len(parts) > 2
            and parts[1] == "subscriptions"
            and parts[2] not in self._known_subscriptions()
        ):
            return _arm_error(
                404,
                "SubscriptionNotFound",
                f"The subscription '{raw.split('/')[2]}' could not be found.",
            )
        if method == "POST":  # no watched type has actions
            return _arm_error(405, None, None)
        for provider, section in SCOPED_LISTINGS.items():
            at = lower.rfind(provider + "/")
            if at >= 0 and "/" not in lower[at + len(provider) + 1 :]:
                return self._scoped_write(section, method, raw, at, body, write)
        parent_path, _, _name = raw.rpartition("/")
        owner_path, _, key = parent_path.rpartition("/")
        for section in ARM_LIST_PATHS.values():
            for parent in self._items(section):
                if str(parent.get("id", "")).lower() == owner_path.lower():
                    found = _list_key(parent.get("properties"), key)
                    if found is not None:
                        return self._child_write(section, parent, found, method, raw, body, write)
        for template, section in ARM_ITEM_PATHS:
            if template.match(raw) is not None:
                return self._item_write(section, method, raw, body, write)
        return _arm_error(
            400, "InvalidResourceType", f"The resource type of '{path}' is not served here."
        )

    def _scoped_write(
        self, section: str, method: str, raw: str, at: int, body: Any, write: _Write
    ) -> _Answer:
        resource_type = _RESOURCE_TYPES[section]
        scope = raw[:at].rstrip("/") or "/"
        name = raw[at + len(resource_type) + len("/providers/") + 1 :]
        item_id = (scope if scope != "/" else "") + f"/providers/{resource_type}/{name}"
        items = self._items(section)
        existing = next((i for i in items if str(i.get("id", "")).lower() == item_id.lower()), None)
        others = [i for i in items if i is not existing]
        if method == "DELETE":
            if existing is None:
                return self._missing("arm", raw)
            self._set_items(section, others)
            self._arm_event(item_id, method, write)
            return _Answer(200, existing)
        if method != "PUT":
            return _arm_error(405, None, None)
        props = body.get("properties") if isinstance(body, dict) else None
        if (
            not isinstance(props, dict)
            or not props.get("principalId")
            or not props.get("roleDefinitionId")
        ):
            return _arm_error(
                400,
                "InvalidRequestContent",
                "properties.principalId and properties.roleDefinitionId are required.",
            )
        try:
            uuid.UUID(name)
        except ValueError:
            return _arm_error(
                400, "InvalidRoleAssignmentId", f"The role assignment ID '{name}' is not valid."
            )
        item = {
            "id": item_id,
            "type": resource_type,
            "name": name,
            "properties": {**props, "scope": scope},
        }
        grant = _grant(item)
        if any(_grant(other) == grant for other in others):
            return _arm_error(409, "RoleAssignmentExists", "The role assignment already exists.")
        if existing is not None and _grant(existing) != grant:
            return _arm_error(
                409,
                "RoleAssignmentUpdateNotPermitted",
                "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
            )
        self._set_items(section, [*others, item])
        self._arm_event(item_id, method, write)
        return _Answer(201, item)

    def _child_write(
        self,
        section: str,
        parent: dict[str, Any],
        key: str,
        method: str,
        raw: str,
        body: Any,
        write: _Write,
    ) -> _Answer:
        name = raw.rsplit("/", 1)[1]
        child_id = f"{parent['id']}/{key}/{name}"
        children = [c for c in parent["properties"][key] if isinstance(c, dict)]
        existing = next(
            (c for c in children if str(c.get("name", "")).lower() == name.lower()), None
        )
        others = [c for c in children if c is not existing]
        if method == "DELETE":
            if existing is None:
                return self._missing("arm", raw)
            new_children = others
            answer_body: Any = None
            status = 202
        elif method == "PUT":
            props = body.get("properties") if isinstance(body, dict) else None
            if not isinstance(props, dict):
                return _arm_error(
                    400, "InvalidRequestFormat", "The request has no properties object."
                )
            child: dict[str, Any] = {
                "name": name,
                "id": child_id,
                "etag": f'W/"{uuid.uuid4()}"',
                "type": f"{parent.get('type', '')}/{key}",
                "properties": {**props, "provisioningState": "Succeeded"},
            }
            new_children = [*others, child]
            answer_body = {
                **child,
                "properties": {**child["properties"], "provisioningState": "Updating"},
            }
            status = 200 if existing is not None else 201
        else:
            return _arm_error(405, None, None)
        new_parent = {**parent, "properties": {**parent["properties"], key: new_children}}
        self._set_items(section, [new_parent if i is parent else i for i in self._items(section)])
        self._arm_event(child_id, method, write)
        return self._long_running(
            status, answer_body, raw, str(parent.get("location") or ""), write
        )

    def _item_write(self, section: str, method: str, raw: str, body: Any, write: _Write) -> _Answer:
        items = self._items(section)
        existing = next((i for i in items if str(i.get("id", "")).lower() == raw.lower()), None)
        others = [i for i in items if i is not existing]
        if method == "DELETE":
            if existing is None:
                return self._missing("arm", raw)
            self._set_items(section, others)
            self._arm_event(raw, method, write)
            location = str(existing.get("location") or "")
            return self._long_running(202, None, raw, location, write)
        if not isinstance(body, dict):
            return _arm_error(400, "InvalidRequestFormat", "The request has no body.")
        if method == "PATCH":
            if existing is None:
                return _arm_error(404, None, f"The Resource '{raw}' was not found.")
            item = _merge(existing, body)
        else:
            item = {
                **body,
                "id": existing["id"] if existing else raw,
                "name": raw.rsplit("/", 1)[1],
            }
            item["type"] = _RESOURCE_TYPES[section]
        self._set_items(section, [*others, item])
        self._arm_event(str(item["id"]), method, write)
        status = 201 if existing is None else 200
        return self._long_running(status, item, raw, str(item.get("location") or ""), write)

    def _long_running(
        self, status: int, body: Any, raw: str, location: str, write: _Write
    ) -> _Answer:
        lro = self.lro
        if not write.lro or lro.style == "none":
            return _Answer(200 if status == 202 else status, body)
        parts = raw.split("/")
        namespace = raw.rsplit("/providers/", 1)[-1].split("/")[0]
        base = f"{self.arm_endpoint}/subscriptions/{parts[2]}/providers/{namespace}"
        base += f"/locations/{location or 'westeurope'}"
        ident = str(uuid.uuid4())
        with self._lock:
            self._operations[ident] = _Operation(
                lro.in_progress, lro.final, lro.error, lro.retry_after
            )
        version = f"?api-version={write.api_version}"
        headers: dict[str, str] = {}
        if lro.style == "azure-async-operation":
            headers["Azure-AsyncOperation"] = f"{base}/operations/{ident}{version}"
        if lro.style == "location" or status == 202:
            headers["Location"] = f"{base}/operationResults/{ident}{version}"
        if lro.style == "location":
            status = 202
        if lro.retry_after is not None:
            headers["Retry-After"] = str(lro.retry_after)
        return _Answer(status, body, headers)

    def _operation_status(self, which: str, ident: str) -> _Answer:
        with self._lock:
            operation = self._operations.get(ident)
            running = operation is not None and operation.remaining > 0
            if operation is not None and running:
                operation.remaining -= 1
        if operation is None:
            return _arm_error(404, "OperationNotFound", f"The operation '{ident}' was not found.")
        headers = (
            {} if operation.retry_after is None else {"Retry-After": str(operation.retry_after)}
        )
        if which == "operationresults":
            if running:
                return _Answer(202, None, headers)
            if operation.final.casefold() == "succeeded":
                return _Answer(204, None)
            return _arm_error(400, operation.error, f"The operation ended {operation.final}.")
        status = "InProgress" if running else operation.final
        body: dict[str, Any] = {"id": ident, "name": ident, "status": status}
        if not running and status.casefold() != "succeeded":
            body["error"] = {"code": operation.error, "message": f"The operation ended {status}."}
        return _Answer(200, body, headers if running else {})

    def _arm_event(self, resource_id: str, method: str, write: _Write) -> None:
        event = resource_event(
            resource_id=resource_id,
            method=method,
            caller=write.caller,
            audience=self.arm_endpoint + "/",
            url=write.url,
            client_request_id=write.client_request_id,
            correlation_id=write.correlation_id,
        )
        self._emit(write, event)

    # Graph writes
    def _graph_write(self, method: str, path: str, body: Any, write: _Write) -> _Answer:
        lower = unquote(path).lower().rstrip("/")
        if lower == GRAPH_AUDIT_PATH or lower.startswith(GRAPH_AUDIT_PATH + "/"):
            return _graph_error(405, None, None)
        if lower in SCHEDULE_REQUESTS:
            if method != "POST":
                return _graph_error(405, None, None)
            return self._schedule_request(SCHEDULE_REQUESTS[lower], lower, body or {}, write)
        if lower in GRAPH_LIST_PATHS:
            if method != "POST":
                return _graph_error(405, None, None)
            section, context = GRAPH_LIST_PATHS[lower]
            if not isinstance(body, dict):
                return _graph_error(400, "BadRequest", "Empty Payload. JSON content expected.")
            item = {**body, "id": str(body.get("id") or uuid.uuid4())}
            items = self._items(section)
            if any(str(i.get("id", "")).lower() == item["id"].lower() for i in items):
                return _graph_error(
                    400, "Request_BadRequest", "Another object with the same id exists."
                )
            self._set_items(section, [*items, item])
            self._graph_audit(section, _SECTION_PATHS[section], "Add", None, item, write)
            entity = self._context(context + "/$entity")
            return _Answer(201, {"@odata.context": entity, **item})
        if lower in GRAPH_OBJECT_PATHS:
            if method != "PATCH":
                return _graph_error(405, None, None)
            section, _ = GRAPH_OBJECT_PATHS[lower]
            before = self.data.get(section)
            if before is None:
                before = {"id": path.rstrip("/").rsplit("/", 1)[-1]}
            if not isinstance(before, dict):
                return _graph_error(404, None, None)
            after = _merge(before, body or {})
            self.data[section] = after
            self._graph_audit(section, _SECTION_PATHS[section], "Update", before, after, write)
            return _Answer(204, None)
        head, _, item_id = lower.rpartition("/")
        if head in GRAPH_LIST_PATHS:
            section, _ = GRAPH_LIST_PATHS[head]
            items = self._items(section)
            existing = next((i for i in items if str(i.get("id", "")).lower() == item_id), None)
            if existing is None:
                if method == "DELETE":
                    return self._missing("graph", path)
                return _graph_error(404, None, f"Resource '{item_id}' does not exist.")
            others = [i for i in items if i is not existing]
            if method == "DELETE":
                self._set_items(section, others)
                self._graph_audit(section, _SECTION_PATHS[section], "Delete", existing, None, write)
                return _Answer(204, None)
            if method != "PATCH":
                return _graph_error(405, None, None)
            after = _merge(existing, body or {})
            self._set_items(section, [after if i is existing else i for i in items])
            self._graph_audit(section, _SECTION_PATHS[section], "Update", existing, after, write)
            return _Answer(204, None)
        owner, _, prop = head.rpartition("/")
        if owner in GRAPH_OBJECT_PATHS and method == "PATCH":
            section, _ = GRAPH_OBJECT_PATHS[owner]
            whole = self.data.get(section)
            key = _list_key(whole, prop)
            if isinstance(whole, dict) and key is not None:
                members = [m for m in whole[key] if isinstance(m, dict)]
                existing = next(
                    (m for m in members if str(m.get("id", "")).lower() == item_id), None
                )
                if existing is None:
                    return _graph_error(404, None, f"Resource '{item_id}' does not exist.")
                after = _merge(existing, body or {})
                self.data[section] = {
                    **whole,
                    key: [after if m is existing else m for m in members],
                }
                self._graph_audit(
                    section, f"{_SECTION_PATHS[section]}/{key}", "Update", existing, after, write
                )
                return _Answer(204, None)
        return _graph_error(
            400, "BadRequest", f"Resource not found for the segment '{path.rsplit('/', 1)[-1]}'."
        )

    def _schedule_request(
        self, section: str, path: str, body: Mapping[str, Any], write: _Write
    ) -> _Answer:
        action = str(body.get("action") or "")
        principal = str(body.get("principalId") or "")
        role = str(body.get("roleDefinitionId") or "")
        scope = str(body.get("directoryScopeId") or "/")
        if action not in ("adminAssign", "adminRemove") or not principal or not role:
            return _graph_error(
                400,
                "BadRequest",
                "action (adminAssign or adminRemove), principalId and roleDefinitionId "
                "are required.",
            )
        items = self._items(section)
        wanted = (principal.lower(), role.lower(), scope.lower())
        existing = next(
            (
                i
                for i in items
                if (
                    str(i.get("principalId", "")).lower(),
                    str(i.get("roleDefinitionId", "")).lower(),
                    str(i.get("directoryScopeId") or "/").lower(),
                )
                == wanted
                and str(i.get("status") or "provisioned").lower() == "provisioned"
            ),
            None,
        )
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        request_id = str(uuid.uuid4())
        if action == "adminAssign":
            if existing is not None:
                return _graph_error(
                    400, "RoleAssignmentExists", "The Role assignment already exists."
                )
            schedule = {
                "id": str(uuid.uuid4()),
                "principalId": principal,
                "roleDefinitionId": role,
                "directoryScopeId": scope,
                "appScopeId": None,
                "createdUsing": request_id,
                "createdDateTime": now,
                "modifiedDateTime": None,
                "status": "Provisioned",
                "memberType": "Direct",
                "scheduleInfo": body.get("scheduleInfo") or {"startDateTime": now},
            }
            self._set_items(section, [*items, schedule])
            self._graph_audit(
                section, _SECTION_PATHS[section], "Add", None, schedule, write, service="PIM"
            )
            status, target = "Provisioned", schedule["id"]
        else:
            if existing is None:
                return _graph_error(
                    400, "RoleAssignmentDoesNotExist", "The Role assignment does not exist."
                )
            self._set_items(section, [i for i in items if i is not existing])
            self._graph_audit(
                section, _SECTION_PATHS[section], "Remove", existing, None, write, service="PIM"
            )
            status, target = "Revoked", str(existing.get("id", ""))
        context = self._context(path.lstrip("/") + "/$entity")
        reply = {
            "@odata.context": context,
            **{k: v for k, v in body.items() if k != "@odata.context"},
            "id": request_id,
            "status": status,
            "createdDateTime": now,
            "targetScheduleId": target,
            "directoryScopeId": scope,
        }
        return _Answer(201, reply)

    def _graph_audit(
        self,
        section: str,
        path: str,
        verb: str,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
        write: _Write,
        *,
        service: str = "Core Directory",
    ) -> None:
        item = after if after is not None else before or {}
        role = item.get("roleDefinitionId")
        if role:  # a role membership: its principal, and the role as Entra names it
            principal = item.get("principal")
            odata = str(principal.get("@odata.type", "")) if isinstance(principal, Mapping) else ""
            new, old = (f'"{role}"', None) if after is not None else (None, f'"{role}"')
            target: dict[str, Any] = {
                "id": str(item.get("principalId", "")),
                "displayName": None,
                "type": odata.rsplit(".", 1)[-1].title() if odata else "User",
                "modifiedProperties": [
                    {"displayName": "Role.TemplateId", "oldValue": old, "newValue": new}
                ],
            }
            operation = {"Add": "Assign", "Remove": "Unassign", "Delete": "Unassign"}.get(
                verb, verb
            )
        else:
            target = {
                "id": str(item.get("id", "")),
                "displayName": item.get("displayName"),
                "type": "Policy",
                "modifiedProperties": [
                    {
                        "displayName": _thing(path).title().replace(" ", ""),
                        "oldValue": None if before is None else json.dumps(before),
                        "newValue": None if after is None else json.dumps(after),
                    }
                ],
            }
            operation = verb
        record = audit_record(
            category=_AUDIT_CATEGORY.get(section, "Other"),
            activity=f"{verb} {_thing(path)}",
            operation=operation,
            caller=write.caller,
            target=target,
            correlation_id=write.client_request_id,
            service=service,
        )
        self._set_items(_AUDIT_SECTION, [*self._items(_AUDIT_SECTION), record])
        self._emit(write, record)

    # ARM
    def _known_subscriptions(self) -> set[str]:
        if self.subscriptions is not None:
            return {s.lower() for s in self.subscriptions}
        known = set()
        for item in self._arm_items():
            parts = str(item.get("id", "")).lower().split("/")
            if len(parts) > 2 and parts[1] == "subscriptions":
                known.add(parts[2])
        return known

    def _ancestors(self, subscription: str) -> list[str] | None:
        """The management groups above a subscription, from its parent to the tenant root
        group, as :attr:`hierarchy` names them; None when the hierarchy does not know it (no
        ``resourcecontainers`` row). Without a hierarchy: every management group an ARM
        item is at, in name order (lower-case)."""
        if self.hierarchy is None:
            return sorted(
                {
                    scope[len(_MANAGEMENT_GROUPS) :].split("/")[0]
                    for provider, section in SCOPED_LISTINGS.items()
                    for item in self._items(section)
                    if (scope := _item_scope(item, provider)).startswith(_MANAGEMENT_GROUPS)
                }
            )
        parents = {k.lower(): v for k, v in self.hierarchy.items()}
        if subscription.lower() not in parents:
            return None
        chain = [parents[subscription.lower()]]
        while chain[-1].lower() in parents and len(chain) <= len(parents):
            chain.append(parents[chain[-1].lower()])
        return chain

    def _subscription_rows(self) -> list[dict[str, Any]]:
        """``resourcecontainers``' subscription rows: every known subscription the
        hierarchy knows (see :meth:`_ancestors`), with its ancestor chain."""
        rows = []
        for sub in sorted(self._known_subscriptions()):
            chain = self._ancestors(sub)
            if chain is None:
                continue
            rows.append(
                {
                    "id": f"/subscriptions/{sub}",
                    "name": f"Subscription {sub[:8]}",
                    "type": "microsoft.resources/subscriptions",
                    "subscriptionId": sub,
                    "properties": {
                        "state": "Enabled",
                        "managementGroupAncestorsChain": [
                            {"name": name, "displayName": name.replace("-", " ").title()}
                            for name in chain
                        ],
                    },
                }
            )
        return rows

    def _in_groups(self, item: Mapping[str, Any], sub: str, groups: set[str]) -> bool:
        """Whether a row is in a query scoped to management groups ``groups`` (lower):
        under a subscription below one of them, or at one of them or a group below it.
        Without a hierarchy: every row."""
        if self.hierarchy is None:
            return True
        if sub:
            chain = self._ancestors(sub) or []
        else:
            scope = _item_scope(item, "/providers/microsoft.authorization")
            if not scope.startswith(_MANAGEMENT_GROUPS):
                return False
            group = scope[len(_MANAGEMENT_GROUPS) :].split("/")[0]
            parents = {k.lower(): v.lower() for k, v in self.hierarchy.items()}
            chain = [group]
            while chain[-1] in parents and len(chain) <= len(parents):
                chain.append(parents[chain[-1]])
        return any(g.lower() in groups for g in chain)

    def _group_above(self, group: str, subscription: str) -> bool:
        """Whether management group ``group`` is above ``subscription``."""
        return group.lower() in {g.lower() for g in self._ancestors(subscription) or []}

    def _arm_items(self) -> Iterator[dict[str, Any]]:
        for section in ARM_LIST_PATHS.values():
            yield from _as_list(self.data.get(section))

    def _arm_get(self, path: str, query: dict[str, list[str]]) -> _Answer:
        lower = path.lower().rstrip("/")
        parts = lower.split("/")
        if len(parts) > 2 and parts[1] == "subscriptions":
            sub = parts[2]
            if sub not in self._known_subscriptions():
                return _arm_error(
                    404,
                    "SubscriptionNotFound",
                    f"The subscription '{path.split('/')[2]}' could not be found.",
                )
            if (
                len(parts) > 4
                and parts[3] == "resourcegroups"
                and "/".join(parts[:5]) not in self._known_resource_groups()
            ):
                return _arm_error(
                    404,
                    "ResourceGroupNotFound",
                    f"Resource group '{path.split('/')[4]}' could not be found.",
                )
        for provider, section in SCOPED_LISTINGS.items():
            if lower.endswith(provider):
                scope = lower[: -len(provider)].rstrip("/") or "/"
                return self._scoped_listing(section, provider, path, scope, query)
        if len(parts) > 2 and parts[1] == "subscriptions":
            scope = "/".join(parts[:3])
            rest = lower[len(scope) :]
            if rest.startswith("/resourcegroups/"):
                rg_parts = rest.split("/")
                scope, rest = "/".join(parts[:5]), "/" + "/".join(rg_parts[3:])
            section = ARM_LIST_PATHS.get(rest)
            if section is not None:
                items = [
                    item
                    for item in _as_list(self.data.get(section))
                    if _arm_in_scope(str(item.get("id", "")), scope)
                ]
                return self._page("arm", path, query, items, next_key="nextLink", context=None)
        item = self._arm_find(lower)
        if item is not None:
            return _Answer(200, item)
        return _arm_error(404, None, f"The Resource '{path}' was not found.")

    def _known_resource_groups(self) -> set[str]:
        known = set()
        scoped = {section: provider for provider, section in SCOPED_LISTINGS.items()}
        for section in ARM_LIST_PATHS.values():
            for item in self._items(section):
                places = [str(item.get("id", ""))]
                if section in scoped:
                    places.append(_item_scope(item, scoped[section]))
                for where in places:
                    parts = where.lower().split("/")
                    if (
                        len(parts) > 4
                        and parts[1] == "subscriptions"
                        and parts[3] == "resourcegroups"
                    ):
                        known.add("/".join(parts[:5]))
        return known

    def _scoped_listing(
        self, section: str, provider: str, path: str, scope: str, query: dict[str, list[str]]
    ) -> _Answer:
        at_or_above = False
        principal: str | None = None
        for text in query.get("$filter", []):
            match = _PRINCIPAL_FILTER.fullmatch(text.strip())
            if text.strip().lower() == "atscope()":
                at_or_above = True
            elif match:
                principal = match.group(1).lower()
            else:
                return _arm_error(400, "BadRequest", f"The $filter '{text}' is not supported.")
        items = []
        for item in self._items(section):
            relation = _scope_relation(_item_scope(item, provider), scope, self._group_above)
            if relation is None or (at_or_above and relation == "below"):
                continue
            props = item.get("properties") or {}
            if principal is not None and str(props.get("principalId", "")).lower() != principal:
                continue
            items.append(item)
        return self._page("arm", path, query, items, next_key="nextLink", context=None)

    def _arm_find(self, lower_id: str) -> dict[str, Any] | None:
        for item in self._arm_items():
            if str(item.get("id", "")).lower() == lower_id:
                return item
            properties = item.get("properties")
            if not isinstance(properties, dict):
                continue
            for key in ("securityRules", "defaultSecurityRules"):
                for rule in properties.get(key) or []:
                    if isinstance(rule, dict) and str(rule.get("id", "")).lower() == lower_id:
                        return rule
        return None

    # Graph
    def _graph_get(self, path: str, query: dict[str, list[str]]) -> _Answer:
        lower = path.lower().rstrip("/")
        if lower == GRAPH_AUDIT_PATH or lower.startswith(GRAPH_AUDIT_PATH + "/"):
            return self._directory_audits(path, query)
        if lower in GRAPH_OBJECT_PATHS:
            section, context = GRAPH_OBJECT_PATHS[lower]
            value = self.data.get(section)
            if value is None:  # a tenant-wide singleton always exists in Graph
                value = {"id": path.rstrip("/").rsplit("/", 1)[-1]}
            if not isinstance(value, dict):
                return _graph_error(404, None, None)
            body = {k: v for k, v in value.items() if k != "@odata.context"}
            return _Answer(200, {"@odata.context": self._context(context), **body})
        expand = {e.strip().lower() for v in query.get("$expand", []) for e in v.split(",") if e}
        if lower in GRAPH_LIST_PATHS:
            section, context = GRAPH_LIST_PATHS[lower]
            wanted = _graph_filter(query.get("$filter", []))
            if wanted is None:
                return _graph_error(400, "BadRequest", "Invalid filter clause.")
            items = [
                self._graph_item(section, item, expand)
                for item in self._items(section)
                if all(str(item.get(k, "")).casefold() == v for k, v in wanted)
            ]
            return self._page(
                "graph", path, query, items, next_key="@odata.nextLink", context=context
            )
        head, _, item_id = lower.rpartition("/")
        if head in GRAPH_LIST_PATHS:
            section, context = GRAPH_LIST_PATHS[head]
            for item in self._items(section):
                if str(item.get("id", "")).lower() == item_id:
                    body = self._graph_item(section, item, expand)
                    entity = self._context(context + "/$entity")
                    return _Answer(200, {"@odata.context": entity, **body})
            return _graph_error(404, None, f"Resource '{path.rsplit('/', 1)[1]}' does not exist.")
        return _graph_error(
            400, "BadRequest", f"Resource not found for the segment '{path.rsplit('/', 1)[-1]}'."
        )

    def _directory_audits(self, path: str, query: dict[str, list[str]]) -> _Answer:
        lower = path.lower().rstrip("/")
        items = self._items(_AUDIT_SECTION)
        if lower != GRAPH_AUDIT_PATH:
            item_id = lower[len(GRAPH_AUDIT_PATH) + 1 :]
            for item in items:
                if str(item.get("id", "")).lower() == item_id:
                    entity = self._context(_AUDIT_CONTEXT + "/$entity")
                    return _Answer(200, {"@odata.context": entity, **item})
            return _graph_error(404, None, f"Resource '{path.rsplit('/', 1)[1]}' does not exist.")
        tests = _audit_filter(query.get("$filter", []))
        if tests is None:
            return _graph_error(400, "BadRequest", "Invalid filter clause.")
        found = [item for item in items if all(test(item) for test in tests)]
        order = [o for v in query.get("$orderby", []) for o in v.split(",") if o.strip()]
        if order:
            match = _AUDIT_ORDER.fullmatch(order[0].strip()) if len(order) == 1 else None
            if match is None:
                return _graph_error(400, "BadRequest", f"Invalid $orderby: {','.join(order)}.")
            found.sort(
                key=lambda item: _timestamp(item.get("activityDateTime")) or _NEVER,
                reverse=(match.group(1) or "asc").lower() == "desc",
            )
        return self._page(
            "graph", path, query, found, next_key="@odata.nextLink", context=_AUDIT_CONTEXT
        )

    def _items(self, section: str) -> list[dict[str, Any]]:
        return _as_list(self.data.get(section))

    @staticmethod
    def _graph_item(section: str, item: dict[str, Any], expand: set[str]) -> dict[str, Any]:
        hidden = {p for p in _EXPANDED.get(section, ()) if p.lower() not in expand}
        return {k: v for k, v in item.items() if k not in hidden} if hidden else item

    def _context(self, fragment: str) -> str:
        return f"{self.graph_endpoint}/$metadata#{fragment}"

    # paging
    def _page(
        self,
        service: Service,
        path: str,
        query: dict[str, list[str]],
        items: list[dict[str, Any]],
        *,
        next_key: str,
        context: str | None,
    ) -> _Answer:
        try:
            start = int(query.get("$skiptoken", ["0"])[0])
        except ValueError:
            return (_arm_error if service == "arm" else _graph_error)(
                400, None, "The $skiptoken is not valid."
            )
        size = max(1, self.page_size)
        body: dict[str, Any] = {}
        if context is not None:
            body["@odata.context"] = self._context(context)
        body["value"] = items[start : start + size]
        if start + size < len(items):
            rest = [(k, v) for k, values in query.items() if k != "$skiptoken" for v in values]
            rest.append(("$skiptoken", str(start + size)))
            root = self.arm_endpoint if service == "arm" else self.graph_endpoint
            body[next_key] = f"{root}{path}?{urlencode(rest, safe='$,')}"
        return _Answer(200, body)

    # Azure Resource Graph (see the module notes)
    def _resource_graph(self, method: str, document: Any) -> _Answer:
        answer = self._resource_graph_answer(method, document)
        for name, value in self._graph_quota_headers(answer.status == 429).items():
            answer.headers.setdefault(name, value)
        return answer

    def _graph_quota_headers(self, refused: bool) -> dict[str, str]:
        with self._lock:
            if not refused:
                self._graph_used += 1
            remaining = max(0, self.graph_quota - self._graph_used)
            if remaining == 0 and not refused:
                self._graph_used = 0 if not self.graph_enforce_quota else self._graph_used
            window = self.graph_quota_window
        resets = f"{window // 3600:02d}:{window % 3600 // 60:02d}:{window % 60:02d}"
        return {"x-ms-user-quota-remaining": str(remaining), "x-ms-user-quota-resets-after": resets}

    def _resource_graph_answer(self, method: str, document: Any) -> _Answer:
        if method != "POST":
            return _arm_error(405, None, None)
        if self.graph_enforce_quota:
            with self._lock:
                spent = self._graph_used >= self.graph_quota
                if spent:
                    self._graph_used = 0  # the next request, after Retry-After, is allowed
            if spent:
                answer = _arm_error(429, "RateLimiting", "Please provide below info when asking "
                                    "for support: the user quota is used up.")  # fmt: skip
                answer.headers["Retry-After"] = str(self.graph_quota_window)
                return answer
        if not isinstance(document, dict) or not isinstance(document.get("query"), str):
            return _arm_error(400, "BadRequest", "The request content has no query.")
        options = document.get("options") or {}
        top = options.get("$top", 100)
        if not isinstance(top, int) or not 1 <= top <= 1000:
            return _arm_error(400, "BadRequest", "$top must be between 1 and 1000.")
        subscriptions = document.get("subscriptions")
        if subscriptions is not None and (
            not isinstance(subscriptions, list) or len(subscriptions) > 1000
        ):
            return _arm_error(400, "BadRequest", "At most 1000 subscriptions per request.")
        groups = document.get("managementGroups")
        if groups is not None and not isinstance(groups, list):
            return _arm_error(400, "BadRequest", "managementGroups is not a list.")
        wanted = {str(s).lower() for s in subscriptions} if subscriptions is not None else None
        within = {str(g).lower() for g in groups} if groups is not None else None
        text = document["query"].strip()
        match = _GRAPH_QUERY.fullmatch(text)
        containers = _CONTAINERS_QUERY.fullmatch(text)
        section = _GRAPH_TYPES.get(match.group(2)) if match else None
        if containers is not None:
            items, columns, only_above, ordered = self._subscription_rows(), containers, "", "x"
        elif match is None or section is None or _graph_table(match.group(2)) != match.group(1):
            return _arm_error(400, "InvalidQuery", "The query is not one this stand-in knows.")
        else:
            items, columns = self._items(section), match
            only_above, ordered = match.group(3), match.group(5)
        rows = []
        for item in items:
            item_id = str(item.get("id", ""))
            parts = item_id.lower().split("/")
            sub = parts[2] if len(parts) > 2 and parts[1] == "subscriptions" else ""
            if (wanted is not None and sub not in wanted) or (only_above and sub):
                continue
            if within is not None and not self._in_groups(item, sub, within):
                continue
            row = {c.strip(): item.get(c.strip()) for c in columns.group(4).split(",")}
            if "type" in row and isinstance(row["type"], str):
                row["type"] = row["type"].lower()
            rows.append(row)
        if ordered:
            rows.sort(key=lambda r: str(r.get("id", "")))
        token = options.get("$skipToken")
        try:
            start = int(_unskip(token)) if token else 0
        except ValueError:
            return _arm_error(400, "BadRequest", "The $skipToken is not valid.")
        size = min(top, max(1, self.graph_page_size))
        page = rows[start : start + size]
        body: dict[str, Any] = {
            "totalRecords": len(rows),
            "count": len(page),
            "data": page,
            "facets": [],
            "resultTruncated": "false",
        }
        if start + size < len(rows):
            body["$skipToken"] = _skip(start + size)
        return _Answer(200, body)


RESOURCE_GRAPH_PATH = "/providers/microsoft.resourcegraph/resources"
_CONTAINERS_QUERY = re.compile(
    r"(resourcecontainers) \| where type =~ '(microsoft\.resources/subscriptions)'()"
    r" \| project ([\w, ]+?) \| order by id asc"
)
"""The one ``resourcecontainers`` query the stand-in knows (the groups line up with
:data:`_GRAPH_QUERY`'s: column list 4)."""
_GRAPH_QUERY = re.compile(
    r"(resources|authorizationresources) \| where type =~ '([a-z0-9./]+)'"
    r"( \| where isempty\(subscriptionId\))? \| project ([\w, ]+?)( \| order by id asc)?"
)
_GRAPH_TYPES: Mapping[str, str] = {t.lower(): name for name, t in _RESOURCE_TYPES.items()}
"""Resource type (lower-case) -> the ARM section Resource Graph rows are made of."""


def _graph_table(resource_type: str) -> str:
    return (
        "authorizationresources" if resource_type.startswith("microsoft.authorization/")
        else "resources"
    )  # fmt: skip


def _skip(offset: int) -> str:
    import base64

    return base64.urlsafe_b64encode(json.dumps({"$o": offset}).encode()).decode()


def _unskip(token: Any) -> int:
    import base64

    try:
        return int(json.loads(base64.urlsafe_b64decode(str(token).encode()))["$o"])
    except (ValueError, KeyError, TypeError):
        raise ValueError("bad token") from None


_WRITES = frozenset({"PUT", "PATCH", "POST", "DELETE"})
_INVALID = object()
"""A request body that is not JSON."""
_OPERATION = re.compile(
    r"/subscriptions/[^/]+/providers/[^/]+/locations/[^/]+/(operations|operationresults)/([^/]+)"
)


def _list_key(owner: Any, name: str) -> str | None:
    """The key of ``owner`` (an object) spelled ``name`` in any case whose value is a list."""
    if not isinstance(owner, dict):
        return None
    return next(
        (k for k, v in owner.items() if k.lower() == name.lower() and isinstance(v, list)), None
    )


def _merge(item: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """Graph's PATCH: the given top-level properties replace the item's, whole; ``id`` stays."""
    merged = {**item, **{k: v for k, v in patch.items() if k != "@odata.context"}}
    if "id" in item:
        merged["id"] = item["id"]
    return merged


def _grant(item: Mapping[str, Any]) -> tuple[str, str, str]:
    """What a role assignment grants: (principal, role definition GUID, scope), lower-cased."""
    props = item.get("properties")
    props = props if isinstance(props, dict) else {}
    role = str(props.get("roleDefinitionId", "")).lower().rstrip("/").rsplit("/", 1)[-1]
    scope = str(props.get("scope", "")).lower().rstrip("/") or "/"
    return str(props.get("principalId", "")).lower(), role, scope


def _words(segment: str) -> list[str]:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", segment).lower().split()


def _thing(path: str) -> str:
    """What a Graph path holds, in words: ``/identity/conditionalAccess/policies`` ->
    ``conditional access policy`` (the last segment, singular, after the one before it
    unless that one is a plain plural such as ``policies``)."""
    segments = [s for s in path.strip("/").split("/") if s]
    last = segments[-1] if segments else ""
    words = _words(last)
    if words and words[-1].endswith("ies"):
        words[-1] = words[-1][:-3] + "y"
    elif words and words[-1].endswith("s") and not words[-1].endswith("ss"):
        words[-1] = words[-1][:-1]
    if len(segments) > 1:
        before = segments[-2]
        if not (before.islower() and before.endswith("s")):
            words = _words(before) + words
    return " ".join(words)


def _as_list(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict) and isinstance(value.get("value"), list):
        value = value["value"]
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


_PRINCIPAL_FILTER = re.compile(r"principalId\s+eq\s+'([^']*)'", re.IGNORECASE)
_GRAPH_CLAUSE = re.compile(r"\s*(\w+)\s+eq\s+'([^']*)'\s*")
_MANAGEMENT_GROUPS = "/providers/microsoft.management/managementgroups/"


def _item_scope(item: Mapping[str, Any], provider: str) -> str:
    """An extension resource's scope, lower-cased: ``properties.scope``, else from its id."""
    props = item.get("properties")
    scope = props.get("scope") if isinstance(props, dict) else None
    if not scope:
        scope = str(item.get("id", "")).lower().partition(provider + "/")[0]
    return str(scope).lower().rstrip("/") or "/"


def _scope_relation(
    item_scope: str, scope: str, group_above: Callable[[str, str], bool]
) -> Literal["at", "above", "below"] | None:
    """Where an assignment at ``item_scope`` sits against a listed ``scope`` (both lower);
    ``group_above(group, subscription)``: whether a management group is above a subscription."""
    if item_scope == scope:
        return "at"
    subscription = scope.split("/")[2] if scope.startswith("/subscriptions/") else ""
    if (
        item_scope == "/"
        or scope.startswith(item_scope + "/")
        or (
            item_scope.startswith(_MANAGEMENT_GROUPS)
            and subscription
            and group_above(item_scope[len(_MANAGEMENT_GROUPS) :], subscription)
        )
    ):
        return "above"
    if scope == "/" or item_scope.startswith(scope + "/"):
        return "below"
    return None


def _graph_filter(filters: list[str]) -> list[tuple[str, str]] | None:
    """``[(property, casefolded value)]`` of ``$filter`` values; ``None`` if unsupported."""
    wanted = []
    for text in filters:
        for clause in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
            match = _GRAPH_CLAUSE.fullmatch(clause)
            if match is None:
                return None
            wanted.append((match.group(1), match.group(2).casefold()))
    return wanted


_AuditTest = Callable[[Mapping[str, Any]], bool]
_AUDIT_TIME = re.compile(r"activityDateTime\s+(ge|gt|le|lt)\s+(\S+)", re.IGNORECASE)
_AUDIT_ORDER = re.compile(r"activityDateTime(?:\s+(asc|desc))?", re.IGNORECASE)
_NEVER = dt.datetime.min.replace(tzinfo=dt.UTC)
_COMPARE: Mapping[str, Callable[[dt.datetime, dt.datetime], bool]] = {
    "ge": operator.ge,
    "gt": operator.gt,
    "le": operator.le,
    "lt": operator.lt,
}


def _timestamp(value: Any) -> dt.datetime | None:
    """An ISO timestamp with ``Z`` or an offset as an aware datetime; None otherwise."""
    try:
        when = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def _audit_filter(filters: list[str]) -> list[_AuditTest] | None:
    """The tests of a directoryAudits ``$filter`` (see the module notes); None if unsupported."""
    tests: list[_AuditTest] = []
    for text in filters:
        for clause in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
            test = _audit_clause(clause.strip())
            if test is None:
                return None
            tests.append(test)
    return tests


def _audit_clause(clause: str) -> _AuditTest | None:
    time = _AUDIT_TIME.fullmatch(clause)
    if time is not None:
        bound = _timestamp(time.group(2))
        if bound is None:
            return None
        compare = _COMPARE[time.group(1).lower()]

        def in_time(item: Mapping[str, Any]) -> bool:
            when = _timestamp(item.get("activityDateTime"))
            return when is not None and compare(when, bound)

        return in_time
    either = clause[1:-1] if clause.startswith("(") and clause.endswith(")") else clause
    wanted: list[tuple[str, str]] = []
    for part in re.split(r"\s+or\s+", either.strip(), flags=re.IGNORECASE):
        match = _GRAPH_CLAUSE.fullmatch(part)
        if match is None:
            return None
        wanted.append((match.group(1), match.group(2).casefold()))

    def any_equal(item: Mapping[str, Any]) -> bool:
        return any(str(item.get(k, "")).casefold() == v for k, v in wanted)

    return any_equal


def _arm_in_scope(item_id: str, scope: str) -> bool:
    lower = item_id.lower()
    return lower.startswith(scope + "/") or not lower.startswith("/subscriptions/")


def _arm_error(status: int, code: str | None, message: str | None) -> _Answer:
    return _Answer(
        status,
        {
            "error": {
                "code": code or _ARM_CODES.get(status, "Error"),
                "message": message or _MESSAGES.get(status, "The request failed."),
            }
        },
    )


def _graph_error(status: int, code: str | None, message: str | None) -> _Answer:
    request_id = str(uuid.uuid4())
    return _Answer(
        status,
        {
            "error": {
                "code": code or _GRAPH_CODES.get(status, "generalException"),
                "message": message or _MESSAGES.get(status, "The request failed."),
                "innerError": {
                    "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                    "request-id": request_id,
                    "client-request-id": request_id,
                },
            }
        },
    )


class _Server(LocalHttpServer):
    def __init__(
        self, owner: AzureRestServer, service: Service, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.owner = owner
        self.service: Service = service
        super().__init__(_Handler, name=f"fake-{service}", ssl_context=ssl_context)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "driftkeeper-fake-azure/1"
    disable_nagle_algorithm = True
    wbufsize = -1  # headers and body leave in one write (handle_one_request flushes)
    server: _Server
    _JSON: ClassVar[str] = "application/json; charset=utf-8"

    def do_GET(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        answer = self.server.owner.handle(
            self.server.service,
            self.command,
            self.path,
            self.headers.get("Authorization", ""),
            body=body,
            headers={k: v for k, v in self.headers.items() if k.lower() != "authorization"},
        )
        payload = b"" if answer.body is None else json.dumps(answer.body).encode()
        self.send_response(answer.status)
        if answer.status != 204:
            if payload:
                self.send_header("Content-Type", self._JSON)
            self.send_header("Content-Length", str(len(payload)))
        request_id = str(uuid.uuid4())
        if self.server.service == "arm":
            self.send_header("x-ms-request-id", request_id)
            self.send_header("x-ms-correlation-request-id", request_id)
        else:
            self.send_header("request-id", request_id)
            self.send_header(
                "client-request-id", self.headers.get("client-request-id") or request_id
            )
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log (it would print every request)."""
