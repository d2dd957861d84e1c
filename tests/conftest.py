from __future__ import annotations

import os
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

pytest_plugins = ["tests.fakes.conftest_plugin"]


@cache
def _registered() -> dict[str, Any]:
    import function_app

    return {f.get_function_name(): f for f in function_app.app.get_functions()}


@pytest.fixture(scope="session")
def functions() -> dict[str, Any]:
    """The Function App's registered functions by name (``get_functions()`` may run only
    once per app object, so every test package shares this one)."""
    return _registered()
