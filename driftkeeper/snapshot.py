"""The snapshot document: one format for "the state of a tenant".

A snapshot is JSON (the sections are the ones the kinds declare; these are examples)::

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
is kept in ``unknown`` and reported, never silently dropped; so is any other part of the
document that is not read (a misspelled group such as ``"grpah"``, a ``readErrors`` entry for
a section no kind declares): see :meth:`Snapshot.notices`. The flattened shapes ``az``
prints (``az network nsg list``, ``az role assignment list`` ...) are accepted where the
section declares a converter, as are raw list responses (``{"value": [...]}``).

A hostile or broken document is never a crash, and never silently "no drift". Where a wrong
shape is handled depends on whose it is:

- **The document and the services' envelope: refused** (:class:`SnapshotError` naming the
  field). The top-level fields; a section that is not a list / an object as declared; a list
  item that is not an object, or has no ``id``; in an ARM item, an ``id``, ``name`` or
  ``type`` that is not a string or a ``properties`` that is not an object; in a Graph item
  or object, an ``id`` that is not a string. ARM and Graph send these shapes for every
  resource of every kind, so a document breaking them is not a capture of either (and an
  item without its id could not be told apart from another). So is a document nested deeper
  than :data:`MAX_DEPTH` levels (no ARM or Graph body comes close), which keeps what recurses
  after loading (``str()`` of a value, normalizing a policy, comparing) far from Python's
  recursion limit; :meth:`Snapshot.from_file` also refuses a file too deep to parse.
- **A kind's own fields: unreadable state.** Inside that envelope (an NSG's
  ``properties.securityRules`` and each rule in it, a priority, ``isEnabled``, a method
  configuration, a policy's ``conditions`` ...) the kind reads what it knows; a value of the
  wrong shape becomes :func:`unreadable` state for that setting or item: it differs from
  every baseline (drift, never "compliant"), ``baseline capture`` leaves it out, and a guard
  judging it fails closed. The kinds do the same for envelope values they meet, as the live
  readers build snapshots without this module's checks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeGuard

from ._errors import SnapshotError
from ._gc import paused_gc

if TYPE_CHECKING:
    from .kinds import Section

__all__ = [
    "GROUPS",
    "MAX_DEPTH",
    "SCHEMA_ID",
    "UNREADABLE",
    "SectionStatus",
    "Snapshot",
    "declared_sections",
    "is_unreadable",
    "json_type",
    "shown",
    "unreadable",
    "why_unreadable",
]

SCHEMA_ID = "driftkeeper.snapshot/1"
GROUPS = ("arm", "graph")
"""The services a section is read from: its name is ``<group>.<name>``."""
MAX_DEPTH = 64
"""How deeply a snapshot document may nest (objects and lists); deeper is refused."""
_TOP_LEVEL = frozenset({"schema", "tenantId", "capturedAt", "readErrors", "subscriptions", *GROUPS})
_ARM_ENVELOPE = ("id", "name", "type")

SectionStatus = Literal["captured", "missing", "failed"]


UNREADABLE = "unreadable: "
"""How the normalized value of live state a kind cannot read begins (:func:`unreadable`)."""


def unreadable(where: str, problem: str) -> str:
    """The normalized value of live state a kind cannot read (``where``: which field).

    A string, so that it replaces a setting's or an item's value as one change; it equals no
    baseline value, so it is drift, and a guard that meets it fails closed."""
    return f"{UNREADABLE}{where}: {problem}" if where else f"{UNREADABLE}{problem}"


def is_unreadable(value: object) -> TypeGuard[str]:
    """Whether a normalized value is :func:`unreadable`'s."""
    return isinstance(value, str) and value.startswith(UNREADABLE)


def why_unreadable(value: str) -> str:
    """What :func:`unreadable` said: the field and the problem."""
    return value.removeprefix(UNREADABLE)


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
    ignored: tuple[str, ...] = ()
    """Notices for other parts of the document that were not read (``grpah: not a section
    group (arm, graph); ignored``)."""

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
            with paused_gc():
                doc = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SnapshotError(name, "", f"not valid JSON ({exc})") from exc
        except RecursionError:
            raise SnapshotError(
                name, "", f"nested too deeply (more than {MAX_DEPTH} levels)"
            ) from None
        return cls.from_dict(doc, source=name)

    @classmethod
    def from_dict(cls, doc: Any, *, source: str = "<snapshot>") -> Snapshot:
        """Validate a parsed snapshot document and convert ``az`` shapes to the REST shape."""
        if not isinstance(doc, dict):
            raise SnapshotError(source, "", "expected a JSON object at the top level")
        _check_depth(source, doc)
        if doc.get("schema") != SCHEMA_ID:
            raise SnapshotError(
                source, "schema", f"expected {SCHEMA_ID!r}, got {doc.get('schema')!r}"
            )
        tenant = doc.get("tenantId", "")
        captured = doc.get("capturedAt", "")
        for key, value in (("tenantId", tenant), ("capturedAt", captured)):
            if not isinstance(value, str):
                raise SnapshotError(source, key, f"expected a string, got {json_type(value)}")
        declared = declared_sections()
        found: dict[str, Any] = {}
        unknown: list[str] = []
        ignored = [
            f"{key}: not a section group ({', '.join(GROUPS)}); ignored"
            for key in doc
            if key not in _TOP_LEVEL
        ]
        for group in GROUPS:
            part = doc.get(group)
            if part is None:
                continue
            if not isinstance(part, dict):
                raise SnapshotError(source, group, f"expected an object, got {json_type(part)}")
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
        ignored += [
            f"readErrors: {key}: no watched kind reads this section; ignored"
            for key in errors
            if key not in declared
        ]
        read = None if subs is None else tuple(x.casefold() for x in subs)
        return cls(
            tenant,
            captured,
            ordered,
            {k: v for k, v in errors.items() if k in declared},
            source,
            read,
            tuple(unknown),
            tuple(ignored),
        )

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
            ignored=tuple(dict.fromkeys(n for s in snapshots for n in s.ignored)),
        )

    def notices(self) -> list[str]:
        """What people should know about the document itself (sections no kind reads, other
        parts that were ignored)."""
        unknown = [
            f"{name}: no watched kind reads this section; not judged" for name in self.unknown
        ]
        return unknown + list(self.ignored)

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


