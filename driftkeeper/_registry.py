"""Plugins found by the name YAML uses, discovered from the modules of their package."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from typing import Any, Generic, Protocol, TypeVar

from ._errors import PluginError

__all__ = ["Registry"]


class _Named(Protocol):
    @property
    def name(self) -> str: ...


T = TypeVar("T", bound=_Named)


class Registry(Generic[T]):
    """Instances of plugin classes by name; every public module of ``package`` is imported
    on first lookup, so adding a plugin is adding a module."""

    def __init__(self, package: str, path: Iterable[str], what: str) -> None:
        self._package = package
        self._path = list(path)
        self._what = what
        self._plugins: dict[str, T] = {}
        self._loaded = False

    def register(self, cls: Callable[[], T]) -> Any:
        plugin = cls()
        if plugin.name in self._plugins:
            raise PluginError(f"{self._what} {plugin.name!r} is registered twice")
        self._plugins[plugin.name] = plugin
        return cls

    def all(self) -> dict[str, T]:
        if not self._loaded:
            self._loaded = True
            for module in pkgutil.iter_modules(self._path):
                if not module.name.startswith("_"):
                    importlib.import_module(f"{self._package}.{module.name}")
        return dict(sorted(self._plugins.items()))

    def get(self, name: str) -> T:
        return self.all()[name]
