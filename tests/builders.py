"""Small builders for snapshot documents in the REST shapes ARM and Graph return."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

from driftkeeper import Snapshot
from driftkeeper.baseline import BaselineSet, parse_baseline
from driftkeeper.capture import captured_documents
from tests.corpus import sample as corpus  # the public samples in tests/corpus

SUB = "/subscriptions/00000000-0000-0000-0000-00000000aaaa"
RG = f"{SUB}/resourceGroups/rg-web"
NSG_ID = f"{RG}/providers/Microsoft.Network/networkSecurityGroups/web-nsg"
OWNER = "/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
READER = "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"
GA = "62e90394-69f5-4237-9190-012177145e10"


def rule(name: str, priority: int = 100, **props: Any) -> dict[str, Any]:
    body = {
        "protocol": "Tcp",
        "sourcePortRange": "*",
        "destinationPortRange": "443",
        "sourceAddressPrefix": "10.0.0.0/8",
        "destinationAddressPrefix": "*",
        "access": "Allow",
        "priority": priority,
        "direction": "Inbound",
        "provisioningState": "Succeeded",
    }
    body.update(props)
    return {
        "name": name,
        "id": f"{NSG_ID}/securityRules/{name}",
        "etag": 'W/"00000000-0000-0000-0000-000000000001"',
        "type": "Microsoft.Network/networkSecurityGroups/securityRules",
        "properties": {k: v for k, v in body.items() if v is not ...},
    }


def nsg(rules: list[dict[str, Any]], nsg_id: str = NSG_ID) -> dict[str, Any]:
    return {
        "name": nsg_id.rsplit("/", 1)[-1],
        "id": nsg_id,
        "etag": 'W/"1"',
        "type": "Microsoft.Network/networkSecurityGroups",
        "location": "westeurope",
        "properties": {"provisioningState": "Succeeded", "securityRules": rules},
    }


def assignment(principal: str, role: str = OWNER, scope: str = SUB, **props: Any) -> dict[str, Any]:
    guid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{principal}|{role}|{scope}"))
    return {
        "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{guid}",
        "name": guid,
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {
            "roleDefinitionId": f"{SUB}{role}" if role.startswith("/providers") else role,
            "principalId": principal,
            "principalType": "User",
            "scope": scope,
            "createdOn": "2026-01-01T00:00:00Z",
            **props,
        },
    }


def member(principal: str, role: str = GA, name: str = "") -> dict[str, Any]:
    return {
        "id": f"{role}-{principal}",
        "principalId": principal,
        "roleDefinitionId": role,
        "directoryScopeId": "/",
        "principal": {"@odata.type": "#microsoft.graph.user", "id": principal, "displayName": name},
    }


def mfa_policy(state: str = "enabled", **overrides: Any) -> dict[str, Any]:
    from driftkeeper.kinds.directory_roles import PRIVILEGED_ROLES

    policy: dict[str, Any] = {
        "id": "11111111-2222-3333-4444-555555555555",
        "displayName": "Require MFA for admins",
        "createdDateTime": "2026-01-01T00:00:00Z",
        "modifiedDateTime": None,
        "state": state,
        "conditions": {
            "clientAppTypes": ["all"],
            "applications": {"includeApplications": ["All"], "excludeApplications": []},
            "users": {
                "includeUsers": [],
                "excludeUsers": ["99999999-0000-0000-0000-000000000001"],
                "includeRoles": sorted(PRIVILEGED_ROLES),
                "excludeRoles": [],
            },
        },
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"], "termsOfUse": []},
        "sessionControls": None,
    }
    policy.update(overrides)
    return policy


def legacy_block_policy() -> dict[str, Any]:
    return {
        "id": "66666666-2222-3333-4444-555555555555",
        "displayName": "Block legacy authentication",
        "state": "enabled",
        "conditions": {
            "clientAppTypes": ["exchangeActiveSync", "other"],
            "applications": {"includeApplications": ["All"]},
            "users": {
                "includeUsers": ["All"],
                "excludeUsers": ["99999999-0000-0000-0000-000000000001"],
            },
        },
        "grantControls": {"operator": "OR", "builtInControls": ["block"]},
    }


def document(**sections: Any) -> dict[str, Any]:
    """A snapshot document; keyword names are section names without the group."""
    doc: dict[str, Any] = {
        "schema": "driftkeeper.snapshot/1",
        "tenantId": "tenant-1",
        "capturedAt": "2026-11-22T10:00:00Z",
    }
    for name, value in sections.items():
        group = (
            "arm"
            if name in ("networkSecurityGroups", "roleAssignments", "roleDefinitions")
            else "graph"
        )
        doc.setdefault(group, {})[name] = value
    return doc


def healthy(**overrides: Any) -> dict[str, Any]:
    """A compliant tenant: every guard holds."""
    sections: dict[str, Any] = {
        "networkSecurityGroups": [
            nsg(
                [
                    rule("allow-https"),
                    rule("deny-ssh", 200, access="Deny", destinationPortRange="22"),
                ]
            )
        ],
        "roleAssignments": [
            assignment("owner-1"),
            assignment("owner-2"),
            assignment("reader-1", READER, RG),
        ],
        "conditionalAccessPolicies": [mfa_policy(), legacy_block_policy()],
        "directoryRoleAssignments": [member("ga-1", name="Ann"), member("ga-2", name="Bob")],
        "securityDefaults": {"id": "00000000-0000-0000-0000-000000000005", "isEnabled": False},
        "authenticationMethodsPolicy": corpus(
            "graph/policies_authenticationMethodsPolicy_get_v1.0.json"
        ),
    }
    sections.update(overrides)
    return document(**sections)


def baselines_of(doc: dict[str, Any]) -> BaselineSet:
    """The baselines ``baseline capture`` would write for ``doc``, parsed back."""
    docs, _ = captured_documents(Snapshot.from_dict(copy.deepcopy(doc)))
    parsed = [
        parse_baseline(json.loads(json.dumps(d)), f"baselines/{rel}") for rel, d in docs.items()
    ]
    return BaselineSet(tuple(p for p in parsed if not hasattr(p, "guard")))  # type: ignore[misc]
