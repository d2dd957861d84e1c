"""The registry of watched kinds, found by the name baselines use (``kind: nsg``).

A kind is one module in this package that defines a :class:`Kind` subclass decorated with
:func:`register`. Modules are discovered on first use, so adding a kind touches no other code.
"""

from __future__ import annotations

from typing import TypeVar

from .._registry import Registry
from ._base import FieldError, Index, Kind, Setting, Touch

__all__ = [
    "FieldError",
    "Index",
    "Kind",
    "Setting",
    "Touch",
    "all_kinds",
    "get_kind",
    "register",
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
