"""Parsing what the triggers receive into :class:`Signal` values.

Accepted:

- Event Grid schema events and CloudEvents 1.0 (``specversion`` or the ``specVersion``
  spelling some samples use), parsed with azure-eventgrid's ``EventGridEvent`` and
  azure-core's ``CloudEvent``; ``data`` and its ``claims`` / ``authorization`` /
  ``httpRequest`` fields may be objects or JSON-encoded strings;
- Microsoft Graph change notifications delivered through an Event Grid partner topic
  (CloudEvents of type ``Microsoft.Graph.*``);
- Entra ID ``directoryAudit`` records (a Graph list response ``{"value": [...]}`` too).

Anything else, or anything those models reject, becomes an :class:`Invalid` with the reason:
recorded and acknowledged, never retried forever.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from typing import Any

from .signals import Actor, Signal

__all__ = ["Invalid", "Parsed", "parse_event", "parse_events", "resource_success_types"]

_UPN = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
_NAME = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
_OID = "http://schemas.microsoft.com/identity/claims/objectidentifier"
_MAX_ID = 200


@dataclass(frozen=True)
class Invalid:
    """An item that could not be read as a signal, and why."""

    id: str
    reason: str
    source: str = "unknown"
    time: str = ""
    """The item's own time when it has a readable one (keeps redelivered rows together)."""


Parsed = Signal | Invalid


def parse_events(payload: Any) -> list[Parsed]:
    """Every item of a payload: one event, a batch (list) or a Graph list response."""
    if isinstance(payload, Mapping) and isinstance(payload.get("value"), list):
        payload = payload["value"]
    items = payload if isinstance(payload, list) else [payload]
    return [parse_event(item) for item in items]


def parse_event(item: Any) -> Parsed:
    """One item to a :class:`Signal`, or :class:`Invalid` with the reason."""
    if not isinstance(item, Mapping):
        return Invalid(_digest(item), f"expected a JSON object, got {type(item).__name__}")
    ident = _text(item.get("id")) or _digest(item)
    parsed = _parse(item, ident)
    if not parsed.id:  # an id made only of unprintable characters
        parsed = replace(parsed, id=ident)
    if isinstance(parsed, Invalid) and not parsed.time:
        when = item.get("eventTime") or item.get("time") or item.get("activityDateTime")
        return replace(parsed, time=_text(when)[:40])
    return parsed


def _parse(item: Mapping[str, Any], ident: str) -> Parsed:
    try:
        if "specversion" in item or "specVersion" in item:
            return _cloud_event(item)
        if "eventType" in item:
            return _event_grid_event(item)
        if "activityDisplayName" in item or "loggedByService" in item:
            return _audit_record(item)
    except Exception as exc:  # untrusted input: whatever the models reject is "invalid"
        return Invalid(ident, f"rejected: {_short(_text(str(exc)) or type(exc).__name__)}")
    return Invalid(ident, "not an Event Grid event, a CloudEvent or a directoryAudit record")


# --- Event Grid and CloudEvents --------------------------------------------------------------


def _event_grid_event(item: Mapping[str, Any]) -> Parsed:
    from azure.eventgrid import EventGridEvent

    missing = [
        k for k in ("id", "eventType", "subject", "eventTime", "data") if item.get(k) is None
    ]
    if missing:
        ident = _text(item.get("id")) or _digest(item)
        return Invalid(ident, f"missing {', '.join(missing)}", "eventgrid")
    event = EventGridEvent.from_dict(dict(item))
    data = _object(event.data)
    if event.event_type.startswith("Microsoft.Graph."):  # a partner topic in Event Grid schema
        return _graph_notification(
            event.id, event.event_type, event.event_time, event.subject, data
        )
    return _resource_signal(
        ident=event.id,
        source="eventgrid",
        event_type=event.event_type,
        when=event.event_time,
        subject=event.subject,
        data=data,
    )


def _cloud_event(item: Mapping[str, Any]) -> Parsed:
    from azure.core.messaging import CloudEvent

    body = dict(item)
    if "specVersion" in body:
        body["specversion"] = body.pop("specVersion")
    event: Any = CloudEvent.from_dict(body)
    data = _object(event.data)
    if event.type.startswith("Microsoft.Graph."):
        return _graph_notification(event.id, event.type, event.time, event.subject or "", data)
    return _resource_signal(
        ident=event.id,
        source="cloudevents",
        event_type=event.type,
        when=event.time,
        subject=event.subject or "",
        data=data,
    )


