"""Reading normalized (case-folded) Conditional Access policies for the CA guards."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .._state import StateView
from ..kinds.conditional_access import POLICIES, ConditionalAccessPolicy
from ..kinds.tenant_policies import SECURITY_DEFAULTS, SecurityDefaults, is_enabled
from ..snapshot import is_unreadable, why_unreadable

__all__ = [
    "CA_TENANT_READS",
    "enabled_policies",
    "excludes_groups_or_roles",
    "grant_controls",
    "includes",
    "security_defaults_note",
    "security_defaults_on",
    "unconditional",
    "values_at",
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
    if is_unreadable(state):
        return f" (security defaults unreadable: {why_unreadable(state)})"
    return ""


def enabled_policies(view: StateView) -> Iterable[tuple[str, Mapping[str, Any]]]:
    """(displayName, normalized policy) of every policy in state ``enabled`` (not report-only)."""
    for setting in view.index(ConditionalAccessPolicy.name).values():
        if setting.state.get("state") == "enabled":
            yield setting.title, setting.state


_WRONG_SHAPE = object()
"""What :func:`_at` finds below a value that is not an object."""


def _at(policy: Mapping[str, Any], *path: str) -> Any:
    """The value at ``path``: None when absent, :data:`_WRONG_SHAPE` when a step is not an
    object."""
    value: Any = policy
    for part in path:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            return _WRONG_SHAPE
        value = value.get(part)
    return value


def values_at(policy: Mapping[str, Any], *path: str) -> list[Any] | None:
    """The list at ``path`` (``[]`` when absent), or None when something else is there.

    A policy of the wrong shape (a string where Graph sends a list) cannot be judged: callers
    take None as "does not hold", so such a policy never counts as protection."""
    value = _at(policy, *path)
    if value is None:
        return []
    return value if isinstance(value, list) else None


def _strings(values: list[Any]) -> set[str]:
    return {v for v in values if isinstance(v, str)}


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


def _all_of(policy: Mapping[str, Any], what: str, include: str, exclude: str) -> bool:
    """Whether the ``what`` condition (platforms, locations) is absent, or includes all and
    excludes none."""
    condition = _at(policy, "conditions", what)
    if condition is None:
        return True
    if not isinstance(condition, Mapping):
        return False
    included = values_at(condition, include)
    return included is not None and "all" in included and condition.get(exclude) is None


def unconditional(policy: Mapping[str, Any], *, clients: bool = True) -> bool:
    """Whether a policy applies to every app, platform, location, device, risk level and
    (with ``clients``) client app type. (Policies are normalized: empty values are gone, so
    any condition present narrows; one of the wrong shape narrows too.)"""
    apps = values_at(policy, "conditions", "applications", "includeApplications")
    if apps is None or "all" not in apps:
        return False
    if any(_at(policy, "conditions", *path) is not None for path in _NARROWING):
        return False
    if not _all_of(policy, "platforms", "includePlatforms", "excludePlatforms"):
        return False
    if not _all_of(policy, "locations", "includeLocations", "excludeLocations"):
        return False
    if not clients:
        return True
    types = values_at(policy, "conditions", "clientAppTypes")
    if types is None:
        return False
    found = _strings(types or ["all"])
    return "all" in found or {"browser", "mobileappsanddesktopclients"} <= found


def includes(policy: Mapping[str, Any], *, role: str | None = None) -> bool:
    """Whether the policy's users condition includes everyone, or ``role``, not excluding it."""
    users = _at(policy, "conditions", "users")
    if not isinstance(users, Mapping):
        return False
    excluded = values_at(users, "excludeRoles")
    if excluded is None or (role is not None and role in excluded):
        return False
    if "all" in (values_at(users, "includeUsers") or []):
        return True
    return role is not None and role in (values_at(users, "includeRoles") or [])


def excludes_groups_or_roles(policy: Mapping[str, Any]) -> bool:
    users = _at(policy, "conditions", "users")
    if not isinstance(users, Mapping):
        return users is not None
    return users.get("excludeRoles") is not None or users.get("excludeGroups") is not None


def grant_controls(policy: Mapping[str, Any]) -> tuple[str, list[Any], bool]:
    """(operator, the alternatives that grant access, whether an authentication strength is
    one of them). Terms of use and custom factors are alternatives too: with operator OR,
    accepting the terms alone would grant access. Grant controls of the wrong shape grant
    nothing the guards count: ``("or", [], False)``."""
    grant = _at(policy, "grantControls")
    grant = {} if grant is None else grant
    if not isinstance(grant, Mapping):
        return "or", [], False
    built_in = values_at(grant, "builtInControls")
    terms = values_at(grant, "termsOfUse")
    custom = values_at(grant, "customAuthenticationFactors")
    if built_in is None or terms is None or custom is None:
        return "or", [], False
    alternatives = list(built_in)
    alternatives += [f"termsOfUse:{t}" for t in terms]
    alternatives += [f"custom:{c}" for c in custom]
    return (
        str(grant.get("operator") or "or"),
        alternatives,
        isinstance(grant.get("authenticationStrength"), Mapping),
    )
