"""Rollback benchmark (issue 8): requests per rollback, and time from approval to verified
compliance, against the local ARM / Graph stand-in (TLS for ARM, as in the tests).

For each baseline the example drifted tenant breaks (an NSG, the subscription's role
assignments, a Conditional Access policy), ``--rounds`` times: the stand-in is reset to the
drifted tenant, the plan is made from a live read (as when the incident was recorded), then
the timer starts and :meth:`Rollbacks.run` executes it as an approval does: one read before,
the plan's writes, one read after. The requests the stand-in received are counted by method.
The goal: exactly 1 read before, the plan's writes, 1 read after; a long-running
operation's status polls (ARM NSG rule writes) are counted apart.

Usage: ``python bench/rollback.py [--rounds 20]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from driftkeeper import Snapshot  # noqa: E402
from driftkeeper._state import StateView  # noqa: E402
from driftkeeper.baseline import load_baselines  # noqa: E402
from driftkeeper.engine import evaluate  # noqa: E402
from driftkeeper.kinds import get_kind  # noqa: E402
from driftkeeper.live import ResourceReader, Writer  # noqa: E402
from driftkeeper.rollback import Endpoints, Plan  # noqa: E402
from driftkeeper.rollback._service import Rollbacks  # noqa: E402
from tests.fakes.azure_rest import AzureRestServer, make_tls_files  # noqa: E402
from tests.fakes.credentials import StaticTokenCredential  # noqa: E402

SUB = "6f1c2a3b-4d5e-4f60-8a91-b2c3d4e5f607"


def _what(method: str, path: str) -> str:
    if method != "GET":
        return "write"
    return "poll" if "/operations/" in path.lower() else "GET"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    drifted = Snapshot.from_file(ROOT / "examples/tenant-drifted.json")
    baselines = load_baselines(ROOT / "baselines")
    targets = []
    for b in baselines.baselines:
        kind = get_kind(b.kind)
        if evaluate(kind, b, StateView(drifted).index(kind.name), drifted).status == "drift":
            targets.append(b)
    credential = StaticTokenCredential("bench-token")
    with tempfile.TemporaryDirectory() as tmp:
        tls = make_tls_files(Path(tmp))
        with AzureRestServer(tls) as server:
            clients = server.live_clients(credential)
            reader = ResourceReader(credential, clients=clients, subscriptions=[SUB])
            rollbacks = Rollbacks(
                baselines,
                reader,
                Writer(clients, sleep=lambda _: None),
                None,
                endpoints=Endpoints(server.arm_endpoint, server.graph_endpoint),
                clock=lambda: datetime.now(UTC),
            )
            print(f"{'baseline':<58} {'steps':>5} {'GET':>4} {'writes':>6} {'polls':>5} "
                  f"{'median ms':>9} {'p95 ms':>7} outcome")  # fmt: skip
            for baseline in targets:
                times, counts, outcomes, steps = [], Counter[str](), Counter[str](), 0
                for _ in range(args.rounds):
                    server.data = dict(drifted.sections)
                    target = rollbacks.target(baseline)
                    live = target.read()
                    plan = rollbacks.plan(target.judge(live), baseline, live)
                    assert isinstance(plan, Plan)
                    steps = len(plan.steps)
                    server.requests.clear()
                    start = time.perf_counter()
                    result = rollbacks.run(baseline, plan.plan_hash, key="bench")
                    times.append((time.perf_counter() - start) * 1000)
                    assert result is not None
                    outcomes[result.outcome] += 1
                    counts.update(_what(r.method, r.path) for r in server.requests)
                p95 = sorted(times)[max(0, int(len(times) * 0.95) - 1)]
                name = f"{baseline.kind}:{baseline.name}"[:58]
                print(
                    f"{name:<58} {steps:>5} {counts['GET'] / args.rounds:>4.0f} "
                    f"{counts['write'] / args.rounds:>6.0f} {counts['poll'] / args.rounds:>5.0f} "
                    f"{statistics.median(times):>9.1f} "
                    f"{p95:>7.1f} {dict(outcomes)}"
                )
            clients.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
