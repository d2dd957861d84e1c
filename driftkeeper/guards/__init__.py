"""The built-in guards, registered by the name ``kind: guard`` files use.

A guard is one module in this package defining a :class:`Guard` subclass decorated with
:func:`register`; modules are discovered on first use.
"""

from __future__ import annotations

from typing import TypeVar

from .._registry import Registry
from ._base import Guard, Verdict

__all__ = ["Guard", "Verdict", "all_guards", "register"]

_GUARDS: Registry[Guard] = Registry(__name__, __path__, "guard")
G = TypeVar("G", bound=type[Guard])


def register(cls: G) -> G:
    """Class decorator: make a guard findable by its ``name``."""
    _GUARDS.register(cls)
    return cls


def all_guards() -> dict[str, Guard]:
    return _GUARDS.all()
