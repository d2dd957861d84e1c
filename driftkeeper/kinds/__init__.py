"""The registry of watched kinds, found by the name baselines use (``kind: nsg``).

A kind is one module in this package that defines a :class:`Kind` subclass decorated with
:func:`register`. Modules are discovered on first use, so adding a kind touches no other code:
its sections (:func:`all_sections`) join the snapshot document, the live readers and the test
stand-in through the declarations in ``Kind.reads``.
"""

from __future__ import annotations

from typing import TypeVar

from .._errors import PluginError
from .._registry import Registry
from ._base import ARM_CHANGES, FieldError, Index, Kind, Setting, Signals, Touch
from ._reads import ArmSection, GraphSection, PathTemplate, Request, Section, az_wrap

__all__ = [
    "ARM_CHANGES",
    "ArmSection",
    "FieldError",
    "GraphSection",
    "Index",
    "Kind",
    "PathTemplate",
    "Request",
    "Section",
    "Setting",
    "Signals",
    "Touch",
    "all_kinds",
    "all_sections",
    "audit_categories",
    "az_wrap",
    "get_kind",
    "register",
    "section_owner",
]

_KINDS: Registry[Kind] = Registry(__name__, __path__, "kind")
K = TypeVar("K", bound=type[Kind])


def register(cls: K) -> K:
    """Class decorator: make a kind findable by its ``name``."""
    _KINDS.register(cls)
    return cls


def all_kinds() -> dict[str, Kind]:
    return _KINDS.all()


def get_kind(name: str) -> Kind:
    return _KINDS.get(name)


def audit_categories() -> tuple[str, ...]:
    """The Entra audit categories any kind takes signals from (what the audit poll reads)."""
    found = {c: None for k in all_kinds().values() for c in k.signals.audit_categories}
    return tuple(found)


def all_sections() -> dict[str, Section]:
    """Every snapshot section any kind reads, by name (``arm.networkSecurityGroups``), in the
    order of the kinds and their declarations."""
    sections: dict[str, Section] = {}
    for owner, kind in _section_owners().items():
        for section in all_kinds()[kind].reads:
            if section.name == owner:
                sections[owner] = section
    return sections


def section_owner(name: str) -> str:
    """The name of the kind that declares section ``name`` (KeyError when none does)."""
    return _section_owners()[name]


def _section_owners() -> dict[str, str]:
    owners: dict[str, str] = {}
    for kind in all_kinds().values():
        for section in kind.reads:
            if section.name in owners:
                raise PluginError(
                    f"section {section.name!r} is declared by {owners[section.name]!r} "
                    f"and {kind.name!r}"
                )
            owners[section.name] = kind.name
    return owners
