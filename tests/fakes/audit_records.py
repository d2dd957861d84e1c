"""Entra ``directoryAudit`` records for the audit reader and audit poll tests.

The records have the shape of Graph v1.0's (see :func:`tests.fakes.azure_rest.directory_audit`):
:func:`ca_update` turns the Conditional Access policy :data:`CA_POLICY` report-only, and
:func:`role_added` makes the user :data:`MEMBER` a Global Administrator (:data:`GA`).
"""

from __future__ import annotations

from typing import Any

from .azure_rest import directory_audit

__all__ = ["CA_POLICY", "GA", "MEMBER", "ca_update", "role_added"]

CA_POLICY = "c0ffee00-1111-4222-8333-444455556666"
GA = "62e90394-69f5-4237-9190-012177145e10"
"""The Global Administrator role template id."""
MEMBER = "3f2e1d0c-9b8a-4765-8432-10fedcba9801"


def ca_update(ident: str, when: str) -> dict[str, Any]:
    """As examples/events-burst.json's "Update conditional access policy" record."""
    return directory_audit(
        ident,
        when,
        category="Policy",
        activity="Update conditional access policy",
        service="Conditional Access",
        target={
            "id": CA_POLICY,
            "displayName": "CA001: Require MFA for administrators",
            "type": "Policy",
            "modifiedProperties": [
                {
                    "displayName": "ConditionalAccessPolicy",
                    "oldValue": '{"state":"enabled"}',
                    "newValue": '{"state":"enabledForReportingButNotEnforced"}',
                }
            ],
        },
    )


def role_added(ident: str, when: str) -> dict[str, Any]:
    """An "Add member to role" record: :data:`MEMBER` gets the Global Administrator role."""
    return directory_audit(
        ident,
        when,
        category="RoleManagement",
        activity="Add member to role",
        operation="Assign",
        target={
            "id": MEMBER,
            "displayName": "Eve",
            "type": "User",
            "userPrincipalName": "eve@contoso.example",
            "modifiedProperties": [
                {"displayName": "Role.TemplateId", "oldValue": None, "newValue": f'"{GA}"'},
                {
                    "displayName": "Role.DisplayName",
                    "oldValue": None,
                    "newValue": '"Global Administrator"',
                },
            ],
        },
    )
