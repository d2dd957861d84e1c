"""The seals table: one seal row per sealed day, its row list, and the chain's anchor.

- PartitionKey ``seal``, RowKey the day ``YYYYMMDD``: ``Day``, ``Rows``, ``Digest``,
  ``RowsDigest``, ``Previous``, ``Chain``, ``Parts``, ``SealedAt``;
- PartitionKey ``rows``, RowKey ``<day>|<16 hex of RowsDigest>|<nnn>``: the row list (JSON
  ``[[RowKey, 16 hex], ...]``) in pieces ``List0`` .. ``List13``;
- PartitionKey ``anchor``, RowKey ``anchor``: ``Day``, ``Chain`` of the newest pruned day's
  seal (where the chain starts now).

A seal row is created only if absent, so of two instances sealing one day exactly one seal
is written; the other reads it and chains on from it. Row-list rows are keyed by the list's
own digest, so two racing sealers never overwrite each other's list.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ._canon import chain_digest, list_digest

if TYPE_CHECKING:
    from azure.data.tables import TableClient

__all__ = ["SEAL_TABLE_SUFFIX", "Anchor", "Seal", "Seals", "seals_table_name"]

SEAL_TABLE_SUFFIX = "seals"
_SEAL, _ROWS, _ANCHOR = "seal", "rows", "anchor"
_PIECE = 32_000  # characters per property (ASCII: 64 KB as UTF-16)
_PIECES_PER_ROW = 14  # 14 x 64 KB stays under the 1 MiB entity limit
_MAIN_COLUMNS = ["RowKey", "Day", "Rows", "Digest", "RowsDigest", "Previous", "Chain", "Parts"]


def seals_table_name(events_table: str) -> str:
    """The seals table of an event table: its name + ``seals`` (``drifteventsseals``)."""
    return events_table[: 63 - len(SEAL_TABLE_SUFFIX)] + SEAL_TABLE_SUFFIX


@dataclass(frozen=True)
class Seal:
    """One sealed day."""

    day: str
    rows: int
    digest: str
    """SHA-256 over the day's (RowKey, row hash) pairs in RowKey order."""
    rows_digest: str
    """SHA-256 of the stored row list."""
    previous: str
    """The previous seal's :attr:`chain` (or the anchor's; empty for the first seal)."""
    chain: str
    parts: int = 0
    sealed_at: str = ""

    @classmethod
    def make(
        cls, day: str, rows: int, digest: str, rows_digest: str, previous: str, sealed_at: str
    ) -> Seal:
        chain = chain_digest(day, rows, digest, rows_digest, previous)
        return cls(day, rows, digest, rows_digest, previous, chain, 0, sealed_at)

    @property
    def intact(self) -> bool:
        """Its chained digest still follows from its fields."""
        expected = chain_digest(self.day, self.rows, self.digest, self.rows_digest, self.previous)
        return expected == self.chain


@dataclass(frozen=True)
class Anchor:
    """Where the chain starts after pruning: the newest pruned day and its seal's chain."""

    day: str
    chain: str


