"""The members of one Entra directory role: active assignments and PIM eligibility.

Truth: Graph ``/roleManagement/directory/roleAssignments`` and ``roleEligibilitySchedules``.
A member is (principalId, directoryScopeId). When the snapshot did not capture eligibility,
only active members are compared (and a notice says so). ``role`` and ``displayName`` in
baselines are labels for people.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .._errors import InputError
from .._model import Change
from ..rollback._plan import CannotPlan, Drift, Step, Write
from ..signals import Signal
from ..snapshot import Snapshot
from . import register
from ._base import (
    FieldError,
    Index,
    Kind,
    Setting,
    Signals,
    Touch,
    item_key,
    keyed,
    require_list,
    slugify,
)
from ._reads import GraphSection, PathTemplate, Request, segment
from .conditional_access import GUID

__all__ = [
    "ACTIVE",
    "DEFINITIONS",
    "ELIGIBLE",
    "GLOBAL_ADMINISTRATOR",
    "PRIVILEGED_ROLES",
    "DirectoryRoleMembers",
]

PREFIX = "/roleManagement/directory/roleDefinitions/"
_ROLE = PathTemplate(PREFIX + "{id}")
ACTIVE = GraphSection(
    "graph.directoryRoleAssignments",
    "/roleManagement/directory/roleAssignments",
    query=(("$expand", "principal"),),
    expand=("principal",),
)
ELIGIBLE = GraphSection(
    "graph.directoryRoleEligibilitySchedules",
    "/roleManagement/directory/roleEligibilitySchedules",
    need="optional",
    # no Entra ID P2 license: PIM does not exist here, so "not captured"; any other refusal
    # (a missing permission) is a failed read
    absent=frozenset({"aadpremiumlicenserequired"}),
)
DEFINITIONS = GraphSection(
    "graph.directoryRoleDefinitions", "/roleManagement/directory/roleDefinitions", need="labels"
)
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
# The administrator roles of Microsoft's "Require MFA for administrators" CA template.
PRIVILEGED_ROLES = {
    GLOBAL_ADMINISTRATOR: "Global Administrator",
    "194ae4cb-b126-40b2-bd5b-6091b380977d": "Security Administrator",
    "f28a1f50-f6e7-4571-818b-6a12f2af6b6c": "SharePoint Administrator",
    "29232cdf-9323-42fd-ade2-1d097af3e4de": "Exchange Administrator",
    "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9": "Conditional Access Administrator",
    "729827e3-9c14-49f7-bb1b-9608f156bbb8": "Helpdesk Administrator",
    "b0f54661-2d74-4c50-afa3-1ec803f12efe": "Billing Administrator",
    "fe930be7-5e62-47db-91af-98c3a49a38b1": "User Administrator",
    "c4e39bd9-1100-46d3-8c65-fb160da0071f": "Authentication Administrator",
    "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": "Application Administrator",
    "158c047a-c907-4556-b7ef-446551a6b5f7": "Cloud Application Administrator",
    "966707d0-3269-4727-9be2-8c3a10f19b9d": "Password Administrator",
    "7be44c8a-adaf-4e2a-84d6-ab2649e08a13": "Privileged Authentication Administrator",
    "e8611ab8-c189-46e8-94e1-60213ab1f814": "Privileged Role Administrator",
}
_ELIGIBILITY = ELIGIBLE.name
ELIGIBILITY_REQUESTS = "/roleManagement/directory/roleEligibilityScheduleRequests"
"""Where PIM eligibility is granted and removed (``adminAssign`` / ``adminRemove``)."""
_WRITE = "RoleManagement.ReadWrite.Directory"
_ELIGIBILITY_WRITE = "RoleEligibilitySchedule.ReadWrite.Directory"
"""The least privileged permission of ``roleEligibilityScheduleRequests`` (create)."""
ADD_ACTIVE = Write("graph", "POST", ACTIVE.path, _WRITE, "re-add a removed active member")
REMOVE_ACTIVE = Write(
    "graph", "DELETE", ACTIVE.path + "/{id}", _WRITE, "remove an active member the baseline lacks"
)
CHANGE_ELIGIBLE = Write(
    "graph",
    "POST",
    ELIGIBILITY_REQUESTS,
    _ELIGIBILITY_WRITE,
    "re-add a removed eligible (PIM) member (adminAssign) or remove one the baseline lacks "
    "(adminRemove)",
)


def _member(entry: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    principal = str(entry.get("principalId") or "").casefold()
    scope = str(entry.get("directoryScopeId") or "/").casefold()
    return f"{principal}@{scope}", {"principalId": principal, "directoryScopeId": scope}


@register
class DirectoryRoleMembers(Kind):
    name = "directory-role"
    title = "Directory role"
    responsibility = "account-and-access-management"
    layer = "identity"
    reads = (ACTIVE, ELIGIBLE, DEFINITIONS)
    writes = (ADD_ACTIVE, REMOVE_ACTIVE, CHANGE_ELIGIBLE)
    signals = Signals(
        event_types=tuple(
            f"Microsoft.Graph.{what}{change}"
            for what in ("User", "Group")
            for change in ("Updated", "Deleted")
        ),
        audit_categories=("RoleManagement",),
    )
    default_severity = "critical"
    _member_schema: dict[str, Any] = {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["principalId"],
            "properties": {
                "principalId": {"type": "string", "minLength": 1},
                "directoryScopeId": {"type": "string"},
                "displayName": {"type": ["string", "null"]},
            },
        },
    }
    expected_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "role": {"type": "string"},
            "active": _member_schema,
            "eligible": _member_schema,
        },
    }
    scope_schema = {
        "type": "string",
        "pattern": "^/roleManagement/directory/roleDefinitions/[^/]+$",
    }

    def index(self, snapshot: Snapshot) -> Index:
        names = dict(PRIVILEGED_ROLES)
        for rd in snapshot.items("graph.directoryRoleDefinitions"):
            rid = str(rd.get("templateId") or rd.get("id") or "").casefold()
            if rid and rd.get("displayName"):
                names[rid] = str(rd["displayName"])
        states: dict[str, dict[str, Any]] = {rid: {} for rid in PRIVILEGED_ROLES}
        labels: dict[str, str] = {}
        sources = [("active", snapshot.items("graph.directoryRoleAssignments"))]
        sources.append(("eligible", snapshot.items(_ELIGIBILITY)))
        for group, entries in sources:
            for entry in entries:
                if str(entry.get("status") or "provisioned").casefold() != "provisioned":
                    continue
                rid = str(entry.get("roleDefinitionId") or "").casefold()
                key, member = _member(entry)
                states.setdefault(rid, {})[keyed(group, key)] = member
                principal = entry.get("principal")  # a label only: ignored when not an object
                if isinstance(principal, Mapping) and principal.get("displayName"):
                    labels[f"principal:{member['principalId']}"] = str(principal["displayName"])
        out = {}
        for rid, state in states.items():
            scope = PREFIX + rid
            role = names.get(rid, rid)
            out[scope.casefold()] = Setting(
                scope.casefold(), scope, role, state, {**labels, "role": role}
            )
        return out

    def requests(self, scope: str, *, subscriptions: Sequence[str] = ()) -> list[Request]:
        """The role's active members (with their principal) and its PIM eligibility."""
        found = _ROLE.match(scope)
        if found is None:
            raise InputError(f"not a directory role: {scope!r}")
        only_role = ("$filter", f"roleDefinitionId eq '{found['id']}'")
        return [ACTIVE.collection_request(only_role), ELIGIBLE.collection_request(only_role)]

    def route(self, signal: Signal, baselines: Mapping[str, Any]) -> list[Touch]:
        if not self.signals.may_touch(signal):
            return []
        if signal.source == "graph-notification":
            # a user or group changed: judge every baselined role that lists them
            who = set(signal.targets_of("user", "group"))
            roles = [
                key
                for key, state in baselines.items()
                if any(m.get("principalId") in who for m in state.values())
            ]
        elif signal.source == "audit" and signal.category.casefold() == "rolemanagement":
            roles = [PREFIX + r for r in signal.targets_of("roletemplate", "role")]
        else:
            return []
        return [
            Touch(self.name, key, self.scope_key(key))
            for key in dict.fromkeys(roles)
            if GUID.match(key.rsplit("/", 1)[-1])
        ]

    def notices(self, snapshot: Snapshot) -> list[str]:
        if snapshot.status(_ELIGIBILITY) == "missing":
            return ["directory-role: PIM eligibility not captured; active members only"]
        return []

    def actual(self, index: Index, key: str) -> Setting | None:
        found = index.get(key)
        if found is None:  # a role nobody holds any more: no members, not a missing role
            return Setting(key, key, key.rsplit("/", 1)[-1], {}, {})
        return found

    def uncovered(self, index: Index, baseline_keys: set[str]) -> list[str]:
        return [s.scope for k, s in index.items() if s.state and k not in baseline_keys]

    def comparable(self, state: Any, snapshot: Snapshot) -> Any:
        if snapshot.status(_ELIGIBILITY) == "captured":
            return state
        return {k: v for k, v in state.items() if not k.startswith("eligible[")}

    def expected_state(self, expected: Mapping[str, Any], scope_key: str) -> Any:
        state: dict[str, Any] = {}
        for group in ("active", "eligible"):
            for i, entry in enumerate(require_list(expected.get(group), group)):
                key, member = _member(entry)
                if keyed(group, key) in state:
                    raise FieldError(f"{group}[{i}]", "the same member appears twice")
                state[keyed(group, key)] = member
        return state

    def to_expected(self, setting: Setting) -> dict[str, Any]:
        out: dict[str, Any] = {"role": setting.title}
        for group in ("active", "eligible"):
            rows = []
            for key in sorted(k for k in setting.state if k.startswith(group + "[")):
                member = dict(setting.state[key])
                name = setting.labels.get(f"principal:{member['principalId']}")
                if name:
                    member["displayName"] = name
                rows.append(member)
            out[group] = rows
        return out

    def capture_keys(self, index: Index) -> Iterable[str]:
        return sorted(index)

    def slug(self, setting: Setting) -> str:
        return slugify(setting.title)

    def labels(self, expected: Mapping[str, Any]) -> dict[str, str]:
        return {
            f"principal:{str(m.get('principalId', '')).casefold()}": str(m["displayName"])
            for group in ("active", "eligible")
            for m in expected.get(group) or []
            if isinstance(m, Mapping) and m.get("displayName")
        }

    def plan(self, drift: Drift) -> Sequence[Step] | CannotPlan:
        """Each removed member made again (a ``unifiedRoleAssignment`` POST, or an
        ``adminAssign`` eligibility request), then each unexpected one removed (a DELETE of
        the assignment by its id, or an ``adminRemove`` request). Eligibility is only planned
        when the snapshot captured it."""
        found = _ROLE.match(drift.baseline.scope)
        if found is None:
            return CannotPlan(f"not a directory role: {drift.baseline.scope}")
        role = found["id"]
        expected = self.comparable(drift.baseline.state, drift.snapshot)
        live = drift.live
        actual = self.comparable(live.state if live is not None else {}, drift.snapshot)
        ids: dict[str, str] = {}
        for entry in drift.snapshot.items(ACTIVE.name):
            if str(entry.get("roleDefinitionId") or "").casefold() != role:
                continue
            if str(entry.get("status") or "provisioned").casefold() != "provisioned":
                continue
            ids[keyed("active", _member(entry)[0])] = str(entry.get("id") or "")
        endpoints = drift.endpoints
        why = f"driftkeeper: restore baseline {drift.baseline.name}"
        adds: list[Step] = []
        removes: list[Step] = []
        for key in sorted(expected.keys() - actual.keys()):
            member = _request_member(expected[key], role)
            body: dict[str, Any]
            if key.startswith("active["):
                body = {"@odata.type": "#microsoft.graph.unifiedRoleAssignment", **member}
                adds.append(ADD_ACTIVE.step(endpoints.graph_url(ACTIVE.path), body))
            else:
                body = {
                    "action": "adminAssign",
                    "justification": why,
                    **member,
                    "scheduleInfo": {"expiration": {"type": "noExpiration"}},
                }
                adds.append(CHANGE_ELIGIBLE.step(endpoints.graph_url(ELIGIBILITY_REQUESTS), body))
        for key in sorted(actual.keys() - expected.keys()):
            if key.startswith("active["):
                if not ids.get(key):
                    return CannotPlan(f"active member {item_key(key)[1]} has no assignment id")
                url = endpoints.graph_url(f"{ACTIVE.path}/{segment('key', ids[key])}")
                removes.append(REMOVE_ACTIVE.step(url, None))
            else:
                member = _request_member(actual[key], role)
                body = {"action": "adminRemove", "justification": why, **member}
                removes.append(
                    CHANGE_ELIGIBLE.step(endpoints.graph_url(ELIGIBILITY_REQUESTS), body)
                )
        return [*adds, *removes]

    def describe(self, change: Change, labels: Mapping[str, str]) -> str:
        group, key = item_key(change.path)
        principal, _, scope = key.partition("@")
        name = labels.get(f"principal:{principal}")
        who = f"{name} ({principal})" if name else principal
        where = "" if scope == "/" else f" at {scope}"
        kind = "active member" if group == "active" else "eligible (PIM) member"
        if change.expected is None:
            return f"{who} added as {kind}{where}"
        return f"{who} is no longer an {kind}{where}"


def _request_member(member: Mapping[str, Any], role: str) -> dict[str, str]:
    """principalId, roleDefinitionId and directoryScopeId of a request body (ids checked)."""
    return {
        "principalId": segment("id", str(member["principalId"])),  # a GUID, or InputError
        "roleDefinitionId": role,
        "directoryScopeId": str(member["directoryScopeId"]),
    }
