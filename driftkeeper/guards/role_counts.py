"""How many people hold the keys: Global Administrators and subscription Owners.

Sources: CIS Microsoft 365 Foundations Benchmark 1.1.3 "Ensure that between two and four
global admins are designated"; Azure Policy built-ins "There should be more than one owner
assigned to your subscription" and "A maximum of 3 owners should be designated for your
subscription" (CIS Microsoft Azure Foundations Benchmark 1.x).

Principals are counted once however many assignments they have; a group counts as one.
Subscription Owners count assignments at the subscription itself and at the root scope
``/``; management-group assignments are not counted (the snapshot does not record the
management-group hierarchy).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .._model import Change
from .._state import StateView
from ..kinds.directory_roles import ACTIVE, ELIGIBLE, GLOBAL_ADMINISTRATOR, DirectoryRoleMembers
from ..kinds.directory_roles import PREFIX as ROLE_PREFIX
from ..kinds.role_assignments import ASSIGNMENTS, OWNER_ROLE_ID, RoleAssignments
from ..snapshot import is_unreadable, why_unreadable
from . import Guard, Verdict, register

__all__ = ["GlobalAdminCount", "SubscriptionOwnerCount"]


def _bounds_schema(minimum: int) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "min": {"type": "integer", "minimum": minimum},
            "max": {"type": "integer", "minimum": 1},
            "countEligible": {"type": "boolean"},
        },
    }


def _verdict(resource: str, what: str, count: int, params: Mapping[str, Any]) -> Verdict:
    low, high = params["min"], params["max"]
    wanted = f"between {low} and {high}"
    if low <= count <= high:
        return Verdict(resource, True, f"{count} {what} ({wanted})")
    side = "too few" if count < low else "too many"
    return Verdict(
        resource,
        False,
        f"{count} {what}: {side}, expected {wanted}",
        (Change("count", wanted, count),),
    )


@register
class GlobalAdminCount(Guard):
    name = "global-admin-count"
    kind = DirectoryRoleMembers.name
    title = "Between 2 and 4 Global Administrators"
    responsibility = "account-and-access-management"
    layer = "identity"
    source = "CIS Microsoft 365 Foundations Benchmark 1.1.3"
    default_severity = "high"
    sections = (ACTIVE.name,)
    params_schema = _bounds_schema(0)
    defaults = {"min": 2, "max": 4, "countEligible": False}

    def required_sections(self, params: Mapping[str, Any]) -> tuple[str, ...]:
        if params.get("countEligible"):
            return (*self.sections, ELIGIBLE.name)
        return self.sections

    def check(self, view: StateView, params: Mapping[str, Any]) -> Iterable[Verdict]:
        key = (ROLE_PREFIX + GLOBAL_ADMINISTRATOR).casefold()
        setting = view.index(self.kind).get(key)
        groups = ("active[", "eligible[") if params["countEligible"] else ("active[",)
        members = {
            m["principalId"]
            for k, m in (setting.state.items() if setting else ())
            if k.startswith(groups) and m["directoryScopeId"] == "/"
        }
        yield _verdict(
            ROLE_PREFIX + GLOBAL_ADMINISTRATOR, "Global Administrators", len(members), params
        )


@register
class SubscriptionOwnerCount(Guard):
    name = "subscription-owner-count"
    kind = RoleAssignments.name
    title = "Between 2 and 3 subscription Owners"
    responsibility = "identity-and-access"
    layer = "identity"
    source = "Azure Policy built-ins: more than one owner / a maximum of 3 owners per subscription"
    default_severity = "high"
    sections = (ASSIGNMENTS.name,)
    params_schema = _bounds_schema(1)
    defaults = {"min": 2, "max": 3}

    def check(self, view: StateView, params: Mapping[str, Any]) -> Iterable[Verdict]:
        owners: dict[str, set[str]] = {}
        spelled: dict[str, str] = {}
        root: set[str] = set()
        uncounted: dict[str, str] = {}  # subscription (or "/") -> why an assignment is unread
        for key, setting in view.index(self.kind).items():
            parts = key.split("/")
            sub = "/".join(parts[:3]) if key.startswith("/subscriptions/") else "/"
            if sub != "/":
                owners.setdefault(sub, set())
                spelled.setdefault(sub, setting.scope[: len(sub)])
            # Owners count at the root and at a subscription itself; below one (most of the
            # scopes) only an unreadable assignment matters
            counted = key == "/" or (len(parts) == 3 and key.startswith("/subscriptions/"))
            found: set[str] = set()
            for item in setting.state.values():
                if is_unreadable(item):
                    uncounted.setdefault(sub, why_unreadable(item))
                elif counted and item["roleDefinitionId"] == OWNER_ROLE_ID:
                    found.add(item["principalId"])
            if key == "/":
                root |= found
            elif counted:
                owners[key] |= found
        for sub in sorted(owners):
            why = uncounted.get(sub) or uncounted.get("/")
            if why:  # fail closed: an assignment we cannot read may be an Owner
                message = (
                    f"subscription Owners cannot be counted: an assignment is unreadable ({why})"
                )
                yield Verdict(spelled[sub], False, message)
                continue
            yield _verdict(spelled[sub], "subscription Owners", len(owners[sub] | root), params)
