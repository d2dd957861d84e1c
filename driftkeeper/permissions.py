"""Every permission driftkeeper needs, by mode, with the kind and the step that needs it.

Derived, never kept in step by hand:

- **Rollback writes** come from each kind's ``writes`` (:class:`~driftkeeper.rollback.Write`),
  the declarations its ``plan`` makes its steps from (``make_plans`` refuses any other).
- **Reads** come from the kinds' snapshot sections (``Kind.reads``) and the audit poll: an
  ARM section needs its type's ``/read`` action (the built-in Reader role holds ``*/read``);
  a Graph section needs the permission :data:`GRAPH_READS` names for it. A test holds
  :data:`GRAPH_READS` to exactly the Graph sections the kinds declare, so a new section
  without a documented permission fails it.

Modes: ``detect`` (reads only), ``rollback`` (the reads and the writes), and ``mail`` (the
optional Graph mail alert sink). ``docs/permissions.md`` carries :func:`markdown_table`;
``driftkeeper setup graph-permissions`` grants :func:`graph_permissions`; the rollback role
(``infra/modules/rollback-role.bicep``) holds :func:`arm_actions` ``("rollback")`` minus
Reader's reads, under a condition naming :data:`PROTECTED_ROLES`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ARM_POLL_READS",
    "GRAPH_APP_ID",
    "GRAPH_READS",
    "MAIL_SEND",
    "MODES",
    "PROTECTED_ROLES",
    "Mode",
    "Need",
    "arm_actions",
    "graph_permissions",
    "markdown_table",
    "needs",
]

Mode = Literal["detect", "rollback", "mail"]
MODES: tuple[Mode, ...] = ("detect", "rollback", "mail")

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
"""The appId of Microsoft Graph's service principal in every tenant."""

AUDIT_SECTION = "auditLogs.directoryAudits"
"""The audit poll's read (``driftkeeper.live._audit``): not a kind's section."""

GRAPH_READS: Mapping[str, tuple[str, str]] = {
    "graph.conditionalAccessPolicies": (
        "Policy.Read.All",
        "list Conditional Access policies (GET /identity/conditionalAccess/policies)",
    ),
    "graph.directoryRoleAssignments": (
        "RoleManagement.Read.Directory",
        "list active directory role members (GET /roleManagement/directory/roleAssignments, "
        "$expand=principal for display names only)",
    ),
    "graph.directoryRoleEligibilitySchedules": (
        "RoleManagement.Read.Directory",
        "list PIM eligibility (GET /roleManagement/directory/roleEligibilitySchedules)",
    ),
    "graph.directoryRoleDefinitions": (
        "RoleManagement.Read.Directory",
        "role names for people (GET /roleManagement/directory/roleDefinitions)",
    ),
    "graph.securityDefaults": (
        "Policy.Read.All",
        "read security defaults (GET /policies/identitySecurityDefaultsEnforcementPolicy)",
    ),
    "graph.authenticationMethodsPolicy": (
        "Policy.Read.AuthenticationMethod",
        "read the authentication methods policy (GET /policies/authenticationMethodsPolicy)",
    ),
    AUDIT_SECTION: (
        "AuditLog.Read.All",
        "the audit poll: Entra changes Event Grid does not carry (GET /auditLogs/directoryAudits)",
    ),
}
"""The least privileged Graph application permission of each Graph read, by section."""

MAIL_SEND = "Mail.Send"
"""The Graph mail alert sink (``POST /users/{sender}/sendMail``); limit it to the sender's
mailbox with an Exchange Online application access policy."""

ARM_POLL_READS: tuple[tuple[str, str], ...] = (
    (
        "Microsoft.Network/locations/operations/read",
        "poll the Azure-AsyncOperation URL of an NSG rule write (a subscription-level path, "
        "/subscriptions/{id}/providers/Microsoft.Network/locations/{region}/operations/{id})",
    ),
    (
        "Microsoft.Network/locations/operationResults/read",
        "poll the Location URL of an NSG rule write or delete answered 202",
    ),
)
"""The reads a rollback's long-running operations need: Reader on the subscription has them;
the rollback role carries them too, so a write's poll never fails where Reader was scoped
narrower (a resource group)."""

PROTECTED_ROLES: Mapping[str, str] = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": "Role Based Access Control Administrator",
}
"""Roles whose assignments the rollback role's condition forbids writing or deleting."""


@dataclass(frozen=True)
class Need:
    """One permission one step needs."""

    service: Literal["arm", "graph"]
    permission: str
    """An ARM action or a Graph application permission."""
    mode: Mode
    kind: str
    """The kind that needs it (``audit poll``, ``alerts`` for what is not a kind's)."""
    step: str
    """What it is for: the request and why."""


def needs(mode: Mode | None = None) -> list[Need]:
    """Every :class:`Need` of ``mode`` (None: all), in the kinds' order, reads first."""
    from .kinds import all_kinds

    found: list[Need] = []
    for kind in all_kinds().values():
        for section in kind.reads:
            if section.api == "arm":
                step = f"read {section.resource_type} ({section.name})"
                found.append(
                    Need("arm", f"{section.resource_type}/read", "detect", kind.name, step)
                )
            else:
                permission, why = GRAPH_READS[section.name]
                found.append(Need("graph", permission, "detect", kind.name, why))
    permission, why = GRAPH_READS[AUDIT_SECTION]
    found.append(Need("graph", permission, "detect", "audit poll", why))
    for kind in all_kinds().values():
        for write in kind.writes:
            step = f"{write.method} {write.path}: {write.purpose}"
            found.append(Need(write.api, write.permission, "rollback", kind.name, step))
        if any(w.api == "arm" and "Microsoft.Network/" in w.permission for w in kind.writes):
            for action, why in ARM_POLL_READS:
                found.append(Need("arm", action, "rollback", kind.name, why))
    found.append(
        Need(
            "graph", MAIL_SEND, "mail", "alerts", "send alert mail (POST /users/{sender}/sendMail)"
        )
    )
    if mode is None:
        return found
    wanted = {"detect"} if mode == "detect" else {"detect", mode}
    return [n for n in found if n.mode in wanted]


def _permissions(items: Iterable[Need], service: str) -> tuple[str, ...]:
    return tuple(sorted({n.permission for n in items if n.service == service}))


def graph_permissions(mode: Mode) -> tuple[str, ...]:
    """The Graph application permissions ``mode`` needs (its reads included), sorted."""
    return _permissions(needs(mode), "graph")


def arm_actions(mode: Mode) -> tuple[str, ...]:
    """The ARM actions ``mode`` needs (its reads included), sorted."""
    return _permissions(needs(mode), "arm")


def markdown_table() -> str:
    """The table of every permission (``docs/permissions.md`` carries it verbatim)."""
    lines = [
        "| Mode | Service | Permission | Kind | Step that needs it |",
        "|---|---|---|---|---|",
    ]
    for need in needs():
        service = "ARM" if need.service == "arm" else "Graph"
        step = need.step.replace("|", "\\|")
        lines.append(f"| {need.mode} | {service} | `{need.permission}` | {need.kind} | {step} |")
    return "\n".join(lines) + "\n"
