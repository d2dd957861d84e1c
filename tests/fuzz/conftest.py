"""Hypothesis settings of the fuzz tests: derandomized (the same corpus on every run, so CI
is reproducible), no example database, no deadline (a 1 MB field takes its time)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings

FUZZ_SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure reports its example
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)


@pytest.fixture(scope="session")
def functions() -> dict[str, Any]:
    """The Function App's registered functions by name (as tests/handlers/conftest.py)."""
    import function_app

    return {f.get_function_name(): f for f in function_app.app.get_functions()}
