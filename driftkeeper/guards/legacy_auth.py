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
from ..kinds.conditional_access import POLICIES, ConditionalAccessPolicy
from . import Guard, Verdict, register
from ._ca import (
    CA_TENANT_READS,
    enabled_policies,
    excludes_groups_or_roles,
    grant_controls,
    includes,
    security_defaults_note,
    security_defaults_on,
    unconditional,
    values_at,
)

__all__ = ["LegacyAuthBlocked"]

RESOURCE = POLICIES.path
_LEGACY = {"exchangeactivesync", "other"}


def blocks_legacy(policy: Mapping[str, Any]) -> bool:
    """Blocks exchangeActiveSync and other clients for all users (break-glass users may be
    excluded, roles and groups may not) and all apps, with no narrowing condition."""
    clients = values_at(policy, "conditions", "clientAppTypes")
    _, controls, _ = grant_controls(policy)
    return (
        clients is not None
        and {c for c in clients if isinstance(c, str)} >= _LEGACY
        and unconditional(policy, clients=False)
        and includes(policy)
        and not excludes_groups_or_roles(policy)
        and "block" in controls
    )


@register
class LegacyAuthBlocked(Guard):
    name = "ca-legacy-auth-blocked"
    kind = ConditionalAccessPolicy.name
    title = "Legacy authentication blocked"
    responsibility = "identity-and-access"
    layer = "identity"
    source = (
        "CIS Microsoft 365 Foundations Benchmark 5.2.2.3; CA template 'Block legacy authentication'"
    )
    default_severity = "high"
    sections = (POLICIES.name,)
    tenant_reads = CA_TENANT_READS

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
            "exchangeActiveSync and other clients for all users and apps"
            + security_defaults_note(view),
            (Change("clientAppTypes[exchangeActiveSync, other]", "block", "allowed"),),
        )
