"""Fixtures shared by the evidence tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from azure.data.tables import TableClient

from driftkeeper.evidence import Seals


@pytest.fixture
def seals(make_table: Callable[..., TableClient]) -> Seals:
    """An empty seals table on Azurite."""
    return Seals(make_table())
