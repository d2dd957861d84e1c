"""The shared-responsibility view: what each kind and guard declares it guards.

Kinds and guards declare ``responsibility`` (the customer responsibility of Microsoft's
shared-responsibility model) and ``layer`` (defense in depth) as class attributes; the base
classes default both to ``unassigned`` so a new kind works before it says.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LAYERS", "RESPONSIBILITIES", "Control", "declared_controls", "guard_rule"]

RESPONSIBILITIES: tuple[str, ...] = (
    "identity-and-access",
    "account-and-access-management",
    "network-controls",
    "data",
    "unassigned",
)
LAYERS: tuple[str, ...] = (
    "identity",
    "perimeter",
    "network",
    "compute",
    "application",
    "data",
    "unassigned",
)


@dataclass(frozen=True)
class Control:
    """A kind or a guard, with its shared-responsibility tags."""

    type: str
    """``kind`` or ``guard``."""
    name: str
    title: str
    kind: str
    responsibility: str
    layer: str


def guard_rule(name: str) -> str:
    """The rule name a guard's findings carry (``guard:<name>``)."""
    return f"guard:{name}"


def declared_controls() -> list[Control]:
    """Every registered kind and guard, kinds first."""
    from ..guards import all_guards
    from ..kinds import all_kinds

    out = [
        Control("kind", k.name, k.title, k.name, k.responsibility, k.layer)
        for k in all_kinds().values()
    ]
    out += [
        Control("guard", g.name, g.title, g.kind, g.responsibility, g.layer)
        for g in all_guards().values()
    ]
    return out
