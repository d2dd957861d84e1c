"""Conditional Access requires MFA for privileged directory roles.

Sources: CIS Microsoft 365 Foundations Benchmark 5.2.2.1 "Ensure multifactor authentication
is enabled for all users in administrative roles"; Microsoft's CA template "Require
multifactor authentication for admins" (its 14 roles are the default list).

A role is covered by an *enabled* (not report-only) policy that includes the role (or all
users) without excluding it, targets all applications with no narrowing condition (risk
level, platform, location, client app), and grants access only with MFA or an
authentication strength (``mfa`` alone, or with operator AND). Excluded break-glass users
are allowed. Security defaults on covers every role.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .._model import Change
from .._state import StateView
from ..kinds.conditional_access import POLICIES, ConditionalAccessPolicy
from ..kinds.directory_roles import PRIVILEGED_ROLES
from . import Guard, Verdict, register
from ._ca import (
    CA_TENANT_READS,
    enabled_policies,
    grant_controls,
    includes,
    security_defaults_note,
    security_defaults_on,
    unconditional,
)

__all__ = ["MfaForPrivilegedRoles", "requires_mfa"]

RESOURCE = POLICIES.path


def requires_mfa(policy: Mapping[str, Any]) -> bool:
    """MFA (or an authentication strength) is required: with AND it is one of the controls;
    with OR every alternative is MFA (terms of use or a device alone would do otherwise)."""
    operator, alternatives, strength = grant_controls(policy)
    if "block" in alternatives:
        return False
    if not ("mfa" in alternatives or strength):
        return False
    return operator == "and" or all(a == "mfa" for a in alternatives)


@register
class MfaForPrivilegedRoles(Guard):
    name = "ca-mfa-privileged-roles"
    kind = ConditionalAccessPolicy.name
    title = "MFA required for privileged directory roles"
    responsibility = "identity-and-access"
    layer = "identity"
    source = "CIS Microsoft 365 Foundations Benchmark 5.2.2.1; CA template 'Require MFA for admins'"
    default_severity = "critical"
    sections = (POLICIES.name,)
    tenant_reads = CA_TENANT_READS
    params_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "roles": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}
        },
    }
    defaults = {"roles": list(PRIVILEGED_ROLES)}

    def check(self, view: StateView, params: Mapping[str, Any]) -> Iterable[Verdict]:
        if security_defaults_on(view):
            yield Verdict(RESOURCE, True, "security defaults are on: MFA is required for admins")
            return
        mfa = [(n, p) for n, p in enabled_policies(view) if unconditional(p) and requires_mfa(p)]
        uncovered = [
            str(role).casefold()
            for role in params["roles"]
            if not any(includes(p, role=str(role).casefold()) for _, p in mfa)
        ]
        if not uncovered:
            by = ", ".join(sorted(n for n, _ in mfa))
            yield Verdict(RESOURCE, True, f"MFA is required for admins by {by}")
            return
        names = [PRIVILEGED_ROLES.get(r, r) for r in uncovered]
        changes = tuple(
            Change(f"roles[{name}]", "an enabled CA policy requiring MFA", "none") for name in names
        )
        hint = security_defaults_note(view)
        yield Verdict(
            RESOURCE,
            False,
            f"No enabled Conditional Access policy requires MFA for {len(names)} privileged "
            f"role(s): {', '.join(names[:5])}{' ...' if len(names) > 5 else ''}{hint}",
            changes,
        )
