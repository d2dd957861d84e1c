"""The table operations every store's read-decide-write loop is built on: read a row (None
when absent), create it only if absent, replace or delete it only if unchanged. A lost race
answers None (False for a delete), so the caller reads again and decides on what is there;
service failures propagate. Each store also gets an injected ``clock``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azure.data.tables import TableClient

__all__ = ["TableRows"]


class TableRows:
    """Conditional access to the rows of an injected ``TableClient``; ``clock`` gives the
    wall-clock time the store stamps and judges by."""

    def __init__(
        self,
        table_client: TableClient,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._table = table_client
        self._clock = clock

    def _read(self, partition: str, row: str) -> Any:
        """The row, or None when there is none."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return self._table.get_entity(partition, row)
        except ResourceNotFoundError:
            return None

    def _create(self, entity: dict[str, Any]) -> str | None:
        """The new row's ETag; None when the row exists already."""
        from azure.core.exceptions import ResourceExistsError

        try:
            metadata = self._table.create_entity(entity)
        except ResourceExistsError:
            return None
        return str(metadata.get("etag") or "")

    def _replace(self, entity: Mapping[str, Any], etag: str) -> str | None:
        """The row's new ETag; None when it changed (or vanished) since ``etag``."""
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
        from azure.data.tables import UpdateMode

        try:
            metadata = self._table.update_entity(
                dict(entity),
                mode=UpdateMode.REPLACE,
                etag=etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except (ResourceModifiedError, ResourceNotFoundError):
            return None
        return str(metadata.get("etag") or "")

    def _delete(self, partition: str, row: str, etag: str) -> bool:
        """Whether the row was deleted; False when it changed (or vanished) since ``etag``."""
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError

        try:
            self._table.delete_entity(
                partition, row, etag=etag, match_condition=MatchConditions.IfNotModified
            )
        except (ResourceModifiedError, ResourceNotFoundError):
            return False
        return True
