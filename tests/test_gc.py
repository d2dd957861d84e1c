"""The collector pause: no collection inside it, the collector put back as it was after it,
and never around work that makes cycles as it goes (the live read of ``scan``)."""

from __future__ import annotations

import gc
import io
import json
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from driftkeeper._gc import paused_gc


@pytest.fixture
def collections() -> Iterator[list[int]]:
    """The generation of every collection run while the test runs."""
    seen: list[int] = []

    def record(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            seen.append(info["generation"])

    gc.collect()
    gc.callbacks.append(record)
    try:
        yield seen
    finally:
        gc.callbacks.remove(record)


def test_no_full_collection_runs_inside_the_pause(collections: list[int]) -> None:
    # given a block that builds millions of long-lived containers (a snapshot's JSON)
    with paused_gc():
        kept = [[i] for i in range(2_000_000)]
    assert len(kept) == 2_000_000
    assert 2 not in collections


def test_scan_reads_the_live_tenant_with_the_collector_on(tmp_path: Path) -> None:
    # given `scan --live`, whose read makes cycles as it goes (one per Graph page), then the
    # collector runs while it reads: only the JSON parse and the judging build no cycles
    from driftkeeper import Snapshot
    from driftkeeper.cli import main
    from tests.builders import healthy

    state = tmp_path / "good.json"
    state.write_text(json.dumps(healthy()), encoding="utf-8")
    baselines = str(tmp_path / "baselines")
    assert main(["baseline", "capture", "--state", str(state), "--out", baselines]) == 0
    collecting: list[bool] = []

    def live(subscriptions: Sequence[str]) -> Snapshot:
        collecting.append(gc.isenabled())
        return Snapshot.from_dict(healthy())

    out = io.StringIO()
    assert main(["scan", "--baselines", baselines, "--subscription", "s1"], live=live, out=out) == 0
    assert collecting == [True]


def test_the_collector_is_put_back_after_nested_and_concurrent_pauses() -> None:
    before = (gc.isenabled(), gc.get_threshold())
    inside = threading.Barrier(2)
    first_out = threading.Event()

    def first() -> None:
        with paused_gc():
            inside.wait()
        first_out.set()

    def second() -> None:
        with paused_gc(), paused_gc():
            inside.wait()
            first_out.wait(30)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert (gc.isenabled(), gc.get_threshold()) == before


def test_a_collector_switched_off_stays_off() -> None:
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
