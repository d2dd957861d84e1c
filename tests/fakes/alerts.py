"""An alert sink that only records: for pipeline tests (the real channels are tested in
tests/alerts)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from driftkeeper._model import Finding, Outcome
from driftkeeper.alerts import Link, Transition
from driftkeeper.baseline import Baseline
from driftkeeper.signals import Signal

__all__ = ["RecordingAlerts"]


class RecordingAlerts:
    """Records what would be alerted, as ``(signal id, rule, transition)`` (and the finding
    and signal themselves in ``alerted``), and answers that the one channel (``teams``)
    delivered it; ``published`` collects the published findings."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Transition]] = []
        self.alerted: list[tuple[Finding, Signal]] = []
        self.published: list[tuple[Finding, Signal]] = []
        self.extras: list[tuple[tuple[Link, ...], Outcome | None]] = []
        """The links and outcome of each alert in ``sent``."""

    @property
    def rules(self) -> list[str]:
        """The rule of every alert sent, in order."""
        return [rule for _, rule, _ in self.sent]

    def alert(
        self,
        finding: Finding,
        signal: Signal,
        baseline: Baseline | None,
        transition: Transition,
        *,
        links: Sequence[Link] = (),
        outcome: Outcome | None = None,
    ) -> list[dict[str, Any]]:
        self.sent.append((signal.id, finding.rule, transition))
        self.alerted.append((finding, signal))
        self.extras.append((tuple(links), outcome))
        return [{"channel": "teams", "ok": True, "attempts": 1, "error": ""}]

    def publish(self, judged: Sequence[tuple[Finding, Signal]]) -> None:
        self.published.extend(judged)
