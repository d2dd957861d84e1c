"""A tiny, pure stand-in for ARM and Graph writes: applies a plan's steps to a snapshot
document, refusing what the services refuse (a priority taken in an NSG, a second assignment
of one role to one principal at one scope, a method configuration of another type).

Graph PATCHes merge nested objects here (the worst case for a plan): a plan must still end
at its baseline.
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

from driftkeeper.rollback import Endpoints, Step

NSG_RULE = re.compile(
    r"(?P<nsg>.*/networkSecurityGroups/[^/]+)/securityRules/(?P<rule>[^/]+)", re.I
)
ASSIGNMENT = re.compile(
    r"(?P<scope>.*)/providers/Microsoft\.Authorization/roleAssignments/(?P<name>[^/]+)", re.I
)


class Refused(Exception):
    """What the service would answer with a 4xx."""


def _merge(into: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


def _path(url: str, root: str) -> str:
    assert url.startswith(root), (url, root)
    return unquote(urlsplit(url[len(root.rstrip("/")) :]).path)


def apply(doc: dict[str, Any], steps: Iterable[Step], endpoints: Endpoints) -> dict[str, Any]:
    """``doc`` after ``steps`` (a new document; ``doc`` is left alone)."""
    out = copy.deepcopy(doc)
    for step in steps:
        if step.url.startswith(endpoints.arm):
            assert "?api-version=" in step.url
            _arm(out, step, _path(step.url, endpoints.arm))
        else:
            _graph(out, step, _path(step.url, endpoints.graph))
    return out


def _arm(doc: dict[str, Any], step: Step, path: str) -> None:
    arm = doc.setdefault("arm", {})
    rule = NSG_RULE.fullmatch(path)
    if rule is not None:
        nsg = next(
            n for n in arm["networkSecurityGroups"] if n["id"].casefold() == rule["nsg"].casefold()
        )
        rules = nsg["properties"].setdefault("securityRules", [])
        name = rule["rule"]
        others = [r for r in rules if r["name"].casefold() != name.casefold()]
        if step.method == "DELETE":
            nsg["properties"]["securityRules"] = others
            return
        assert step.method == "PUT"
        assert step.body is not None
        props = step.body["properties"]
        for other in others:
            p = other["properties"]
            if (p["priority"], p["direction"].casefold()) == (
                props["priority"],
                props["direction"].casefold(),
            ):
                raise Refused(f"priority {props['priority']} is taken by {other['name']}")
        new = {"name": name, "id": f"{nsg['id']}/securityRules/{name}", "properties": props}
        nsg["properties"]["securityRules"] = [*others, new]
        return
    found = ASSIGNMENT.fullmatch(path)
    assert found is not None, path
    items = arm.setdefault("roleAssignments", [])
    others = [a for a in items if a["id"].casefold() != path.casefold()]
    if step.method == "DELETE":
        arm["roleAssignments"] = others
        return
    assert step.method == "PUT"
    assert step.body is not None
    props = dict(step.body["properties"])
    uuid.UUID(found["name"])
    scope = found["scope"] or "/"
    for other in others:
        o = other["properties"]
        same = (
            o["principalId"].casefold() == props["principalId"].casefold()
            and o["roleDefinitionId"].rsplit("/", 1)[-1].casefold()
            == props["roleDefinitionId"].rsplit("/", 1)[-1].casefold()
            and (o.get("scope") or "/").casefold() == scope.casefold()
        )
        if same:
            raise Refused("RoleAssignmentExists")
    if "condition" in props:
        assert props["conditionVersion"] == "2.0"
    props["scope"] = scope
    arm["roleAssignments"] = [
        *others,
        {
            "id": path,
            "name": found["name"],
            "type": "Microsoft.Authorization/roleAssignments",
            "properties": props,
        },
    ]


def _graph(doc: dict[str, Any], step: Step, path: str) -> None:
    graph = doc.setdefault("graph", {})
    body = dict(step.body or {})
    if path.startswith("/identity/conditionalAccess/policies"):
        policies = graph["conditionalAccessPolicies"]
        if step.method == "POST":
            policies.append({"id": str(uuid.uuid4()), **copy.deepcopy(body)})
            return
        assert step.method == "PATCH"
        policy = next(p for p in policies if p["id"] == path.rsplit("/", 1)[-1])
        _merge(policy, body)
        return
    if path.startswith("/roleManagement/directory/roleAssignments"):
        members = graph["directoryRoleAssignments"]
        if step.method == "DELETE":
            wanted = path.rsplit("/", 1)[-1]
            assert any(m["id"] == wanted for m in members)
            graph["directoryRoleAssignments"] = [m for m in members if m["id"] != wanted]
            return
        assert step.method == "POST"
        assert body.pop("@odata.type") == ("#microsoft.graph.unifiedRoleAssignment")
        members.append({"id": str(uuid.uuid4()), **body})
        return
    if path == "/roleManagement/directory/roleEligibilityScheduleRequests":
        assert step.method == "POST"
        eligible = graph["directoryRoleEligibilitySchedules"]
        action = body.pop("action")
        body.pop("justification")
        body.pop("scheduleInfo", None)

        def same(entry: dict[str, Any]) -> bool:
            return all(str(entry.get(k)).casefold() == str(v).casefold() for k, v in body.items())

        if action == "adminRemove":
            assert any(same(e) for e in eligible)
            graph["directoryRoleEligibilitySchedules"] = [e for e in eligible if not same(e)]
        else:
            assert action == "adminAssign"
            eligible.append({"id": str(uuid.uuid4()), "status": "Provisioned", **body})
        return
    if path == "/policies/identitySecurityDefaultsEnforcementPolicy":
        assert step.method == "PATCH"
        _merge(graph["securityDefaults"], body)
        return
    prefix = "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/"
    assert path.startswith(prefix), path
    assert step.method == "PATCH"
    method = path[len(prefix) :]
    configs = graph["authenticationMethodsPolicy"]["authenticationMethodConfigurations"]
    config = next((c for c in configs if c["id"].casefold() == method.casefold()), None)
    if config is None:
        configs.append({"id": method, **body})
        return
    if config.get("@odata.type") not in (None, body["@odata.type"]):
        raise Refused(f"{method} is a {config['@odata.type']}")
    _merge(config, body)
