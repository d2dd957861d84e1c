"""One error tree: the one drawn in driftkeeper._errors, holding every error class we define."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import pytest

import driftkeeper
from driftkeeper import _errors


def drawn_tree() -> dict[str, str]:
    """Class name -> parent name, as the module docstring draws them."""
    parents: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    for line in (_errors.__doc__ or "").splitlines():
        match = re.match(r"^(\s*)(?:[│ ]*[├└]── )?([A-Z]\w+Error)\b", line)
        if not match or not re.search(r"[├└]── |^\s*DriftkeeperError\s*$", line):
            continue
        depth = line.index(match.group(2))
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            parents[match.group(2)] = stack[-1][1]
        stack.append((depth, match.group(2)))
    return parents


def test_the_drawing_is_the_tree() -> None:
    drawn = drawn_tree()
    assert set(drawn) | {"DriftkeeperError"} == set(_errors.__all__)
    for name, parent in drawn.items():
        assert getattr(_errors, name).__bases__[0] is getattr(_errors, parent), name


def package_error_classes() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for module in pkgutil.walk_packages(driftkeeper.__path__, "driftkeeper."):
        loaded = importlib.import_module(module.name)
        for _, cls in inspect.getmembers(loaded, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__ == module.name:
                found[f"{module.name}.{cls.__name__}"] = cls
    return found


def test_every_error_class_of_the_package_is_in_the_tree() -> None:
    outside = {
        name
        for name, cls in package_error_classes().items()
        if not issubclass(cls, driftkeeper.DriftkeeperError)
    }
    assert outside == set()


@pytest.mark.parametrize("name", ["AlertConfigError", "DeliveryError"])
def test_alert_errors_are_the_trees_and_still_importable_from_alerts(name: str) -> None:
    import driftkeeper.alerts

    assert getattr(driftkeeper.alerts, name) is getattr(_errors, name)
    assert getattr(driftkeeper, name) is getattr(_errors, name)


def test_settings_errors_name_the_variable() -> None:
    plain = _errors.SettingsError("DRIFTKEEPER_GUARDS", "expected default or none")
    alert = _errors.AlertConfigError("DRIFTKEEPER_SMTP_PORT", "x", "expected a port number")
    assert str(plain) == "DRIFTKEEPER_GUARDS: expected default or none"
    assert str(alert) == "DRIFTKEEPER_SMTP_PORT='x': expected a port number"
    assert (alert.variable, alert.value) == ("DRIFTKEEPER_SMTP_PORT", "x")
    assert alert.problem == "expected a port number"
    assert isinstance(alert, _errors.InputError)


def test_field_error_keeps_path_and_problem() -> None:
    error = _errors.FieldError("rules[0].priority", "expected an integer")
    assert (error.path, error.problem, str(error)) == (
        "rules[0].priority",
        "expected an integer",
        "rules[0].priority: expected an integer",
    )
    assert isinstance(error, ValueError)
