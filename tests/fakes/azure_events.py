"""What Azure emits for a change, as the local stand-in (:mod:`tests.fakes.azure_rest`) emits it.

- :func:`resource_event`: the Event Grid event (Event Grid schema, as the system topic of a
  subscription delivers it; the shape of ``tests/corpus/eventgrid/egschema_resource_*``) for
  an ARM write: ``Microsoft.Resources.ResourceWriteSuccess`` / ``ResourceDeleteSuccess`` /
  ``ResourceActionSuccess``, ``subject`` the resource id, ``data.operationName`` such as
  ``Microsoft.Network/networkSecurityGroups/securityRules/write``, the caller's token claims
  in ``data.claims`` and ``data.httpRequest.clientRequestId`` the ``x-ms-client-request-id``
  the request carried.
- :func:`audit_record`: the Entra ``directoryAudit`` record for a Graph write, initiated by
  a user or by an app (service principal). ``correlationId`` is the ``client-request-id``
  the request carried: Entra documents the audit log's correlation id as the "optional GUID
  that's passed by the client".
- :class:`Caller`: who made a change. :func:`caller_from_token` reads it from the claims of
  a JWT-shaped bearer token (:func:`tests.fakes.credentials.token_with_claims` makes one);
  the stand-in falls back to its configured writer for any other token.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "ATTACKER",
    "DEFAULT_WRITER",
    "Caller",
    "audit_record",
    "caller_from_token",
    "operation_name",
    "resource_event",
]

_OID = "http://schemas.microsoft.com/identity/claims/objectidentifier"
_TID = "http://schemas.microsoft.com/identity/claims/tenantid"
_UPN = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
_NAME = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
_PORTAL_APP = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
"""The Azure portal's application id: the app a person's portal change is made through."""
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


@dataclass(frozen=True)
class Caller:
    """Who made a change: an app (a service principal, ``object_id``) or a user."""

    object_id: str
    kind: Literal["app", "user"] = "app"
    app_id: str = ""
    display_name: str = ""
    upn: str = ""
    tenant_id: str = TENANT
    ip: str = "127.0.0.1"

    def claims(self, audience: str) -> dict[str, str]:
        """The token claims ARM copies into an event's ``data.claims``."""
        now = int(dt.datetime.now(dt.UTC).timestamp())
        claims = {
            "aud": audience,
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": str(now - 60),
            "nbf": str(now - 60),
            "exp": str(now + 3540),
            "appid": self.app_id or _PORTAL_APP,
            "appidacr": "2" if self.kind == "app" else "0",
            _OID: self.object_id,
            _TID: self.tenant_id,
            "ipaddr": self.ip,
            "ver": "1.0",
        }
        if self.kind == "app":
            claims["idtyp"] = "app"
        else:
            claims[_UPN] = claims[_NAME] = self.upn
            claims["name"] = self.display_name or self.upn
        return claims

    def initiated_by(self) -> dict[str, Any]:
        """A directoryAudit record's ``initiatedBy``."""
        if self.kind == "app":
            return {
                "app": {
                    "appId": self.app_id,
                    "displayName": self.display_name,
                    "servicePrincipalId": self.object_id,
                    "servicePrincipalName": self.display_name,
                },
                "user": None,
            }
        return {
            "app": None,
            "user": {
                "id": self.object_id,
                "displayName": self.display_name or self.upn.partition("@")[0].title(),
                "userPrincipalName": self.upn,
                "ipAddress": self.ip,
            },
        }


DEFAULT_WRITER = Caller(
    object_id="0d1f7c0d-e5a1-4b7e-9c3a-d21f7ee9e001",
    app_id="5e1fdc0d-7a55-4c1b-8d2e-d21f7ee9e002",
    display_name="driftkeeper",
)
"""The stand-in's writer when the bearer token carries no claims (driftkeeper's identity)."""
ATTACKER = Caller(
    object_id="4b3a2918-0706-4f5e-9d4c-3b2a19081706",
    kind="user",
    display_name="Mallory",
    upn="mallory@contoso.example",
    ip="203.0.113.45",
)
"""The default actor of :meth:`~tests.fakes.azure_rest.AzureRestServer.apply`: a person in
the portal."""


