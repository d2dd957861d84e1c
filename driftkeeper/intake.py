"""Parsing what the triggers receive into :class:`Signal` values, in one pass.

Accepted:

- the Event Grid trigger's own objects (``func.EventGridEvent``, ``func.CloudEvent``), read
  from their attributes by :func:`parse_trigger` (duck-typed: no dict is rebuilt, nothing is
  parsed twice);
- JSON documents (``driftkeeper replay``, the audit poll, tests): Event Grid schema events
  and CloudEvents 1.0 (``specversion`` or the ``specVersion`` spelling some samples use),
  checked here field by field (required fields present and strings, CloudEvents extension
  names lower-case alphanumeric); ``data`` and its ``claims`` / ``authorization`` /
  ``httpRequest`` fields may be objects or JSON-encoded strings;
- Microsoft Graph change notifications delivered through an Event Grid partner topic
  (type ``Microsoft.Graph.*``, either schema);
- Entra ID ``directoryAudit`` records (a Graph list response ``{"value": [...]}`` too).

Everything is untrusted: a missing or mistyped field, an id or subject too long to be an
Azure one, anything else becomes an :class:`Invalid` with the reason (recorded and
acknowledged, never retried forever), never an exception.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from .signals import Actor, Signal

__all__ = [
    "Invalid",
    "Parsed",
    "parse_event",
    "parse_events",
    "parse_trigger",
    "resource_success_types",
    "unreadable",
]

_UPN = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
_NAME = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
_OID = "http://schemas.microsoft.com/identity/claims/objectidentifier"
_MAX_ID = 200
"""Longest reason text kept from an exception."""
MAX_LENGTHS = {"id": 1024, "type": 512, "source": 4096, "subject": 4096, "time": 64}
"""The longest value accepted for each envelope field (longer: :class:`Invalid`)."""
_CLOUD_EVENT_ATTRIBUTES = frozenset(
    {
        "id", "source", "type", "specversion", "specVersion", "time", "subject",
        "datacontenttype", "dataschema", "data", "data_base64",
    }
)  # fmt: skip
_EXTENSION_NAME = re.compile(r"[a-z0-9]+")


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
    """One JSON item to a :class:`Signal`, or :class:`Invalid` with the reason."""
    if not isinstance(item, Mapping):
        return Invalid(_digest(item), f"expected a JSON object, got {type(item).__name__}")
    if "specversion" in item or "specVersion" in item:
        return _cloud_event_document(item)
    if "eventType" in item:
        return _event_grid_document(item)
    if "activityDisplayName" in item or "loggedByService" in item:
        return _audit_record(item)
    return _invalid(
        item, "not an Event Grid event, a CloudEvent or a directoryAudit record", "unknown"
    )


def parse_trigger(event: Any) -> Parsed:
    """The Event Grid trigger's event, read from its attributes, to a :class:`Signal`.

    Duck-typed on what the Functions worker hands over: an Event Grid schema event has
    ``id``, ``subject``, ``event_type``, ``event_time`` and ``get_json()``; a CloudEvent has
    ``id``, ``type``, ``source``, ``subject``, ``time`` and ``get_json()``. The values come
    from the wire, so they are checked like a JSON document's.
    """
    if hasattr(event, "event_type"):
        fields: dict[str, Any] = {
            "id": getattr(event, "id", None),
            "eventType": event.event_type,
            "subject": getattr(event, "subject", None),
            "eventTime": getattr(event, "event_time", None),
            "data": event.get_json(),
        }
        return _event_grid(fields)
    if hasattr(event, "type") and hasattr(event, "source"):
        fields = {
            "id": getattr(event, "id", None),
            "type": event.type,
            "source": event.source,
            "subject": getattr(event, "subject", None),
            "time": getattr(event, "time", None),
            "data": event.get_json(),
        }
        return _cloud_event(fields)
    return Invalid(_event_digest(event), f"not an Event Grid event: {type(event).__name__}")


_TRIGGER_ATTRIBUTES = ("id", "type", "event_type", "source", "subject", "time", "event_time")


def _event_digest(event: Any) -> str:
    """A stable id for a trigger's event (its envelope attributes; never the object's
    default repr, which differs from one delivery to the next)."""
    return _digest({k: repr(getattr(event, k, None))[:4096] for k in _TRIGGER_ATTRIBUTES})


def unreadable(event: Any, reason: str) -> Invalid:
    """An :class:`Invalid` for a trigger's event that could not be processed at all (keyed
    by its id when that is a usable string, else by a digest of what it holds)."""
    ident = getattr(event, "id", None)
    if isinstance(ident, str) and len(ident) <= MAX_LENGTHS["id"] and _text(ident):
        key = _text(ident)
    else:
        key = _event_digest(event)
    source = "cloudevents" if hasattr(event, "specversion") else "eventgrid"
    return Invalid(key, reason, source)


# --- Event Grid and CloudEvents --------------------------------------------------------------

# (field, length class in MAX_LENGTHS, required)
_GRID_FIELDS = (
    ("id", "id", True),
    ("eventType", "type", True),
    ("subject", "subject", True),
    ("eventTime", "time", True),
)
_CLOUD_FIELDS = (
    ("id", "id", True),
    ("type", "type", True),
    ("source", "source", True),
    ("subject", "subject", False),
    ("time", "time", True),
)


def _event_grid_document(item: Mapping[str, Any]) -> Parsed:
    missing = [
        k for k in ("id", "eventType", "subject", "eventTime", "data") if item.get(k) is None
    ]
    if missing:
        return _invalid(item, f"missing {', '.join(missing)}", "eventgrid")
    return _event_grid(item)


def _cloud_event_document(item: Mapping[str, Any]) -> Parsed:
    if "data" in item and "data_base64" in item:
        return _invalid(item, "both data and data_base64", "cloudevents")
    for name in item:
        if name in _CLOUD_EVENT_ATTRIBUTES:
            continue
        if not (isinstance(name, str) and len(name) <= 64 and _EXTENSION_NAME.fullmatch(name)):
            reason = f"extension attribute {_short(_text(name))!r} is not lower-case alphanumeric"
            return _invalid(item, reason, "cloudevents")
    return _cloud_event(item)


def _event_grid(fields: Mapping[str, Any]) -> Parsed:
    """An Event Grid schema event from its fields (the document's names), checked."""
    problem = _check(fields, _GRID_FIELDS)
    if problem:
        return _invalid(fields, problem, "eventgrid")
    ident = _signal_id(fields)
    event_type: str = fields["eventType"]
    data = _object(fields.get("data"))
    if event_type.startswith("Microsoft.Graph."):  # a partner topic in Event Grid schema
        return _graph_notification(ident, event_type, fields["eventTime"], fields["subject"], data)
    return _resource_signal(
        ident=ident,
        source="eventgrid",
        event_type=event_type,
        when=fields["eventTime"],
        subject=fields["subject"],
        data=data,
    )


def _cloud_event(fields: Mapping[str, Any]) -> Parsed:
    """A CloudEvent from its fields (the attribute names), checked."""
    problem = _check(fields, _CLOUD_FIELDS)
    if problem:
        return _invalid(fields, problem, "cloudevents")
    ident = _signal_id(fields)
    event_type: str = fields["type"]
    subject: str = fields.get("subject") or ""
    data = _object(fields.get("data"))
    if event_type.startswith("Microsoft.Graph."):
        return _graph_notification(ident, event_type, fields["time"], subject, data)
    return _resource_signal(
        ident=ident,
        source="cloudevents",
        event_type=event_type,
        when=fields["time"],
        subject=subject,
        data=data,
    )


def _check(fields: Mapping[str, Any], spec: tuple[tuple[str, str, bool], ...]) -> str:
    """Why the envelope fields are unusable ("" when they are fine): each a string (a time
    may be a datetime: the trigger's objects carry one) no longer than its limit."""
    for name, limit, required in spec:
        value = fields.get(name)
        if value is None:
            if required:
                return f"missing {name}"
            continue
        if limit == "time" and isinstance(value, datetime):
            continue
        if not isinstance(value, str):
            return f"{name} must be a string, not {type(value).__name__}"
        if len(value) > MAX_LENGTHS[limit]:
            return f"{name} longer than {MAX_LENGTHS[limit]} characters"
        if limit in ("type", "source") and not value:
            return f"{name} is empty"
    return ""


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
    ident, when = item.get("id"), item.get("activityDateTime")
    if not isinstance(ident, str) or not _text(ident) or not isinstance(when, str) or not when:
        return _invalid(item, "directoryAudit record without id or activityDateTime", "audit")
    if len(ident) > MAX_LENGTHS["id"] or len(when) > MAX_LENGTHS["time"]:
        return _invalid(item, "directoryAudit record with an oversized id or time", "audit")
    initiated = _object(item.get("initiatedBy"))
    user = _object(initiated.get("user"))
    app = _object(initiated.get("app"))
    targets_raw = item.get("targetResources")
    if targets_raw is None and isinstance(item.get("targetResource"), list):
        targets_raw = item["targetResource"]  # a documented typo, seen in the wild
    targets: list[str] = []
    for target in targets_raw if isinstance(targets_raw, list) else []:
        if not isinstance(target, Mapping):
            continue
        kind = _text(target.get("type") or target.get("Type")).casefold() or "object"
        if target.get("id"):
            targets.append(f"{kind}:{_text(target['id']).casefold()}")
        properties = target.get("modifiedProperties")
        for prop in properties if isinstance(properties, list) else []:
            if isinstance(prop, Mapping) and prop.get("displayName") == "Role.TemplateId":
                value = _text(prop.get("newValue") or prop.get("oldValue")).strip('"')
                if value:
                    targets.append(f"roletemplate:{value.casefold()}")
    return Signal(
        id=_text(ident),
        source="audit",
        type=_text(item.get("activityDisplayName")),
        time=_text(when),
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
    try:
        text = json.dumps(item, sort_keys=True, default=str, ensure_ascii=False)
    except (TypeError, ValueError):  # keys JSON cannot sort (never from the wire)
        text = _flat(item)
    except RecursionError:  # nested deeper than the encoder's stack: walk it with a list
        text = _flat(item)
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _flat(item: Any) -> str:
    """A canonical text of ``item`` however deep it is nested (no recursion): containers
    as brackets, mapping keys in sorted order, anything else as its ``repr``."""
    out: list[str] = []
    stack: list[Any] = [item]
    while stack:
        value = stack.pop()
        if isinstance(value, _Mark):
            out.append(value.text)
        elif isinstance(value, Mapping):
            pairs = sorted(((repr(k), v) for k, v in value.items()), key=lambda kv: kv[0])
            stack.append(_Mark("}"))
            for key, inner in reversed(pairs):
                stack.extend((_Mark(","), inner, _Mark(key + ":")))
            stack.append(_Mark("{"))
        elif isinstance(value, list | tuple):
            stack.append(_Mark("]"))
            for inner in reversed(value):
                stack.extend((_Mark(","), inner))
            stack.append(_Mark("["))
        else:
            out.append(repr(value))
    return "".join(out)


@dataclass(frozen=True)
class _Mark:
    """Literal text in :func:`_flat`'s work list."""

    text: str


def _signal_id(fields: Mapping[str, Any]) -> str:
    """The checked id, printable; a stable digest when nothing printable is left."""
    return _text(fields["id"]) or _digest(dict(fields))


def _invalid(fields: Mapping[str, Any], reason: str, source: str) -> Invalid:
    """An :class:`Invalid` keyed by the item's id (a digest when it has no usable one) and
    carrying its time when that is readable text."""
    ident = fields.get("id")
    usable = isinstance(ident, str) and len(ident) <= MAX_LENGTHS["id"] and _text(ident)
    when = next((fields[k] for k in ("eventTime", "time", "activityDateTime") if fields.get(k)), "")
    return Invalid(
        _text(ident) if usable else _digest(dict(fields)),
        reason,
        source,
        _iso(when)[:40] if isinstance(when, str | datetime) else "",
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():  # the common case, without a loop in Python
        return text[:2048]
    return "".join(c for c in text if c.isprintable())[:2048]


def _iso(value: Any) -> str:
    """An event time as text: a string as received, a datetime in ISO 8601 (naive: UTC)."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.isoformat().replace("+00:00", "Z")
    return _text(value)


def _short(text: str) -> str:
    return text if len(text) <= _MAX_ID else text[: _MAX_ID - 1] + "…"
