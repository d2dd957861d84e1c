"""Shared by the fuzz tests: hypothesis settings, derandomized (the same corpus on every run,
so CI is reproducible), no example database, no deadline (a 1 MB field takes its time); the
Function App's functions; :func:`report` (figures for ``make fuzz``); :func:`bounded`."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, settings

FUZZ_SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure reports its example
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)


def report(path: str, started: float, **figures: Any) -> None:
    """Append one path's figures to ``$DRIFTKEEPER_FUZZ_REPORT`` (JSON lines), if it is set."""
    target = os.environ.get("DRIFTKEEPER_FUZZ_REPORT")
    if not target:
        return
    line = {"path": path, "seconds": round(time.monotonic() - started, 1), **figures}
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    with open(target, "a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


class CaseTimeout(Exception):
    """One generated case ran past its bound."""


@contextlib.contextmanager
def bounded(seconds: float) -> Iterator[None]:
    """Fail the case (not the run) if it takes longer than ``seconds``: a generous bound
    against a hang or a blow-up, never a benchmark. SIGALRM: the main thread, on POSIX."""

    def expire(signum: int, frame: Any) -> None:
        raise CaseTimeout(f"a case took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
