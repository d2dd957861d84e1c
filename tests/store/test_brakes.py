"""The brakes' shared state on Azurite: the budget's breaker, flapping, run-once claims,
with real threads and two store instances sharing one table."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from azure.data.tables import TableClient

from driftkeeper.store._brakes import RUN_LEASE, Brakes

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def race(workers: int, work: Callable[[int], bool]) -> list[bool]:
    """Run ``work`` on ``workers`` threads released together."""
    barrier = threading.Barrier(workers)
    results: list[bool] = [False] * workers

    def run(i: int) -> None:
        barrier.wait()
        results[i] = work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_eight_instances_racing_for_a_budget_of_three_get_three(table: TableClient) -> None:
    # given eight store instances (eight Function App instances) sharing the table
    stores = [Brakes(table, clock=lambda: NOW) for _ in range(8)]
    # when each spends one automatic rollback at the same moment
    allowed = race(8, lambda i: stores[i].spend(f"rollback-{i}", budget=3)[0])
    # then exactly the budget ran, and the breaker tripped for everyone
    assert sum(allowed) == 3
    breaker = stores[0].breaker()
    assert breaker.tripped
    assert "more than 3 automatic rollbacks" in breaker.reason
    assert stores[5].spend("a-new-one", budget=3) == (False, breaker)


def test_a_retried_rollback_is_not_counted_twice(table: TableClient) -> None:
    brakes = Brakes(table, clock=lambda: NOW)
    for _ in range(5):
        assert brakes.spend("same", budget=1)[0]
    assert not brakes.breaker().tripped


def test_a_person_resumes_the_breaker(table: TableClient) -> None:
    brakes = Brakes(table, clock=lambda: NOW)
    brakes.spend("a", budget=1)
    brakes.spend("b", budget=1)
    assert brakes.breaker().tripped
    after = brakes.resume(by="oncall@contoso.example")
    assert (after.tripped, after.spent, after.reset_by) == (False, (), "oncall@contoso.example")
    assert brakes.spend("c", budget=1)[0]


def test_the_budget_window_slides(table: TableClient) -> None:
    clock = [NOW]
    brakes = Brakes(table, clock=lambda: clock[0])
    assert brakes.spend("a", budget=1)[0]
    clock[0] = NOW + timedelta(hours=1, seconds=1)
    assert brakes.spend("b", budget=1)[0]
    assert not brakes.breaker().tripped


def test_stopping_auto_mode_pages_once_across_instances(table: TableClient) -> None:
    stores = [Brakes(table, clock=lambda: NOW) for _ in range(8)]
    stopped = race(8, lambda i: stores[i].stop_auto("/subscriptions/s/nsg/x"))
    assert sum(stopped) == 1
    assert stores[0].flapping("/subscriptions/s/nsg/x").manual
    stores[0].resume_setting("/subscriptions/s/nsg/x")
    assert not stores[0].flapping("/subscriptions/s/nsg/x").manual


def test_rollbacks_of_a_setting_are_counted(table: TableClient) -> None:
    brakes = Brakes(table, clock=lambda: NOW)
    for _ in range(5):
        after = brakes.note_rollback("nsg")
    assert len(after.rollbacks) == 4  # enough to judge flapping, never growing unbounded


def test_a_rollback_is_claimed_by_exactly_one_of_eight(table: TableClient) -> None:
    stores = [Brakes(table, clock=lambda: NOW) for _ in range(8)]
    claimed = race(8, lambda i: stores[i].claim_run("incident#1#plan", owner=f"i{i}"))
    assert sum(claimed) == 1


def test_a_dead_runners_claim_is_taken_over_after_the_lease_but_a_finished_run_never(
    table: TableClient,
) -> None:
    clock = [NOW]
    brakes = Brakes(table, clock=lambda: clock[0])
    assert brakes.claim_run("k", owner="a")
    assert not brakes.claim_run("k", owner="b")
    clock[0] = NOW + RUN_LEASE + timedelta(seconds=1)
    assert brakes.claim_run("k", owner="b")
    brakes.finish_run("k", "rolled-back", {"outcome": "rolled-back"})
    clock[0] += RUN_LEASE * 3
    assert not brakes.claim_run("k", owner="c")
    run = brakes.run("k")
    assert run is not None
    assert (run["Owner"], run["Outcome"]) == ("b", "rolled-back")