def caller_from_token(token: str, fallback: Caller) -> Caller:
    """The caller a JWT-shaped ``token``'s claims name (``oid``, ``appid``/``azp``, ``tid``,
    ``upn``, ``idtyp``); ``fallback`` for any other token. The signature is not checked."""
    parts = token.split(".")
    if len(parts) != 3:
        return fallback
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return fallback
    if not isinstance(claims, dict) or not isinstance(claims.get("oid"), str):
        return fallback
    upn = str(claims.get("upn") or claims.get("unique_name") or "")
    is_app = claims.get("idtyp") == "app" or not upn
    return Caller(
        object_id=claims["oid"],
        kind="app" if is_app else "user",
        app_id=str(claims.get("appid") or claims.get("azp") or ""),
        display_name=str(claims.get("name") or claims.get("app_displayname") or ""),
        upn=upn,
        tenant_id=str(claims.get("tid") or TENANT),
    )


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def operation_name(resource_id: str, method: str) -> str:
    """``Microsoft.Network/networkSecurityGroups/securityRules/write`` for a PUT of a rule:
    the resource type (names dropped) and the verb ARM's authorization checks."""
    provider = resource_id.rsplit("/providers/", 1)[-1].strip("/").split("/")
    types = [provider[0], *provider[1::2]] if provider and provider[0] else []
    verb = {"DELETE": "delete", "POST": "action"}.get(method.upper(), "write")
    return "/".join([*types, verb])


def resource_event(
    *,
    resource_id: str,
    method: str,
    caller: Caller,
    audience: str,
    url: str,
    client_request_id: str,
    correlation_id: str,
) -> dict[str, Any]:
    """The Event Grid event of a successful ARM write (see the module notes)."""
    parts = resource_id.split("/")
    subscription = parts[2] if len(parts) > 2 and parts[1].lower() == "subscriptions" else ""
    event_type = {
        "DELETE": "Microsoft.Resources.ResourceDeleteSuccess",
        "POST": "Microsoft.Resources.ResourceActionSuccess",
    }.get(method.upper(), "Microsoft.Resources.ResourceWriteSuccess")
    operation = operation_name(resource_id, method)
    return {
        "subject": resource_id,
        "eventType": event_type,
        "eventTime": _now(),
        "id": str(uuid.uuid4()),
        "data": {
            "authorization": {
                "scope": resource_id,
                "action": operation,
                "evidence": {
                    "role": "Contributor",
                    "principalId": caller.object_id,
                    "principalType": "ServicePrincipal" if caller.kind == "app" else "User",
                },
            },
            "claims": caller.claims(audience),
            "correlationId": correlation_id,
            "httpRequest": {
                "clientRequestId": client_request_id,
                "clientIpAddress": caller.ip,
                "method": method.upper(),
                "url": url,
            },
            "resourceProvider": operation.split("/", 1)[0],
            "resourceUri": resource_id,
            "operationName": operation,
            "status": "Succeeded",
            "subscriptionId": subscription,
            "tenantId": caller.tenant_id,
        },
        "dataVersion": "2",
        "metadataVersion": "1",
        "topic": f"/subscriptions/{subscription}" if subscription else "/",
    }


def audit_record(
    *,
    category: str,
    activity: str,
    operation: str,
    caller: Caller,
    target: Mapping[str, Any],
    correlation_id: str,
    service: str = "Core Directory",
) -> dict[str, Any]:
    """The directoryAudit record of a successful Graph write (see the module notes)."""
    return {
        "id": f"Directory_{uuid.uuid4()}",
        "category": category,
        "correlationId": correlation_id,
        "result": "success",
        "resultReason": "",
        "activityDisplayName": activity,
        "activityDateTime": _now(),
        "loggedByService": service,
        "operationType": operation,
        "initiatedBy": caller.initiated_by(),
        "targetResources": [dict(target)],
        "additionalDetails": [],
    }