def _count(value: Any) -> int:
    """A 32-bit count as stored (-1 for anything else: the seal then fails its chain)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


def _seal_from(entity: Any) -> Seal:
    return Seal(
        day=str(entity.get("Day", entity["RowKey"])),
        rows=_count(entity.get("Rows", 0)),
        digest=str(entity.get("Digest", "")),
        rows_digest=str(entity.get("RowsDigest", "")),
        previous=str(entity.get("Previous", "")),
        chain=str(entity.get("Chain", "")),
        parts=max(_count(entity.get("Parts", 0)), 0),
        sealed_at=str(entity.get("SealedAt", "")),
    )


class Seals:
    """The seals table, over an injected ``azure.data.tables.TableClient``."""

    def __init__(self, table_client: TableClient) -> None:
        self._table = table_client

    def all(self) -> list[Seal]:
        """Every seal, oldest day first (the row lists are not read)."""
        found = self._table.query_entities(
            "PartitionKey eq @p", parameters={"p": _SEAL}, select=_MAIN_COLUMNS
        )
        return sorted((_seal_from(e) for e in found), key=lambda s: s.day)

    def get(self, day: str) -> Seal | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return _seal_from(self._table.get_entity(_SEAL, day))
        except ResourceNotFoundError:
            return None

    def row_list(self, seal: Seal) -> list[tuple[str, str]]:
        """The seal's ``(RowKey, 16 hex)`` pairs as stored (ValueError if unreadable)."""
        from azure.core.exceptions import ResourceNotFoundError

        text = []
        for number in range(seal.parts):
            try:
                entity = self._table.get_entity(_ROWS, _part_key(seal, number))
            except ResourceNotFoundError:
                raise ValueError(f"row list of {seal.day} is missing part {number}") from None
            index = 0
            while f"List{index}" in entity:
                text.append(str(entity[f"List{index}"]))
                index += 1
        try:
            pairs = json.loads("".join(text) or "[]")
            return [(str(k), str(h)) for k, h in pairs]
        except (ValueError, TypeError) as exc:
            raise ValueError(f"row list of {seal.day} is unreadable: {exc}") from None

    def create(self, seal: Seal, pairs: Sequence[tuple[str, str]]) -> tuple[Seal, bool]:
        """Write ``seal`` unless its day is sealed already: (the stored seal, written?).

        The row list is written first (keyed by its digest), then the seal row, created only
        if absent: a reader never sees a seal whose list is missing.
        """
        from azure.core.exceptions import ResourceExistsError
        from azure.data.tables import UpdateMode

        text = json.dumps([list(p) for p in pairs], ensure_ascii=True, separators=(",", ":"))
        if list_digest(pairs) != seal.rows_digest:
            raise ValueError("the row list does not match the seal's RowsDigest")
        pieces = [text[i : i + _PIECE] for i in range(0, len(text), _PIECE)] or [""]
        rows = [pieces[i : i + _PIECES_PER_ROW] for i in range(0, len(pieces), _PIECES_PER_ROW)]
        seal = replace(seal, parts=len(rows))
        for number, chunk in enumerate(rows):
            entity: dict[str, Any] = {"PartitionKey": _ROWS, "RowKey": _part_key(seal, number)}
            entity.update({f"List{i}": piece for i, piece in enumerate(chunk)})
            self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)
        try:
            self._table.create_entity(
                {
                    "PartitionKey": _SEAL,
                    "RowKey": seal.day,
                    "Day": seal.day,
                    "Rows": seal.rows,
                    "Digest": seal.digest,
                    "RowsDigest": seal.rows_digest,
                    "Previous": seal.previous,
                    "Chain": seal.chain,
                    "Parts": seal.parts,
                    "SealedAt": seal.sealed_at,
                }
            )
        except ResourceExistsError:
            stored = self.get(seal.day)
            if stored is None:  # pragma: no cover - deleted between the two calls
                raise
            return stored, False
        return seal, True

    def delete(self, seal: Seal) -> None:
        """Remove a seal and its row list (retention)."""
        from azure.core.exceptions import ResourceNotFoundError

        for number in range(seal.parts):
            with contextlib.suppress(ResourceNotFoundError):
                self._table.delete_entity(_ROWS, _part_key(seal, number))
        self._table.delete_entity(_SEAL, seal.day)

    def anchor(self) -> Anchor | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            entity = self._table.get_entity(_ANCHOR, _ANCHOR)
        except ResourceNotFoundError:
            return None
        return Anchor(str(entity.get("Day", "")), str(entity.get("Chain", "")))

    def set_anchor(self, anchor: Anchor) -> None:
        from azure.data.tables import UpdateMode

        self._table.upsert_entity(
            {"PartitionKey": _ANCHOR, "RowKey": _ANCHOR, "Day": anchor.day, "Chain": anchor.chain},
            mode=UpdateMode.REPLACE,
        )


def _part_key(seal: Seal, number: int) -> str:
    return f"{seal.day}|{seal.rows_digest[:16]}|{number:03d}"
