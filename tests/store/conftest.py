"""Store tests run against Azurite (fixtures in ``tests/fakes``), one table per test."""

from __future__ import annotations

import pytest
from azure.data.tables import TableClient

from .records import MakeTable


@pytest.fixture
def table(make_table: MakeTable) -> TableClient:
    """A fresh table on Azurite, deleted after the test."""
    return make_table()
