"""Cursors: named watermarks, such as how far the Entra audit poll has read.

One row per name: PartitionKey ``cursor``, RowKey :func:`~driftkeeper.store.encode_key` of the
name, the value in ``Value`` and the time it was set in ``UpdatedAt``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ._keys import encode_key

if TYPE_CHECKING:
    from azure.data.tables import TableClient

__all__ = ["CURSOR_TABLE", "Cursors"]

CURSOR_TABLE = "cursors"
_PARTITION = "cursor"


def _row(name: str) -> str:
    if not name:
        raise ValueError("a cursor needs a name")
    return encode_key(name)


class Cursors:
    """The cursors table, over an injected ``azure.data.tables.TableClient``."""

    def __init__(self, table_client: TableClient) -> None:
        self._table = table_client

    def get(self, name: str) -> str | None:
        """The value last set for ``name``, or None if it was never set."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            entity = self._table.get_entity(_PARTITION, _row(name))
        except ResourceNotFoundError:
            return None
        return str(entity["Value"])

    def set(self, name: str, value: str) -> None:
        """Store ``value`` for ``name`` (replacing the previous one)."""
        from azure.data.tables import UpdateMode

        entity = {
            "PartitionKey": _PARTITION,
            "RowKey": _row(name),
            "Name": name,
            "Value": value,
            "UpdatedAt": datetime.now(UTC),
        }
        self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)
