"""Azure role assignments at a scope and everything below it.

Truth: ARM ``Microsoft.Authorization/roleAssignments``. A baseline scoped at a subscription
covers the assignments made at the subscription and at every resource group and resource
in it, so a new Owner on a new resource group is drift too. Compared: who (principalId),
which role (roleDefinitionId, by GUID: subscription-qualified and bare ids are the same
role), where (scope) and any ABAC ``condition``. Dropped: id, name, createdOn/updatedOn,
createdBy/updatedBy. ``role`` and ``principalType`` in baselines are labels for people.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal
from urllib.parse import quote

from .._errors import InputError
from .._model import Change
from ..rollback._plan import CannotPlan, Drift, Step, Write
from ..signals import Signal
from ..snapshot import Snapshot, is_unreadable, unreadable
from . import register
from ._base import (
    ARM_CHANGES,
    FieldError,
    Index,
    Kind,
    Setting,
    Signals,
    Touch,
    item_key,
    keyed,
    require_list,
    short_value,
)
from ._reads import SEGMENTS, ArmSection, Request, az_wrap, segment

__all__ = [
    "ASSIGNMENTS",
    "BUILTIN_ROLES",
    "DEFINITIONS",
    "OWNER_ROLE_ID",
    "RoleAssignments",
    "role_guid",
]

ASSIGNMENTS = ArmSection(
    "arm.roleAssignments",
    resource_type="Microsoft.Authorization/roleAssignments",
    api_version="2022-04-01",
    list_path="/subscriptions/{subscription}/providers/Microsoft.Authorization/roleAssignments",
    scoped=True,
    from_az=az_wrap,
)
"""Every assignment a subscription sees: at, above (management groups, root) and below it."""
DEFINITIONS = ArmSection(
    "arm.roleDefinitions",
    resource_type="Microsoft.Authorization/roleDefinitions",
    api_version="2022-04-01",
    list_path="/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions",
    need="labels",
    # az prints the role's type (BuiltInRole / CustomRole) as roleType, the resource type as type
    from_az=lambda item: az_wrap(item, {"roleType": "type"}),
)
"""Role names for people; never compared."""

OWNER_ROLE_ID = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
BUILTIN_ROLES = {
    OWNER_ROLE_ID: "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": "Role Based Access Control Administrator",
}

_ASSIGNMENTS = "/providers/microsoft.authorization/roleassignments/"
_SCOPE = re.compile(r"^/[-\w./()]*$")
_BUILTIN_LABELS = {f"role:{k}": v for k, v in BUILTIN_ROLES.items()}


def role_guid(role_definition_id: str) -> str:
    """``/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/GUID`` -> GUID."""
    return role_definition_id.rstrip("/").rsplit("/", 1)[-1].casefold()


def _assignment(props: Mapping[str, Any], default_scope: str) -> tuple[str, dict[str, Any]]:
    principal = str(props.get("principalId") or "").casefold()
    role = role_guid(str(props.get("roleDefinitionId") or ""))
    scope = str(props.get("scope") or default_scope).rstrip("/").casefold() or "/"
    item: dict[str, Any] = {"principalId": principal, "roleDefinitionId": role, "scope": scope}
    condition = props.get("condition")
    if condition:
        item["condition"] = " ".join(str(condition).split())
    return keyed("assignments", f"{role}/{principal}@{scope}"), item


_ASSIGNMENT_PATH = "{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"
WRITE_ASSIGNMENT = Write(
    "arm",
    "PUT",
    _ASSIGNMENT_PATH,
    "Microsoft.Authorization/roleAssignments/write",
    "recreate a removed role assignment (never of Owner, User Access Administrator or Role "
    "Based Access Control Administrator: the rollback role's condition forbids it)",
)
DELETE_ASSIGNMENT = Write(
    "arm",
    "DELETE",
    _ASSIGNMENT_PATH,
    "Microsoft.Authorization/roleAssignments/delete",
    "remove a role assignment the baseline does not have (or one replaced by a PUT); "
    "the same condition applies",
)


@register
class RoleAssignments(Kind):
    name = "role-assignments"
    title = "Role assignments at"
    responsibility = "identity-and-access"
    layer = "identity"
    reads = (ASSIGNMENTS, DEFINITIONS)
    writes = (WRITE_ASSIGNMENT, DELETE_ASSIGNMENT)
    signals = Signals(event_types=ARM_CHANGES, resource_types=(ASSIGNMENTS.resource_type,))
    default_severity = "high"
    expected_schema = {
        "type": "object",
        "required": ["assignments"],
        "additionalProperties": False,
        "properties": {
            "assignments": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["principalId", "roleDefinitionId"],
                    "properties": {
                        "principalId": {"type": "string", "minLength": 1},
                        "roleDefinitionId": {"type": "string", "minLength": 1},
                        "scope": {"type": "string", "minLength": 1},
                        "condition": {"type": ["string", "null"]},
                        "role": {"type": "string"},
                        "principalType": {"type": "string"},
                    },
                },
            }
        },
    }

    def scope_key(self, scope: str) -> str:
        return scope.strip().rstrip("/").casefold() or "/"

    def index(self, snapshot: Snapshot) -> Index:
        role_names = dict(BUILTIN_ROLES)
        for rd in snapshot.items("arm.roleDefinitions"):
            name = (rd.get("properties") or {}).get("roleName")
            if name:
                role_names[role_guid(str(rd.get("name") or rd.get("id") or ""))] = str(name)
        by_scope: dict[str, dict[str, Any]] = {}
        spelled: dict[str, str] = {}
        labels: dict[str, str] = {f"role:{k}": v for k, v in role_names.items()}
        scopes: dict[str, str] = {}  # the scope as listed -> its key: computed once each
        roles: dict[str, str] = {}  # roleDefinitionId -> GUID
        for ra in snapshot.items("arm.roleAssignments"):
            props = ra.get("properties")
            if type(props) is dict:  # the plain JSON shape, read inline (see _assignment)
                principal = props.get("principalId")
                role_id = props.get("roleDefinitionId")
                listed = props.get("scope")
                if (
                    type(principal) is str
                    and principal
                    and type(role_id) is str
                    and role_id
                    and (listed is None or type(listed) is str)
                    and not props.get("condition")
                ):
                    listed = listed or "/"
                    scope = scopes.get(listed)
                    if scope is None:
                        scope = scopes[listed] = listed.rstrip("/").casefold() or "/"
                    role = roles.get(role_id)
                    if role is None:
                        role = roles[role_id] = role_guid(role_id)
                    principal = principal.casefold()
                    found = by_scope.get(scope)
                    if found is None:
                        found = by_scope[scope] = {}
                        spelled[scope] = listed
                    found[f"assignments[{role}/{principal}@{scope}]"] = {
                        "principalId": principal,
                        "roleDefinitionId": role,
                        "scope": scope,
                    }
                    ptype = props.get("principalType")
                    if ptype:
                        labels[f"principal:{principal}"] = str(ptype)
                    continue
            broken = _unreadable_assignment(props)
            if broken is not None:  # drift against any baseline, never dropped, not captured
                where = str(ra.get("id") or "").casefold().partition(_ASSIGNMENTS)[0] or "/"
                name = keyed("assignments", f"unreadable {ra.get('id')}")
                by_scope.setdefault(where, {})[name] = broken
                spelled.setdefault(where, where)
                continue
            assert isinstance(props, Mapping)
            key, item = _assignment(props, "/")
            scope = item["scope"]
            by_scope.setdefault(scope, {})[key] = item
            spelled.setdefault(scope, str(props.get("scope") or "/"))
            ptype = props.get("principalType")
            if ptype:
                labels[f"principal:{item['principalId']}"] = str(ptype)
        return {
            scope: Setting(scope, spelled[scope], spelled[scope], state, labels)
            for scope, state in by_scope.items()
        }

    def actual(self, index: Index, key: str) -> Setting | None:
        # _covers inlined: this runs over every scope of the index for each baseline
        if key == "/":
            below = list(index.values())
        else:
            under = key + "/"
            below = [s for k, s in index.items() if k == key or k.startswith(under)]
        if not below:  # no assignments left here: an empty state, not a missing resource
            return Setting(key, key, key, {}, _BUILTIN_LABELS)
        state: dict[str, Any] = {}
        for setting in below:
            state.update(setting.state)
        spelled = next((s.scope for s in below if s.key == key), None)
        if spelled is None:
            spelled = below[0].scope[: len(key)] if key != "/" else "/"
        return Setting(key, spelled, spelled, state, below[0].labels)

    def requests(self, scope: str, *, subscriptions: Sequence[str] = ()) -> list[Request]:
        """Every assignment at or below ``scope``: a subscription's own listing; for ``/``
        each of ``subscriptions``; a management group's with ``atScope()`` (nothing is scoped
        below one but itself); a resource group's or resource's listing of its scope (a 404
        there means it is gone, so are its assignments)."""
        target = _arm_scope(scope)
        keep = target.keeps
        if target.level == "root":
            if not subscriptions:
                raise InputError("reading the assignments below '/' needs subscriptions")
            listings = ASSIGNMENTS.tenant_requests(s.casefold() for s in subscriptions)
            return [replace(r, keep=keep) for r in listings]
        if target.level == "subscription":
            return [ASSIGNMENTS.list_request(target.subscription, keep=keep)]
        query = (("$filter", "atScope()"),) if target.level == "managementGroup" else ()
        return [
            Request(
                ASSIGNMENTS.name,
                "arm",
                target.quoted() + ASSIGNMENTS.provider_path,
                query=query,
                api_version=ASSIGNMENTS.api_version,
                gone="empty",
                keep=keep,
            )
        ]

    def route(self, signal: Signal, baselines: Mapping[str, Any]) -> list[Touch]:
        if not self.signals.may_touch(signal):
            return []
        scope, found, _ = signal.resource.casefold().partition(_ASSIGNMENTS)
        if not found or not _SCOPE.match(scope or "/"):
            return []
        key = self.scope_key(scope)
        parts = key.split("/")
        # read the whole subscription: its baseline and the Owner-count guard need it all
        read = "/".join(parts[:3]) if key.startswith("/subscriptions/") else key
        return [Touch(self.name, read, key)]

    def covers(self, baseline_key: str, touched_key: str) -> bool:
        return _covers(baseline_key, touched_key)

    def uncovered(self, index: Index, baseline_keys: set[str]) -> list[str]:
        return [
            s.scope for k, s in index.items() if not any(a in baseline_keys for a in _ancestors(k))
        ]

    def capture_keys(self, index: Index) -> Iterable[str]:
        keys = set()
        for key in index:
            parts = key.split("/")
            keys.add("/".join(parts[:3]) if key.startswith("/subscriptions/") else key)
        return sorted(keys)

    def expected_state(self, expected: Mapping[str, Any], scope_key: str) -> Any:
        state: dict[str, Any] = {}
        for i, entry in enumerate(require_list(expected.get("assignments"), "assignments")):
            key, item = _assignment(entry, scope_key)
            if key in state:
                raise FieldError(f"assignments[{i}]", "the same assignment appears twice")
            state[key] = item
        return state

    def to_expected(self, setting: Setting) -> dict[str, Any]:
        rows = []
        for item in sorted(
            (i for i in setting.state.values() if not is_unreadable(i)),  # a file must load
            key=lambda i: (i["scope"], i["roleDefinitionId"], i["principalId"]),
        ):
            row: dict[str, Any] = {}
            role = setting.labels.get(f"role:{item['roleDefinitionId']}")
            if role:
                row["role"] = role
            row.update(item)
            ptype = setting.labels.get(f"principal:{item['principalId']}")
            if ptype:
                row["principalType"] = ptype
            rows.append(row)
        return {"assignments": rows}

    def slug(self, setting: Setting) -> str:
        parts = setting.key.strip("/").split("/")
        if parts[0] == "subscriptions" and len(parts) >= 2:
            return "subscription-" + "-".join(parts[1:])
        return "-".join(p for p in parts if p not in ("providers",)) or "root"

    def labels(self, expected: Mapping[str, Any]) -> dict[str, str]:
        out = dict(_BUILTIN_LABELS)
        for row in expected.get("assignments") or []:
            guid = role_guid(str(row.get("roleDefinitionId", "")))
            if row.get("role"):
                out[f"role:{guid}"] = str(row["role"])
            if row.get("principalType"):
                out[f"principal:{str(row.get('principalId', '')).casefold()}"] = str(
                    row["principalType"]
                )
        return out

    def describe(self, change: Change, labels: Mapping[str, str]) -> str:
        item = change.actual if change.expected is None else change.expected
        if "]." in change.path or not isinstance(item, dict):
            _, key = item_key(change.path)
            return (
                f"assignment {key} {change.path.rsplit('.', 1)[-1]} changed from "
                f"{short_value(change.expected)} to {short_value(change.actual)}"
            )
        role = labels.get(f"role:{item['roleDefinitionId']}", item["roleDefinitionId"])
        who = item["principalId"]
        ptype = labels.get(f"principal:{who}")
        who = f"{ptype} {who}" if ptype else who
        if change.expected is None:
            return f"{role} granted to {who} at {item['scope']}"
        return f"{role} removed from {who} at {item['scope']}"

    def missing_message(self, scope: str) -> str:
        return f"no role assignments remain at or below {scope}"

    def plan(self, drift: Drift) -> Sequence[Step] | CannotPlan:
        """PUT each expected assignment that is missing (a new name from
        ``drift.new_guid``) or whose condition changed (in place; without a condition in
        the baseline, deleted and made anew), then DELETE each unexpected one by its id."""
        live = drift.live
        if live is None:  # pragma: no cover - actual() never says "gone" for this kind
            return CannotPlan("the scope's assignments were not read")
        expected, actual = drift.baseline.state, live.state
        broken = [k for k in actual if is_unreadable(actual[k])]
        if broken:
            return CannotPlan(f"{item_key(broken[0])[1]} cannot be read: not deleted unseen")
        raw: dict[str, Mapping[str, Any]] = {}
        for entry in require_list(drift.baseline.expected.get("assignments"), "assignments"):
            raw[_assignment(entry, drift.baseline.key)[0]] = entry
        ids, types = _live_assignments(drift.snapshot, drift.baseline.key)
        replaced: list[Step] = []
        puts: list[Step] = []
        deletes: list[Step] = []
        for key in sorted(expected):
            if actual.get(key) == expected[key]:
                continue
            entry = raw.get(key, {})
            item = expected[key]
            existing = ids.get(key)
            if existing is not None and item.get("condition"):
                target = existing
            else:
                if existing is not None:  # the same role, principal and scope: delete it first
                    replaced.append(_delete(drift, existing))
                scope = str(entry.get("scope") or drift.baseline.scope).rstrip("/") or "/"
                if scope.casefold() != item["scope"]:
                    scope = item["scope"]
                target = _arm_scope(scope).quoted().rstrip("/") + ASSIGNMENTS.provider_path
                target += "/" + drift.new_guid(key)
            body = _assignment_body(item, entry, types.get(key))
            url = drift.endpoints.arm_url(target, ASSIGNMENTS.api_version)
            puts.append(WRITE_ASSIGNMENT.step(url, body))
        for key in sorted(actual):
            if key not in expected:
                if key not in ids:
                    return CannotPlan(f"assignment {item_key(key)[1]} has no id in the snapshot")
                deletes.append(_delete(drift, ids[key]))
        return [*replaced, *puts, *deletes]


_ASSIGNMENT_ID = re.compile(
    rf"(?P<scope>.*)/providers/Microsoft\.Authorization/roleAssignments/(?P<name>{SEGMENTS['id']})",
    re.IGNORECASE | re.ASCII,
)


def _live_assignments(snapshot: Snapshot, key: str) -> tuple[dict[str, str], dict[str, str]]:
    """The id and principalType of each readable live assignment at or below ``key``."""
    ids: dict[str, str] = {}
    types: dict[str, str] = {}
    for ra in snapshot.items(ASSIGNMENTS.name):
        props = ra.get("properties")
        if _unreadable_assignment(props) is not None or not isinstance(props, Mapping):
            continue
        item_key_, item = _assignment(props, "/")
        if _covers(key, item["scope"]) and isinstance(ra.get("id"), str):
            ids[item_key_] = ra["id"]
            if props.get("principalType"):
                types[item_key_] = str(props["principalType"])
    return ids, types


def _delete(drift: Drift, assignment_id: str) -> Step:
    """DELETE of one assignment by its id (its scope and name validated, then encoded)."""
    found = _ASSIGNMENT_ID.fullmatch(assignment_id.strip())
    if found is None:
        raise InputError(f"not a role assignment id: {assignment_id!r}")
    scope = _arm_scope(found["scope"] or "/").quoted().rstrip("/")
    path = f"{scope}{ASSIGNMENTS.provider_path}/{uuid.UUID(found['name'])}"
    return DELETE_ASSIGNMENT.step(drift.endpoints.arm_url(path, ASSIGNMENTS.api_version), None)


def _assignment_body(
    item: Mapping[str, Any], entry: Mapping[str, Any], live_type: str | None
) -> dict[str, Any]:
    """What a role assignment PUT takes: roleDefinitionId (qualified by the subscription of
    its scope, as ARM expects), principalId, principalType (the baseline's label, else the
    live one), condition and conditionVersion."""
    role = segment("id", item["roleDefinitionId"])  # GUIDs, or InputError: not planned
    principal = segment("id", item["principalId"])
    parts = item["scope"].split("/")
    prefix = f"/subscriptions/{parts[2]}" if item["scope"].startswith("/subscriptions/") else ""
    props: dict[str, Any] = {
        "roleDefinitionId": f"{prefix}/providers/Microsoft.Authorization/roleDefinitions/{role}",
        "principalId": principal,
    }
    principal_type = entry.get("principalType") or live_type
    if principal_type:
        props["principalType"] = str(principal_type)
    if item.get("condition"):
        props["condition"] = str(entry.get("condition") or item["condition"])
        props["conditionVersion"] = "2.0"
    return {"properties": props}


def _unreadable_assignment(props: Any) -> str | None:
    """Why a listed assignment cannot be read (None when it can)."""
    if not isinstance(props, Mapping):
        return unreadable("properties", "not an object")
    for field in ("principalId", "roleDefinitionId"):
        if not isinstance(props.get(field), str) or not props[field]:
            return unreadable(field, "missing or not a string")
    if not isinstance(props.get("scope", ""), str | type(None)):
        return unreadable("scope", "not a string")
    return None


def _covers(baseline_key: str, key: str) -> bool:
    return baseline_key == "/" or key == baseline_key or key.startswith(baseline_key + "/")


def _ancestors(key: str) -> list[str]:
    parts = key.split("/")
    return ["/"] + ["/".join(parts[:n]) for n in range(2, len(parts) + 1)]


# --- scopes ----------------------------------------------------------------------------------
# the segments of the path templates (_reads.SEGMENTS): ASCII, never "." or ".."
_SUB = rf"/subscriptions/(?P<sub>{SEGMENTS['subscription']})"
_RG = rf"/resourceGroups/(?P<rg>{SEGMENTS['resourceGroup']})"
_NAME = SEGMENTS["name"]
_NAMESPACE = r"[a-z][a-z0-9]*(?:\.[a-z0-9]+)+"
_TYPE = r"[a-z][a-z0-9]*"
_FLAGS = re.IGNORECASE | re.ASCII
_MG_SCOPE = re.compile(
    rf"/providers/Microsoft\.Management/managementGroups/{SEGMENTS['managementGroup']}", _FLAGS
)
_SUB_SCOPE = re.compile(_SUB, _FLAGS)
_RG_SCOPE = re.compile(_SUB + _RG, _FLAGS)
_RESOURCE_SCOPE = re.compile(
    rf"{_SUB}(?:{_RG})?/providers/(?P<ns>{_NAMESPACE})(?:/{_TYPE}/{_NAME})+", _FLAGS
)
_ScopeLevel = Literal["root", "managementGroup", "subscription", "resourceGroup", "resource"]


@dataclass(frozen=True)
class _ArmScope:
    text: str
    """The scope as given, without a trailing ``/`` (``/`` for the root)."""
    level: _ScopeLevel
    subscription: str = ""

    def covers(self, scope: str) -> bool:
        """Whether ``scope`` is this scope or below it (case-insensitive)."""
        mine, theirs = self.text.casefold(), scope.rstrip("/").casefold() or "/"
        return mine == "/" or theirs == mine or theirs.startswith(mine + "/")

    def keeps(self, item: Mapping[str, Any]) -> bool:
        """Whether a listed assignment lies at or below this scope."""
        return self.covers(str((item.get("properties") or {}).get("scope") or "/"))

    def quoted(self) -> str:
        """The scope with each segment percent-encoded."""
        return "/".join(quote(part, safe="()") for part in self.text.split("/"))


def _arm_scope(scope: str) -> _ArmScope:
    """Parse an ARM scope for role assignments; raise :class:`InputError` for anything else."""
    text = scope.strip()
    if text.rstrip("/") == "":
        return _ArmScope("/", "root")
    text = text.rstrip("/")
    if _MG_SCOPE.fullmatch(text):
        return _ArmScope(text, "managementGroup")
    levels: tuple[tuple[re.Pattern[str], _ScopeLevel], ...] = (
        (_SUB_SCOPE, "subscription"),
        (_RG_SCOPE, "resourceGroup"),
        (_RESOURCE_SCOPE, "resource"),
    )
    for pattern, level in levels:
        match = pattern.fullmatch(text)
        if match is None:
            continue
        if level == "resource" and match["ns"].casefold() == "microsoft.authorization":
            break  # a role assignment or definition id: not a scope assignments are made at
        return _ArmScope(text, level, match["sub"].casefold())
    raise InputError(f"not an ARM scope for role assignments: {scope!r}")
