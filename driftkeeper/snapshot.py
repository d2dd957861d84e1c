"""The snapshot document: one format for "the state of a tenant".

A snapshot is JSON::

    {
      "schema": "driftkeeper.snapshot/1",
      "tenantId": "...",
      "capturedAt": "2026-11-22T10:00:00Z",
      "arm":   {"networkSecurityGroups": [...], "roleAssignments": [...], "roleDefinitions": [...]},
      "graph": {"conditionalAccessPolicies": [...], "directoryRoleAssignments": [...],
                "directoryRoleEligibilitySchedules": [...], "directoryRoleDefinitions": [...],
                "securityDefaults": {...}, "authenticationMethodsPolicy": {...}},
      "readErrors": {"graph.directoryRoleEligibilitySchedules": "403 Forbidden: ..."},
      "subscriptions": ["<id>", ...]
    }

ARM objects are kept exactly as ARM REST returns them (``properties``-wrapped); Graph objects
as Graph v1.0 returns them. A section that is absent was *not captured*: the kinds reading it
are skipped with a notice. An empty list means "none exist". A section named in
``readErrors`` was attempted and failed: the kinds reading it report an error finding.
``subscriptions``, when present, lists the subscriptions the ARM sections were read from:
baselines of other subscriptions are skipped, never read as deleted. Without it (a snapshot
built from ``az`` output, say) every subscription counts as read.

The flattened shapes printed by ``az network nsg list``, ``az role assignment list`` and
``az role definition list`` are accepted too and converted to the REST shape on load, as are
raw list responses (``{"value": [...]}``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ._errors import SnapshotError

__all__ = [
    "ARM_SECTIONS",
    "GRAPH_SECTIONS",
    "SCHEMA_ID",
    "SECTIONS",
    "SectionStatus",
    "Snapshot",
]

SCHEMA_ID = "driftkeeper.snapshot/1"

ARM_SECTIONS: tuple[str, ...] = ("networkSecurityGroups", "roleAssignments", "roleDefinitions")
GRAPH_SECTIONS: tuple[str, ...] = (
    "conditionalAccessPolicies",
    "directoryRoleAssignments",
    "directoryRoleEligibilitySchedules",
    "directoryRoleDefinitions",
    "securityDefaults",
    "authenticationMethodsPolicy",
)
_OBJECT_SECTIONS = frozenset({"graph.securityDefaults", "graph.authenticationMethodsPolicy"})
SECTIONS: tuple[str, ...] = tuple(f"arm.{s}" for s in ARM_SECTIONS) + tuple(
    f"graph.{s}" for s in GRAPH_SECTIONS
)

SectionStatus = Literal["captured", "missing", "failed"]


@dataclass(frozen=True)
class Snapshot:
    """The captured state of one tenant, section by section (``"arm.roleAssignments"`` ...)."""

    tenant_id: str
    captured_at: str
    sections: Mapping[str, Any]
    read_errors: Mapping[str, str] = field(default_factory=dict)
    source: str = "<snapshot>"
    subscriptions: tuple[str, ...] | None = None
    """Subscriptions the ARM sections cover (casefolded); None: unknown, all of them."""

    def covers_subscription(self, scope: str) -> bool:
        """Whether an ARM ``scope`` lies in a subscription this snapshot read."""
        if self.subscriptions is None or not scope.casefold().startswith("/subscriptions/"):
            return True
        return scope.split("/")[2].casefold() in self.subscriptions

    @classmethod
    def from_file(cls, path: str | Path) -> Snapshot:
        """Read and validate a snapshot file; raise :class:`SnapshotError` naming the file."""
        name = str(path)
        try:
            text = Path(path).read_bytes()
        except OSError as exc:
            raise SnapshotError(name, "", f"cannot read file ({exc.strerror})") from exc
        try:
            doc = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SnapshotError(name, "", f"not valid JSON ({exc})") from exc
        return cls.from_dict(doc, source=name)

    @classmethod
    def from_dict(cls, doc: Any, *, source: str = "<snapshot>") -> Snapshot:
        """Validate a parsed snapshot document and convert ``az`` shapes to the REST shape."""
        if not isinstance(doc, dict):
            raise SnapshotError(source, "", "expected a JSON object at the top level")
        if doc.get("schema") != SCHEMA_ID:
            raise SnapshotError(
                source, "schema", f"expected {SCHEMA_ID!r}, got {doc.get('schema')!r}"
            )
        tenant = doc.get("tenantId", "")
        captured = doc.get("capturedAt", "")
        for key, value in (("tenantId", tenant), ("capturedAt", captured)):
            if not isinstance(value, str):
                raise SnapshotError(source, key, f"expected a string, got {_type(value)}")
        sections: dict[str, Any] = {}
        for group, names in (("arm", ARM_SECTIONS), ("graph", GRAPH_SECTIONS)):
            part = doc.get(group)
            if part is None:
                continue
            if not isinstance(part, dict):
                raise SnapshotError(source, group, f"expected an object, got {_type(part)}")
            for name in names:
                if name in part:
                    key = f"{group}.{name}"
                    sections[key] = _section_value(source, key, part[name])
        subs = doc.get("subscriptions")
        if subs is not None and not (
            isinstance(subs, list) and all(isinstance(x, str) for x in subs)
        ):
            raise SnapshotError(source, "subscriptions", "expected a list of subscription ids")
        errors = doc.get("readErrors") or {}
        if not isinstance(errors, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in errors.items()
        ):
            raise SnapshotError(source, "readErrors", "expected an object of section: message")
        read = None if subs is None else tuple(x.casefold() for x in subs)
        return cls(tenant, captured, sections, dict(errors), source, read)

    def status(self, section: str) -> SectionStatus:
        """Whether ``section`` was captured, not captured, or attempted and failed."""
        if section in self.read_errors:
            return "failed"
        return "captured" if section in self.sections else "missing"

    def items(self, section: str) -> list[dict[str, Any]]:
        """The objects of a list section (``[]`` when not captured: check :meth:`status`)."""
        value = self.sections.get(section)
        return value if isinstance(value, list) else []

    def object(self, section: str) -> dict[str, Any] | None:
        """The single object of an object section, ``None`` when not captured."""
        value = self.sections.get(section)
        return value if isinstance(value, dict) else None

    def to_dict(self) -> dict[str, Any]:
        """The snapshot as a ``driftkeeper.snapshot/1`` document."""
        doc: dict[str, Any] = {
            "schema": SCHEMA_ID,
            "tenantId": self.tenant_id,
            "capturedAt": self.captured_at,
        }
        for key, value in self.sections.items():
            group, name = key.split(".", 1)
            doc.setdefault(group, {})[name] = value
        if self.read_errors:
            doc["readErrors"] = dict(self.read_errors)
        if self.subscriptions is not None:
            doc["subscriptions"] = list(self.subscriptions)
        return doc


def _type(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _section_value(source: str, key: str, value: Any) -> Any:
    if key in _OBJECT_SECTIONS:
        if not isinstance(value, dict):
            raise SnapshotError(source, key, f"expected an object, got {_type(value)}")
        return value
    if isinstance(value, dict) and isinstance(value.get("value"), list):
        value = value["value"]  # a raw ARM / Graph list response
    if not isinstance(value, list):
        raise SnapshotError(source, key, f"expected a list, got {_type(value)}")
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise SnapshotError(source, f"{key}[{index}]", f"expected an object, got {_type(item)}")
    converter = _AZ_CONVERTERS.get(key)
    if converter is None:
        return value
    return [item if "properties" in item else converter(item) for item in value]


# --- az CLI flattened shapes -> ARM REST shapes ------------------------------------------------
_ENVELOPE = ("id", "name", "type", "etag", "location", "tags")
_AZ_ONLY = ("resourceGroup",)


def _wrap(item: dict[str, Any], rename: Mapping[str, str] | None = None) -> dict[str, Any]:
    outer = {k: item[k] for k in _ENVELOPE if k in item}
    inner: dict[str, Any] = {}
    for key, value in item.items():
        if key in _ENVELOPE or key in _AZ_ONLY:
            continue
        inner[(rename or {}).get(key, key)] = value
    outer["properties"] = inner
    return outer


def _az_nsg(item: dict[str, Any]) -> dict[str, Any]:
    nsg = _wrap(item)
    props = nsg["properties"]
    for rules in ("securityRules", "defaultSecurityRules"):
        if isinstance(props.get(rules), list):
            props[rules] = [
                r if not isinstance(r, dict) or "properties" in r else _wrap(r)
                for r in props[rules]
            ]
    return nsg


def _az_role_assignment(item: dict[str, Any]) -> dict[str, Any]:
    return _wrap(item)


def _az_role_definition(item: dict[str, Any]) -> dict[str, Any]:
    # az prints the role's type (BuiltInRole / CustomRole) as roleType, the resource type as type.
    return _wrap(item, {"roleType": "type"})


_AZ_CONVERTERS = {
    "arm.networkSecurityGroups": _az_nsg,
    "arm.roleAssignments": _az_role_assignment,
    "arm.roleDefinitions": _az_role_definition,
}
