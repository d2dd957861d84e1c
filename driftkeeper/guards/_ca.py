"""Reading normalized (case-folded) Conditional Access policies for the CA guards."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .._state import StateView
from ..kinds.conditional_access import POLICIES, ConditionalAccessPolicy
from ..kinds.tenant_policies import SECURITY_DEFAULTS, SecurityDefaults, is_enabled

__all__ = [
    "CA_TENANT_READS",
    "enabled_policies",
    "excludes_groups_or_roles",
    "grant_controls",
    "includes",
    "security_defaults_note",
    "security_defaults_on",
    "unconditional",
]


CA_TENANT_READS = (
    (ConditionalAccessPolicy.name, POLICIES.path),
    (SecurityDefaults.name, SECURITY_DEFAULTS.path),
)
"""What the tenant-wide CA guards judge: every policy, and whether security defaults are on."""


def security_defaults_on(view: StateView) -> bool:
    """Whether security defaults are on: only a JSON ``true`` (``"false"`` is not on)."""
    policy = view.snapshot.object(SECURITY_DEFAULTS.name)
    return policy is not None and is_enabled(policy) is True


def security_defaults_note(view: StateView) -> str:
    """Why security defaults did not count, when that is not plain "they are off"."""
    policy = view.snapshot.object(SECURITY_DEFAULTS.name)
    if policy is None:
        return " (security defaults not captured)"
    state = is_enabled(policy)
    if isinstance(state, dict):
        return f" (security defaults unreadable: {state['unreadable']})"
    return ""


def enabled_policies(view: StateView) -> Iterable[tuple[str, Mapping[str, Any]]]:
    """(displayName, normalized policy) of every policy in state ``enabled`` (not report-only)."""
    for setting in view.index(ConditionalAccessPolicy.name).values():
        if setting.state.get("state") == "enabled":
            yield setting.title, setting.state


def _get(policy: Mapping[str, Any], *path: str) -> Any:
    value: Any = policy
    for part in path:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


_NARROWING = (
    ("signInRiskLevels",),
    ("userRiskLevels",),
    ("servicePrincipalRiskLevels",),
    ("insiderRiskLevels",),
    ("authenticationFlows",),
    ("clientApplications",),
    ("devices", "deviceFilter"),
    ("applications", "applicationFilter"),
    ("applications", "excludeApplications"),
    ("applications", "includeUserActions"),
    ("applications", "includeAuthenticationContextClassReferences"),
)
"""Conditions that make a policy apply to only part of the sign-ins it targets."""


def unconditional(policy: Mapping[str, Any], *, clients: bool = True) -> bool:
    """Whether a policy applies to every app, platform, location, device, risk level and
    (with ``clients``) client app type."""
    if "all" not in (_get(policy, "conditions", "applications", "includeApplications") or []):
        return False
    if any(_get(policy, "conditions", *path) for path in _NARROWING):
        return False
    platforms = _get(policy, "conditions", "platforms")
    if platforms and (
        "all" not in (platforms.get("includePlatforms") or []) or platforms.get("excludePlatforms")
    ):
        return False
    locations = _get(policy, "conditions", "locations")
    if locations and (
        "all" not in (locations.get("includeLocations") or []) or locations.get("excludeLocations")
    ):
        return False
    if not clients:
        return True
    types = set(_get(policy, "conditions", "clientAppTypes") or ["all"])
    return "all" in types or {"browser", "mobileappsanddesktopclients"} <= types


def includes(policy: Mapping[str, Any], *, role: str | None = None) -> bool:
    """Whether the policy's users condition includes everyone, or ``role``, not excluding it."""
    users = _get(policy, "conditions", "users") or {}
    if role is not None and role in (users.get("excludeRoles") or []):
        return False
    if "all" in (users.get("includeUsers") or []):
        return True
    return role is not None and role in (users.get("includeRoles") or [])


def excludes_groups_or_roles(policy: Mapping[str, Any]) -> bool:
    users = _get(policy, "conditions", "users") or {}
    return bool(users.get("excludeRoles") or users.get("excludeGroups"))


def grant_controls(policy: Mapping[str, Any]) -> tuple[str, list[str], bool]:
    """(operator, the alternatives that grant access, whether an authentication strength is
    one of them). Terms of use and custom factors are alternatives too: with operator OR,
    accepting the terms alone would grant access."""
    grant = policy.get("grantControls") or {}
    alternatives = list(grant.get("builtInControls") or [])
    alternatives += [f"termsOfUse:{t}" for t in grant.get("termsOfUse") or []]
    alternatives += [f"custom:{c}" for c in grant.get("customAuthenticationFactors") or []]
    return (
        str(grant.get("operator") or "or"),
        alternatives,
        bool(grant.get("authenticationStrength")),
    )
