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

The sections are the ones the watched kinds declare (``Kind.reads``; :func:`sections`): a
new kind's section is read, stored and loaded with no change here. A section no kind declares
is kept in ``unknown`` and reported, never silently dropped. The flattened shapes ``az``
prints (``az network nsg list``, ``az role assignment list`` ...) are accepted where the
section declares a converter, as are raw list responses (``{"value": [...]}``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ._errors import SnapshotError

if TYPE_CHECKING:
    from .kinds import Section

__all__ = [
    "GROUPS",
    "SCHEMA_ID",
    "SectionStatus",
    "Snapshot",
    "declared_sections",
    "is_unreadable",
    "json_type",
    "shown",
    "unreadable",
]

SCHEMA_ID = "driftkeeper.snapshot/1"
GROUPS = ("arm", "graph")
"""The services a section is read from: its name is ``<group>.<name>``."""

SectionStatus = Literal["captured", "missing", "failed"]


def unreadable(where: str, problem: str) -> dict[str, str]:
    """The normalized state of a live value a kind cannot read (``where``: which one).

    It equals no baseline value, so it is drift; a guard that meets it judges the resource
    as not compliant (fail closed)."""
    return {"unreadable": f"{where}: {problem}" if where else problem}


def is_unreadable(value: Any) -> bool:
    """Whether a normalized value is :func:`unreadable`'s."""
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("unreadable"), str)


def json_type(value: object) -> str:
    """The JSON type of a value, for messages (``a string``, ``an object`` ...)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return {dict: "an object", list: "a list", str: "a string", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def shown(value: object, limit: int = 60) -> str:
    """A JSON value as a message shows it: its JSON text, cut at ``limit`` characters."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = json_type(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def declared_sections() -> dict[str, Section]:
    """Every section of the snapshot document, as the kinds declare them, in order."""
    from .kinds import all_sections

    found = all_sections()
    return {name: found[name] for group in GROUPS for name in found if name.startswith(group + ".")}


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
    unknown: tuple[str, ...] = ()
    """Sections of the document that no kind declares (``arm.keyVaults``): not judged."""

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
        declared = declared_sections()
        found: dict[str, Any] = {}
        unknown: list[str] = []
        for group in GROUPS:
            part = doc.get(group)
            if part is None:
                continue
            if not isinstance(part, dict):
                raise SnapshotError(source, group, f"expected an object, got {_type(part)}")
            for name, value in part.items():
                key = f"{group}.{name}"
                if key in declared:
                    found[key] = _section_value(source, declared[key], value)
                else:
                    unknown.append(key)
        ordered = {name: found[name] for name in declared if name in found}
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
        return cls(tenant, captured, ordered, dict(errors), source, read, tuple(unknown))

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

    @classmethod
    def merge(cls, snapshots: Sequence[Snapshot]) -> Snapshot:
        """One snapshot holding what several partial reads fetched (a guard that declares
        more than one): the sections and read errors of all of them (a section one read
        captured is not failed because another could not read it), the earliest capture
        time, and the subscriptions read (None, all of them, if any read does not say)."""
        if len(snapshots) == 1:
            return snapshots[0]
        from ._time import parse_time

        sections: dict[str, Any] = {}
        errors: dict[str, str] = {}
        subscriptions: set[str] | None = set()
        for snapshot in snapshots:
            sections.update(snapshot.sections)
            errors.update(snapshot.read_errors)
            if snapshot.subscriptions is None or subscriptions is None:
                subscriptions = None
            else:
                subscriptions.update(snapshot.subscriptions)

        def when(text: str) -> datetime:
            try:
                return parse_time(text)
            except ValueError:
                return datetime.max.replace(tzinfo=UTC)

        times = [s.captured_at for s in snapshots if s.captured_at]
        return cls(
            tenant_id=next((s.tenant_id for s in snapshots if s.tenant_id), ""),
            captured_at=min(times, key=when) if times else "",
            sections=sections,
            read_errors={k: v for k, v in errors.items() if k not in sections},
            source=" + ".join(dict.fromkeys(s.source for s in snapshots)),
            subscriptions=None if subscriptions is None else tuple(sorted(subscriptions)),
            unknown=tuple(dict.fromkeys(n for s in snapshots for n in s.unknown)),
        )

    def notices(self) -> list[str]:
        """What people should know about the document itself (sections no kind reads)."""
        return [f"{name}: no watched kind reads this section; not judged" for name in self.unknown]

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


def _section_value(source: str, section: Section, value: Any) -> Any:
    key = section.name
    if section.shape == "object":
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
    converter = getattr(section, "from_az", None)
    if converter is None:
        return value
    return [item if "properties" in item else converter(item) for item in value]