def _resource_signal(
    *, ident: str, source: str, event_type: str, when: Any, subject: str, data: Mapping[str, Any]
) -> Signal:
    claims = _object(data.get("claims"))
    http = _object(data.get("httpRequest"))
    authz = _object(data.get("authorization"))
    evidence = _object(authz.get("evidence"))
    suffix = event_type.rsplit(".", 1)[-1]
    status = next((s for s in ("Success", "Failure", "Cancel") if suffix.endswith(s)), "")
    actor = Actor(
        upn=_text(claims.get(_UPN) or claims.get("upn") or claims.get(_NAME)),
        app_id=_text(claims.get("appid") or claims.get("azp")),
        object_id=_text(claims.get(_OID) or claims.get("oid") or evidence.get("principalId")),
        ip=_text(claims.get("ipaddr") or http.get("clientIpAddress")),
    )
    return Signal(
        id=_text(ident),
        source=source,  # type: ignore[arg-type]
        type=event_type,
        time=_iso(when),
        resource=_text(data.get("resourceUri") or subject),
        operation=_text(data.get("operationName") or authz.get("action")),
        status={"Success": "succeeded", "Failure": "failed", "Cancel": "canceled"}.get(status, ""),
        correlation_id=_text(data.get("correlationId")),
        actor=actor,
        category="arm",
    )


def _graph_notification(
    ident: str, event_type: str, when: Any, subject: str, data: Mapping[str, Any]
) -> Signal:
    resource_data = _object(data.get("resourceData"))
    target = _text(resource_data.get("id")) or subject.rsplit("/", 1)[-1]
    return Signal(
        id=_text(ident),
        source="graph-notification",
        type=event_type,
        time=_iso(when),
        resource=_text(data.get("resource") or subject),
        operation=_text(data.get("changeType")),
        category="graph",
        targets=(f"{_graph_type(event_type)}:{target.casefold()}",) if target else (),
    )


def _graph_type(event_type: str) -> str:
    """``Microsoft.Graph.UserUpdated`` -> ``user``; ``...GroupDeleted`` -> ``group``."""
    name = event_type.rsplit(".", 1)[-1]
    for prefix in ("User", "Group"):
        if name.startswith(prefix):
            return prefix.casefold()
    return name.casefold()


# --- Entra audit records ---------------------------------------------------------------------


def _audit_record(item: Mapping[str, Any]) -> Parsed:
    ident = _text(item.get("id"))
    if not ident or not item.get("activityDateTime"):
        return Invalid(
            ident or _digest(item), "directoryAudit record without id or activityDateTime", "audit"
        )
    initiated = _object(item.get("initiatedBy"))
    user = _object(initiated.get("user"))
    app = _object(initiated.get("app"))
    targets_raw = item.get("targetResources")
    if targets_raw is None and isinstance(item.get("targetResource"), list):
        targets_raw = item["targetResource"]  # a documented typo, seen in the wild
    targets: list[str] = []
    for target in targets_raw or []:
        if not isinstance(target, Mapping):
            continue
        kind = _text(target.get("type") or target.get("Type")).casefold() or "object"
        if target.get("id"):
            targets.append(f"{kind}:{_text(target['id']).casefold()}")
        for prop in target.get("modifiedProperties") or []:
            if isinstance(prop, Mapping) and prop.get("displayName") == "Role.TemplateId":
                value = _text(prop.get("newValue") or prop.get("oldValue")).strip('"')
                if value:
                    targets.append(f"roletemplate:{value.casefold()}")
    return Signal(
        id=ident,
        source="audit",
        type=_text(item.get("activityDisplayName")),
        time=_iso(item.get("activityDateTime")),
        resource=targets[0].partition(":")[2] if targets else "",
        operation=_text(item.get("activityDisplayName")),
        # "timeout" and unknown results may still have changed something: judge them
        status="failed" if _text(item.get("result")).casefold() == "failure" else "succeeded",
        correlation_id=_text(item.get("correlationId")),
        actor=Actor(
            upn=_text(user.get("userPrincipalName")),
            app_id=_text(app.get("appId")),
            object_id=_text(user.get("id") or app.get("servicePrincipalId")),
            ip=_text(user.get("ipAddress")),
        ),
        category=_text(item.get("category")),
        targets=tuple(dict.fromkeys(targets)),
    )


@cache
def resource_success_types() -> frozenset[str]:
    """The ARM event types that mean a change was made (azure-eventgrid's names)."""
    from azure.eventgrid import SystemEventNames

    return frozenset(
        str(name.value)
        for name in (
            SystemEventNames.ResourceWriteSuccessEventName,
            SystemEventNames.ResourceDeleteSuccessEventName,
            SystemEventNames.ResourceActionSuccessEventName,
        )
    )


# --- small helpers ---------------------------------------------------------------------------


def _object(value: Any) -> Mapping[str, Any]:
    """A mapping, from a mapping or a JSON-encoded string of one; else empty."""
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return {}
        return parsed if isinstance(parsed, Mapping) else {}
    return {}


def _digest(item: Any) -> str:
    """A stable id for an item that has none, so a redelivery records the same row."""
    text = json.dumps(item, sort_keys=True, default=str, ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:32]


def _text(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():  # the common case, without a loop in Python
        return text[:2048]
    return "".join(c for c in text if c.isprintable())[:2048]


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return _text(value)


def _short(text: str) -> str:
    return text if len(text) <= _MAX_ID else text[: _MAX_ID - 1] + "…"
