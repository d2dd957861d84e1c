"""What a kind reads, declared as data: its snapshot sections and where each is read.

A kind lists its sections in ``Kind.reads``. Everything that reads, serves or stores state
is derived from these declarations: the snapshot document's sections, the whole-tenant
reader (:func:`driftkeeper.live.read_snapshot`), the per-setting reader of the event
pipeline (:class:`driftkeeper.live.ResourceReader`), the local ARM / Graph stand-in of the
tests, and the benchmarks.

- :class:`ArmSection`: an ARM resource type, its api-version, the path that lists every
  resource of a subscription and the path of one resource. Bodies are kept exactly as ARM
  sends them.
- :class:`GraphSection`: a Microsoft Graph path (a collection, or one object) with its query,
  and the path of one item. Bodies are kept exactly as Graph sends them.

A read of live state is a list of :class:`Request` values, planned by pure functions
(:meth:`ArmSection.tenant_requests`, :meth:`Kind.requests`) and executed by the readers in
:mod:`driftkeeper.live`. Everything put into a path is validated first: a path template's
placeholders only match GUIDs and ARM name characters, and values are percent-encoded.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal
from urllib.parse import quote

from .._errors import InputError, PluginError

__all__ = [
    "SEGMENTS",
    "ArmSection",
    "GraphSection",
    "Need",
    "PathTemplate",
    "Request",
    "Section",
    "Shape",
    "az_wrap",
    "segment",
]

Shape = Literal["list", "object"]
Need = Literal["required", "optional", "labels"]
"""How a kind depends on a section: it cannot judge without it (``required``); it judges
less when the section was not captured and nothing when its read failed (``optional``);
it only takes display names from it (``labels``)."""

_GUID = r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}"
SEGMENTS: Mapping[str, str] = {
    "subscription": _GUID,
    "id": _GUID,
    "resourceGroup": r"[-\w._()]{0,89}[-\w_()]",  # 1-90 characters, no final "."
    "name": r"(?!\.+(?:/|$))[-\w._()]{1,260}",  # ARM name characters; never "." or ".."
    "managementGroup": r"(?!\.+(?:/|$))[-\w._()]{1,90}",
    "key": r"[-\w]{1,256}",  # a Graph key that is not a GUID (a role assignment's, a method's)
}
"""What each path placeholder matches (ASCII only; GUIDs in any case): every path segment
taken from outside is one of these, so it can never be ``.``, ``..``, or carry ``/?#%``."""
_PLACEHOLDERS = SEGMENTS
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class PathTemplate:
    """A REST path with ``{placeholder}`` parts (``subscription``, ``resourceGroup``,
    ``name``, ``id``, ``managementGroup``), matched case-insensitively."""

    text: str
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts: list[str] = []
        last = 0
        for match in _PLACEHOLDER.finditer(self.text):
            name = match.group(1)
            if name not in _PLACEHOLDERS:
                raise PluginError(f"{self.text}: unknown placeholder {{{name}}}")
            parts.append(re.escape(self.text[last : match.start()]))
            parts.append(f"(?P<{name}>{_PLACEHOLDERS[name]})")
            last = match.end()
        parts.append(re.escape(self.text[last:]))
        object.__setattr__(self, "pattern", re.compile("".join(parts), re.IGNORECASE | re.ASCII))

    def match(self, path: str) -> dict[str, str] | None:
        """The placeholder values of ``path`` (GUIDs canonical), None when it does not fit."""
        found = self.pattern.fullmatch(path.strip().rstrip("/"))
        if found is None:
            return None
        return {
            k: str(uuid.UUID(v)) if _PLACEHOLDERS[k] == _GUID else v
            for k, v in found.groupdict().items()
        }

    def fill(self, **values: str) -> str:
        """The path with every placeholder replaced by its validated, percent-encoded value."""
        for name, value in values.items():
            if re.fullmatch(_PLACEHOLDERS.get(name, "(?!)"), value, re.ASCII) is None:
                raise InputError(f"not a valid {name} for {self.text}: {value!r}")
        return _PLACEHOLDER.sub(lambda m: quote(values[m.group(1)], safe="()"), self.text)

    @property
    def fixed(self) -> bool:
        return _PLACEHOLDER.search(self.text) is None


