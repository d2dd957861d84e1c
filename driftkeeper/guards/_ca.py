"""Reading normalized (case-folded) Conditional Access policies for the CA guards."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .._state import StateView

__all__ = ["enabled_policies", "security_defaults_on", "unconditional"]


def security_defaults_on(view: StateView) -> bool:
    policy = view.snapshot.object("graph.securityDefaults")
    return bool(policy and policy.get("isEnabled"))


def enabled_policies(view: StateView) -> Iterable[tuple[str, Mapping[str, Any]]]:
    """(displayName, normalized policy) of every policy in state ``enabled`` (not report-only)."""
    for setting in view.index("conditional-access-policy").values():
        if setting.state.get("state") == "enabled":
            yield setting.title, setting.state


def _get(policy: Mapping[str, Any], *path: str) -> Any:
    value: Any = policy
    for part in path:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def unconditional(policy: Mapping[str, Any]) -> bool:
    """Whether a policy applies to every app, platform, location, client and risk level."""
    if "all" not in (_get(policy, "conditions", "applications", "includeApplications") or []):
        return False
    if _get(policy, "conditions", "applications", "excludeApplications"):
        return False
    for risk in ("signInRiskLevels", "userRiskLevels", "servicePrincipalRiskLevels"):
        if _get(policy, "conditions", risk):
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
    clients = set(_get(policy, "conditions", "clientAppTypes") or ["all"])
    return "all" in clients or {"browser", "mobileappsanddesktopclients"} <= clients


def includes(policy: Mapping[str, Any], *, role: str | None = None) -> bool:
    """Whether the policy's users condition includes everyone, or ``role``, not excluding it."""
    users = _get(policy, "conditions", "users") or {}
    if role is not None and role in (users.get("excludeRoles") or []):
        return False
    if "all" in (users.get("includeUsers") or []):
        return True
    return role is not None and role in (users.get("includeRoles") or [])


def grant_controls(policy: Mapping[str, Any]) -> tuple[str, list[str], bool]:
    grant = policy.get("grantControls") or {}
    return (
        str(grant.get("operator") or "or"),
        list(grant.get("builtInControls") or []),
        bool(grant.get("authenticationStrength")),
    )