_CONTAINERS = (dict, list)  # a tuple: isinstance() is twice as fast as with dict | list


def _check_depth(source: str, doc: dict[str, Any]) -> None:
    """Refuse a document with an object or list deeper than :data:`MAX_DEPTH` (the error
    names the section, or the top-level field).

    About 150 ms of a 70 MB snapshot (a twentieth of the scan command): the price of never
    reaching Python's recursion limit later (``str()`` of a value, normalizing a policy,
    comparing states all recurse)."""
    for where, value, depth in _depth_parts(doc):
        if not isinstance(value, _CONTAINERS):
            continue
        try:
            too_deep = depth > MAX_DEPTH or _too_deep(value, depth)
        except RecursionError:  # called near the limit already: the walk without recursion
            too_deep = _too_deep_by_level(value, depth)
        if too_deep:
            raise SnapshotError(source, where, f"nested too deeply (more than {MAX_DEPTH} levels)")


def _depth_parts(doc: dict[str, Any]) -> list[tuple[str, Any, int]]:
    """What the depth error names, with the value and its depth: each section of a group
    (depth 2), each other top-level field (depth 1)."""
    parts: list[tuple[str, Any, int]] = []
    for key, value in doc.items():
        if key in GROUPS and isinstance(value, dict):
            # loops, not comprehensions: each would be a frame more (Python 3.11), and the
            # fallback below must run wherever the level walk of before ran
            for name, section in value.items():
                parts.append((f"{key}.{name}", section, 2))
        else:
            parts.append((str(key), value, 1))
    return parts


def _too_deep(node: dict[str, Any] | list[Any], depth: int) -> bool:
    """Whether a container below ``node`` (at ``depth`` <= :data:`MAX_DEPTH`) lies deeper
    than :data:`MAX_DEPTH`.

    Depth first, recursing at most :data:`MAX_DEPTH` frames: it visits the objects in the
    order ``json.loads`` made them, near each other in memory, and takes about 60% of the
    time of :func:`_too_deep_by_level`, whose level-by-level order misses the CPU cache on
    nearly every one of a large snapshot's million values."""
    for child in node.values() if isinstance(node, dict) else node:
        if isinstance(child, _CONTAINERS) and (depth >= MAX_DEPTH or _too_deep(child, depth + 1)):
            return True
    return False


def _too_deep_by_level(value: dict[str, Any] | list[Any], depth: int) -> bool:
    """:func:`_too_deep` (and ``depth`` > :data:`MAX_DEPTH`), level by level without
    recursion."""
    level: list[Any] = [value]
    while level:
        if depth > MAX_DEPTH:
            return True
        below: list[Any] = []
        for node in level:
            for child in node.values() if isinstance(node, dict) else node:
                if isinstance(child, _CONTAINERS):  # no comprehension: no frame more
                    below.append(child)
        level = below
        depth += 1
    return False


def _check_envelope(source: str, section: Section, where: str, item: dict[str, Any]) -> None:
    """The fields ARM (``id``, ``name``, ``type``, ``properties``) or Graph (``id``) give
    every item, whatever the kind: of their type when present, and an item of a list always
    has its ``id``."""
    if section.shape == "list" and not item.get("id"):
        raise SnapshotError(source, f"{where}.id", "is required (a non-empty string)")
    strings = _ARM_ENVELOPE if section.api == "arm" else ("id",)
    for name in strings:
        if name in item and not isinstance(item[name], str):
            problem = f"expected a string, got {json_type(item[name])}"
            raise SnapshotError(source, f"{where}.{name}", problem)
    if section.api == "arm" and "properties" in item and not isinstance(item["properties"], dict):
        problem = f"expected an object, got {json_type(item['properties'])}"
        raise SnapshotError(source, f"{where}.properties", problem)


def _section_value(source: str, section: Section, value: Any) -> Any:
    key = section.name
    if section.shape == "object":
        if not isinstance(value, dict):
            raise SnapshotError(source, key, f"expected an object, got {json_type(value)}")
        _check_envelope(source, section, key, value)
        return value
    if isinstance(value, dict) and isinstance(value.get("value"), list):
        value = value["value"]  # a raw ARM / Graph list response
    if not isinstance(value, list):
        raise SnapshotError(source, key, f"expected a list, got {json_type(value)}")
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise SnapshotError(
                source, f"{key}[{index}]", f"expected an object, got {json_type(item)}"
            )
    converter = getattr(section, "from_az", None)
    if converter is not None:
        value = [item if "properties" in item else converter(item) for item in value]
    for index, item in enumerate(value):
        _check_envelope(source, section, f"{key}[{index}]", item)
    return value