@dataclass(frozen=True)
class Request:
    """One GET a read is made of, and what its answer means for ``section``."""

    section: str
    api: Literal["arm", "graph"]
    path: str
    """Below the service root (ARM ``/subscriptions/...``, Graph ``/identity/...``), encoded."""
    query: tuple[tuple[str, str], ...] = ()
    api_version: str = ""
    many: bool = True
    """A listing (every next link followed) or one object."""
    shape: Shape = "list"
    """What the section holds: the items (one object read goes into a one-item list), or
    the object itself."""
    gone: Literal["error", "empty"] = "error"
    """What a 404 for the thing itself means: a failed read, or "it no longer exists"
    (an empty section)."""
    absent: frozenset[str] = frozenset()
    """Error codes (casefolded) meaning the section does not exist here: not captured."""
    where: str = ""
    """Prefixed to a failure's text (``subscription <id>``)."""
    keep: Callable[[Mapping[str, Any]], bool] | None = field(default=None, compare=False)
    """Only the listed items this accepts go into the section."""


@dataclass(frozen=True)
class ArmSection:
    """An ARM resource type, read per subscription (``list_path``) or one by one
    (``get_path``)."""

    name: str
    """The section (``arm.networkSecurityGroups``)."""
    resource_type: str
    """``Microsoft.Network/networkSecurityGroups``."""
    api_version: str
    list_path: str
    """Lists a subscription's resources; has a ``{subscription}`` placeholder."""
    get_path: str = ""
    """One resource, by its id; empty when the type is only read as a list."""
    need: Need = "required"
    scoped: bool = False
    """An extension type, listed below any ARM scope (``{scope}/providers/<type>``: the root,
    a management group, a subscription, a resource group, a resource); its items carry
    ``properties.scope``."""
    from_az: Callable[[dict[str, Any]], dict[str, Any]] | None = field(default=None, compare=False)
    """Converts an item in the flattened shape ``az`` prints to the REST shape."""
    shape: Shape = field(default="list", init=False)
    api: Literal["arm"] = field(default="arm", init=False)

    def __post_init__(self) -> None:
        if not self.name.startswith("arm."):
            raise PluginError(f"an ARM section's name starts with 'arm.': {self.name!r}")

    @cached_property
    def list_template(self) -> PathTemplate:
        return PathTemplate(self.list_path)

    @cached_property
    def get_template(self) -> PathTemplate | None:
        return PathTemplate(self.get_path) if self.get_path else None

    @property
    def provider_path(self) -> str:
        """``/providers/<resource type>``: what a listing appends to its scope."""
        return "/providers/" + self.resource_type

    def list_request(self, subscription: str, **changes: Any) -> Request:
        """The listing of ``subscription``."""
        path = self.list_template.fill(subscription=subscription)
        return Request(self.name, "arm", path, api_version=self.api_version, **changes)

    def get_request(self, resource_id: str) -> Request | None:
        """The GET of one resource (a 404 means it is gone), None when ``resource_id`` is not
        one of this type's."""
        template = self.get_template
        found = template.match(resource_id) if template else None
        if template is None or found is None:
            return None
        return Request(
            self.name,
            "arm",
            template.fill(**found),
            api_version=self.api_version,
            many=False,
            gone="empty",
        )

    def declaration(self) -> dict[str, Any]:
        """The declaration, for people (``driftkeeper kinds``)."""
        out: dict[str, Any] = {
            "name": self.name,
            "api": "arm",
            "need": self.need,
            "resourceType": self.resource_type,
            "apiVersion": self.api_version,
            "listPath": self.list_path,
        }
        if self.get_path:
            out["getPath"] = self.get_path
        if self.scoped:
            out["scoped"] = True
        return out

    def tenant_requests(self, subscriptions: Iterable[str]) -> list[Request]:
        """The whole section: every subscription's listing."""
        return [
            self.list_request(s, where=f"subscription {s}") for s in dict.fromkeys(subscriptions)
        ]


