"""An alert sink that only records: for pipeline tests (the real channels are tested in
tests/alerts)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from driftkeeper._model import EventRecord
from driftkeeper.baseline import Baseline
from driftkeeper.pipeline import Transition

__all__ = ["RecordingAlerts"]


class RecordingAlerts:
    """Records what would be alerted, as ``(signal id, rule, transition)``, and answers that
    the one channel (``teams``) delivered it; ``published`` collects the published records."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Transition]] = []
        self.published: list[EventRecord] = []

    @property
    def rules(self) -> list[str]:
        """The rule of every alert sent, in order."""
        return [rule for _, rule, _ in self.sent]

    def alert(
        self, record: EventRecord, baseline: Baseline | None, transition: Transition
    ) -> list[dict[str, Any]]:
        self.sent.append((record.signal_id, record.rule, transition))
        return [{"channel": "teams", "ok": True, "attempts": 1, "error": ""}]

    def publish(self, records: Iterable[EventRecord]) -> None:
        self.published.extend(records)
