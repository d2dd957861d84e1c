"""Cursors on Azurite."""

from __future__ import annotations

import pytest
from azure.data.tables import TableClient

from driftkeeper.store import Cursors


@pytest.mark.parametrize("name", ["audit-poll", "audit/RoleManagement?#", "ünï"])
def test_cursor_set_get_overwrite(table: TableClient, name: str) -> None:
    cursors = Cursors(table)
    assert cursors.get(name) is None
    cursors.set(name, "2026-07-01T00:00:00Z")
    cursors.set(name, "2026-07-01T00:05:00Z")
    assert cursors.get(name) == "2026-07-01T00:05:00Z"
    assert cursors.get(name + "x") is None


def test_cursor_needs_a_name(table: TableClient) -> None:
    with pytest.raises(ValueError, match="name"):
        Cursors(table).set("", "x")
