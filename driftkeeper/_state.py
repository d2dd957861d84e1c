"""A snapshot with its per-kind indexes computed once and shared by baselines and guards."""

from __future__ import annotations

from typing import Any

from .kinds import Index, get_kind
from .snapshot import SectionStatus, Snapshot

__all__ = ["StateView"]


class StateView:
    """Normalizes each kind of a snapshot at most once per scan."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self._indexes: dict[str, Index] = {}
        self.memo: dict[tuple[str, ...], Any] = {}
        """Results computed from this state (a baseline's or a guard's findings), reused by
        every event a coalesced read serves."""

    def index(self, kind: str) -> Index:
        if kind not in self._indexes:
            self._indexes[kind] = get_kind(kind).index(self.snapshot)
        return self._indexes[kind]

    def status(self, sections: tuple[str, ...]) -> tuple[SectionStatus, str]:
        """The worst status among ``sections`` (failed > missing > captured) and which one."""
        worst: tuple[SectionStatus, str] = ("captured", "")
        for section in sections:
            status = self.snapshot.status(section)
            if status == "failed":
                return status, section
            if status == "missing":
                worst = (status, section)
        return worst
