"""Legacy authentication is blocked.

Sources: CIS Microsoft 365 Foundations Benchmark 5.2.2.3 "Enable Conditional Access
policies to block legacy authentication"; Microsoft's CA template "Block legacy
authentication". Holds when security defaults are on, or an enabled (not report-only)
policy for all users and all applications blocks the ``exchangeActiveSync`` and ``other``
client app types.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .._model import Change
from .._state import StateView
from . import Guard, Verdict, register
from ._ca import enabled_policies, grant_controls, includes, security_defaults_on

__all__ = ["LegacyAuthBlocked"]

RESOURCE = "/identity/conditionalAccess/policies"
_LEGACY = {"exchangeactivesync", "other"}


def blocks_legacy(policy: Mapping[str, Any]) -> bool:
    conditions = policy.get("conditions") or {}
    clients = set(conditions.get("clientAppTypes") or [])
    apps = (conditions.get("applications") or {}).get("includeApplications") or []
    _, controls, _ = grant_controls(policy)
    return clients >= _LEGACY and "all" in apps and includes(policy) and "block" in controls


@register
class LegacyAuthBlocked(Guard):
    name = "ca-legacy-auth-blocked"
    kind = "conditional-access-policy"
    title = "Legacy authentication blocked"
    source = (
        "CIS Microsoft 365 Foundations Benchmark 5.2.2.3; CA template 'Block legacy authentication'"
    )
    default_severity = "high"
    sections = ("graph.conditionalAccessPolicies",)
    tenant_read = ("conditional-access-policy", RESOURCE)

    def check(self, view: StateView, params: Mapping[str, Any]) -> Iterable[Verdict]:
        if security_defaults_on(view):
            yield Verdict(
                RESOURCE, True, "security defaults are on: legacy authentication is blocked"
            )
            return
        blocking = sorted(n for n, p in enabled_policies(view) if blocks_legacy(p))
        if blocking:
            yield Verdict(RESOURCE, True, f"legacy authentication blocked by {', '.join(blocking)}")
            return
        yield Verdict(
            RESOURCE,
            False,
            "Legacy authentication is not blocked: no enabled Conditional Access policy blocks "
            "exchangeActiveSync and other clients for all users and apps",
            (Change("clientAppTypes[exchangeActiveSync, other]", "block", "allowed"),),
        )
