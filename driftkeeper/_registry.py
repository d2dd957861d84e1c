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
        """Every plugin by name. A module that fails to import raises :class:`PluginError`
        naming it, on this call and every later one: a registry is never partly loaded."""
        if not self._loaded:
            for module in pkgutil.iter_modules(self._path):
                if module.name.startswith("_"):
                    continue
                name = f"{self._package}.{module.name}"
                try:
                    importlib.import_module(name)
                except PluginError:
                    raise
                except Exception as exc:  # any failure of a plugin's module is the plugin's
                    raise PluginError(
                        f"{self._what} module {name} cannot be loaded: {exc!r}"
                    ) from exc
            self._loaded = True
        return dict(sorted(self._plugins.items()))

    def get(self, name: str) -> T:
        return self.all()[name]
