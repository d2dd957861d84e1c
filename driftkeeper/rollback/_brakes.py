"""The brakes on automatic rollback, as pure decisions (the store keeps their state, shared
by every instance, in :mod:`driftkeeper.store._brakes`).

- **Kill switch.** ``DRIFTKEEPER_ROLLBACK``: ``off`` (nothing is written, no approval link
  is offered), ``approve-only`` (the default: only approved rollbacks run) or ``on``
  (baselines with ``response: auto`` roll back by themselves too).
- **Flapping.** A setting rolled back automatically :data:`FLAP_LIMIT` times within
  :data:`FLAP_WINDOW` that drifts again is fighting someone: automatic rollback stops for it,
  its drift asks for approval instead, and a person is paged. It stays so until a person
  resumes it (``driftkeeper rollback resume --setting``).
- **Budget.** More than ``DRIFTKEEPER_AUTO_ROLLBACK_BUDGET`` automatic rollbacks within
  :data:`BUDGET_WINDOW`, tenant-wide, trips a breaker that stops every automatic rollback
  until a person resets it (``driftkeeper rollback resume``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

__all__ = [
    "BUDGET_WINDOW",
    "FLAP_LIMIT",
    "FLAP_WINDOW",
    "ROLLBACK_MODES",
    "Breaker",
    "Flapping",
    "RollbackMode",
    "flaps",
    "note_rollback",
    "spend",
]

RollbackMode = Literal["off", "approve-only", "on"]
ROLLBACK_MODES: tuple[RollbackMode, ...] = ("off", "approve-only", "on")
FLAP_LIMIT = 3
FLAP_WINDOW = timedelta(hours=1)
BUDGET_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class Breaker:
    """The tenant-wide budget of automatic rollbacks and its breaker."""

    spent: tuple[tuple[str, str], ...] = ()
    """(rollback key, ISO time) of the automatic rollbacks within the window."""
    tripped: bool = False
    tripped_at: str = ""
    reason: str = ""
    reset_by: str = ""
    reset_at: str = ""


@dataclass(frozen=True)
class Flapping:
    """One setting's recent automatic rollbacks, and whether auto mode is off for it."""

    rollbacks: tuple[str, ...] = ()
    """ISO times of its automatic rollbacks within the window."""
    manual: bool = False
    """Automatic rollback is off for this setting (it flapped) until a person resumes it."""
    since: str = ""


def _recent(times: Sequence[str], now: datetime, window: timedelta) -> list[str]:
    out = []
    for text in times:
        try:
            at = datetime.fromisoformat(text)
        except ValueError:
            continue
        if at.tzinfo is not None and now - at <= window:
            out.append(text)
    return out


def spend(breaker: Breaker, key: str, *, now: datetime, budget: int) -> tuple[Breaker, bool]:
    """Take one automatic rollback from the budget: the breaker after, and whether the
    rollback may run. The same ``key`` again (a retry) is allowed without being counted
    twice. Over budget trips the breaker; a tripped breaker allows nothing."""
    if breaker.tripped:
        return breaker, False
    kept = [(k, t) for k, t in breaker.spent if t in _recent([t], now, BUDGET_WINDOW)]
    if any(k == key for k, _ in kept):
        return replace(breaker, spent=tuple(kept)), True
    if len(kept) >= budget:
        reason = (
            f"more than {budget} automatic rollbacks within {_hours(BUDGET_WINDOW)}: "
            "automatic rollback is stopped until a person resumes it "
            "(driftkeeper rollback resume)"
        )
        return replace(
            breaker, spent=tuple(kept), tripped=True, tripped_at=now.isoformat(), reason=reason
        ), False
    return replace(breaker, spent=(*kept, (key, now.isoformat()))), True


def note_rollback(flapping: Flapping, *, now: datetime) -> Flapping:
    """The setting's state after one more automatic rollback."""
    kept = _recent(flapping.rollbacks, now, FLAP_WINDOW)
    return replace(flapping, rollbacks=(*kept, now.isoformat())[-(FLAP_LIMIT + 1) :])


def flaps(flapping: Flapping, *, now: datetime) -> bool:
    """Whether a new drift of the setting means it is flapping: it was rolled back
    automatically :data:`FLAP_LIMIT` times within the window already."""
    return len(_recent(flapping.rollbacks, now, FLAP_WINDOW)) >= FLAP_LIMIT


def _hours(window: timedelta) -> str:
    hours = window.total_seconds() / 3600
    return "1 hour" if hours == 1 else f"{hours:g} hours"