@dataclass(frozen=True)
class GraphSection:
    """A Microsoft Graph collection (``shape="list"``) or object (``shape="object"``)."""

    name: str
    """The section (``graph.conditionalAccessPolicies``)."""
    path: str
    """Below the version (``/identity/conditionalAccess/policies``)."""
    query: tuple[tuple[str, str], ...] = ()
    """Sent with every read of the collection (``(("$expand", "principal"),)``)."""
    get_path: str = ""
    """One item, with an ``{id}`` placeholder; empty when items are not read one by one."""
    shape: Shape = "list"
    need: Need = "required"
    absent: frozenset[str] = frozenset()
    """Error codes (casefolded) meaning the feature does not exist in the tenant (no
    license): the section is then not captured rather than failed."""
    expand: tuple[str, ...] = ()
    """Navigation properties the query expands (the stand-in leaves them out otherwise)."""
    api: Literal["graph"] = field(default="graph", init=False)

    def __post_init__(self) -> None:
        if not self.name.startswith("graph."):
            raise PluginError(f"a Graph section's name starts with 'graph.': {self.name!r}")

    @cached_property
    def get_template(self) -> PathTemplate | None:
        return PathTemplate(self.get_path) if self.get_path else None

    def collection_request(self, *extra: tuple[str, str]) -> Request:
        """The collection (or the object), with ``extra`` query parameters."""
        return Request(
            self.name,
            "graph",
            self.path,
            query=(*self.query, *extra),
            many=self.shape == "list",
            shape=self.shape,
            absent=self.absent,
        )

    def get_request(self, path: str) -> Request | None:
        """The GET of one item (a 404 means it is gone), None when ``path`` is not one."""
        template = self.get_template
        found = template.match(path) if template else None
        if template is None or found is None:
            return None
        return Request(self.name, "graph", template.fill(**found), many=False, gone="empty")

    def declaration(self) -> dict[str, Any]:
        """The declaration, for people (``driftkeeper kinds``)."""
        out: dict[str, Any] = {
            "name": self.name,
            "api": "graph",
            "need": self.need,
            "shape": self.shape,
            "path": self.path,
        }
        if self.query:
            out["query"] = dict(self.query)
        if self.get_path:
            out["getPath"] = self.get_path
        return out

    def tenant_requests(self, subscriptions: Iterable[str]) -> list[Request]:
        """The whole section (Graph is tenant-wide: subscriptions play no part)."""
        return [self.collection_request()]


Section = ArmSection | GraphSection


def segment(placeholder: str, value: str) -> str:
    """One path segment taken from outside (a rule's name, a Graph key), validated against
    :data:`SEGMENTS` ``[placeholder]`` and percent-encoded; :class:`InputError` otherwise."""
    return PathTemplate(f"{{{placeholder}}}").fill(**{placeholder: value})


# --- az CLI flattened shapes -> ARM REST shapes ------------------------------------------------
_ENVELOPE = ("id", "name", "type", "etag", "location", "tags")
_AZ_ONLY = ("resourceGroup",)


def az_wrap(item: Mapping[str, Any], rename: Mapping[str, str] | None = None) -> dict[str, Any]:
    """An object ``az`` printed flat, wrapped the way ARM REST sends it (``properties``)."""
    outer = {k: item[k] for k in _ENVELOPE if k in item}
    inner: dict[str, Any] = {}
    for key, value in item.items():
        if key in _ENVELOPE or key in _AZ_ONLY:
            continue
        inner[(rename or {}).get(key, key)] = value
    outer["properties"] = inner
    return outer
