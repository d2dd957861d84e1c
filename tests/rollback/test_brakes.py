"""The brakes as pure decisions: budget, breaker and flapping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftkeeper.rollback._brakes import (
    BUDGET_WINDOW,
    FLAP_LIMIT,
    FLAP_WINDOW,
    Breaker,
    Flapping,
    flaps,
    note_rollback,
    spend,
)

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


@given(
    budget=st.integers(1, 20),
    keys=st.lists(st.sampled_from("abcdefghijklmnopqrstuvwxyz"), max_size=60),
)
def test_never_more_distinct_rollbacks_than_the_budget(budget: int, keys: list[str]) -> None:
    breaker, allowed = Breaker(), set()
    for key in keys:
        breaker, ok = spend(breaker, key, now=NOW, budget=budget)
        if ok:
            allowed.add(key)
    assert len(allowed) <= budget
    assert breaker.tripped == (len(set(keys)) > budget)


def test_a_tripped_breaker_allows_nothing_not_even_a_retry() -> None:
    breaker, _ = spend(Breaker(), "a", now=NOW, budget=1)
    breaker, ok = spend(breaker, "b", now=NOW, budget=1)
    assert (ok, breaker.tripped) == (False, True)
    assert spend(breaker, "a", now=NOW, budget=1)[1] is False


def test_spends_outside_the_window_are_forgotten() -> None:
    breaker, _ = spend(Breaker(), "a", now=NOW - BUDGET_WINDOW - timedelta(seconds=1), budget=1)
    after, ok = spend(breaker, "b", now=NOW, budget=1)
    assert ok
    assert [k for k, _ in after.spent] == ["b"]


@pytest.mark.parametrize(
    ("minutes_ago", "flapping"),
    [
        ([], False),
        ([50, 30], False),
        ([50, 30, 10], True),
        ([70, 30, 10], False),  # the first is outside the hour
        ([59, 58, 57, 1], True),
    ],
)
def test_flapping_is_three_rollbacks_within_an_hour(minutes_ago: list[int], flapping: bool) -> None:
    state = Flapping()
    for m in minutes_ago:
        state = note_rollback(state, now=NOW - timedelta(minutes=m))
    assert flaps(state, now=NOW) is flapping
    assert FLAP_LIMIT == 3
    assert timedelta(hours=1) == FLAP_WINDOW
