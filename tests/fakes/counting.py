"""A TableClient proxy that counts the entity operations going through it (tests, bench)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from azure.data.tables import TableClient

__all__ = ["PART_MARK", "CountingTable"]

PART_MARK = "~"  # continuation rows of the event table
_WRITES = ("create", "update", "upsert", "delete")


class CountingTable:
    """A ``TableClient`` that counts what goes through it; anything else is passed on."""

    def __init__(self, client: TableClient) -> None:
        self.client = client
        self.ops: Counter[str] = Counter()
        self.requests = 0
        self.rows: set[tuple[str, str]] = set()  # main rows written

    def reset(self) -> None:
        self.ops.clear()
        self.requests = 0
        self.rows.clear()

    def _wrote(self, entity: Any) -> None:
        key = (str(entity["PartitionKey"]), str(entity["RowKey"]))
        if PART_MARK not in key[1]:
            self.rows.add(key)

    def get_entity(self, *args: Any, **kwargs: Any) -> Any:
        self.ops["get"] += 1
        self.requests += 1
        return self.client.get_entity(*args, **kwargs)

    def query_entities(self, *args: Any, **kwargs: Any) -> Any:
        self.ops["query"] += 1
        self.requests += 1
        return self.client.query_entities(*args, **kwargs)

    def list_entities(self, *args: Any, **kwargs: Any) -> Any:
        self.ops["query"] += 1
        self.requests += 1
        return self.client.list_entities(*args, **kwargs)

    def create_entity(self, entity: Any, **kwargs: Any) -> Any:
        self.ops["create"] += 1
        self.requests += 1
        self._wrote(entity)
        return self.client.create_entity(entity, **kwargs)

    def update_entity(self, entity: Any, *args: Any, **kwargs: Any) -> Any:
        self.ops["update"] += 1
        self.requests += 1
        self._wrote(entity)
        return self.client.update_entity(entity, *args, **kwargs)

    def upsert_entity(self, entity: Any, *args: Any, **kwargs: Any) -> Any:
        self.ops["upsert"] += 1
        self.requests += 1
        self._wrote(entity)
        return self.client.upsert_entity(entity, *args, **kwargs)

    def delete_entity(self, *args: Any, **kwargs: Any) -> Any:
        self.ops["delete"] += 1
        self.requests += 1
        return self.client.delete_entity(*args, **kwargs)

    def submit_transaction(self, operations: Any, **kwargs: Any) -> Any:
        operations = list(operations)
        self.ops["txn"] += 1
        self.requests += 1
        for operation in operations:
            kind = str(getattr(operation[0], "value", operation[0])).casefold()
            self.ops[kind] += 1
            self._wrote(operation[1])
        return self.client.submit_transaction(operations, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    @property
    def reads(self) -> int:
        """Entities read: point reads and queries."""
        return self.ops["get"] + self.ops["query"]

    @property
    def writes(self) -> int:
        """Entity writes, alone or in transactions."""
        return sum(self.ops[op] for op in _WRITES)
