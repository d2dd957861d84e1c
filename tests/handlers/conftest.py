from __future__ import annotations

from typing import Any

import pytest

import function_app


@pytest.fixture(scope="session")
def functions() -> dict[str, Any]:
    """The registered functions by name (get_functions() may run once per app object)."""
    return {f.get_function_name(): f for f in function_app.app.get_functions()}
