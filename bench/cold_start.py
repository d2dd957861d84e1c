"""Cold-start benchmark (issue 3): import time and RSS of ``function_app`` vs ``azure.functions``.

Each measurement runs in a fresh interpreter (this venv's Python, from the repository root,
as the Functions worker loads ``function_app.py``). Inside it, ``time.perf_counter`` is read
around the import and ``VmRSS`` from ``/proc/self/status`` after it. Targets:

- ``pass``: the bare interpreter (the RSS floor);
- ``azure.functions``: the reference (the worker imports it before ``function_app``);
- ``function_app``: the measured app;
- for information, ``function_app`` plus what the first NSG event imports (the handlers
  import the driftkeeper pipeline, the Azure SDKs and the YAML / JSON Schema stack lazily,
  so the first invocation pays for them).

Runs are interleaved (one of each target per round, ``--runs`` rounds after one warm-up
round that also fills ``__pycache__``); medians are reported. Then ``python -X importtime``
is run ``--importtime-runs`` times on ``function_app`` and the modules with the largest
cumulative import time are listed (median per module).

Usage: ``python bench/cold_start.py [--runs 7] [--importtime-runs 3] [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FIRST_EVENT = (  # what runtime.pipeline(), load_baselines, parse_events and an NSG read import
    "function_app",
    "driftkeeper.runtime",
    "driftkeeper.intake",
    "driftkeeper.pipeline",
    "driftkeeper.baseline",
    "driftkeeper.store",
    "driftkeeper.live",
    "driftkeeper.respond",
    "driftkeeper.alerts",
    "azure.eventgrid",
    "azure.core.messaging",
    "azure.data.tables",
    "azure.identity",
    "azure.mgmt.core",
    "jsonschema",
)
TARGETS: dict[str, tuple[str, ...]] = {
    "bare interpreter (`pass`)": (),
    "`azure.functions`": ("azure.functions",),
    "`function_app`": ("function_app",),
    "`function_app` + first NSG event's imports (info)": FIRST_EVENT,
}
REFERENCE, APP = "`azure.functions`", "`function_app`"

PROBE = """
import importlib, json, sys, time
modules = sys.argv[1:]
began = time.perf_counter()
for name in modules:
    importlib.import_module(name)
seconds = time.perf_counter() - began
status = dict(
    line.split(":", 1) for line in open("/proc/self/status").read().splitlines() if ":" in line
)
kib = lambda key: int(status[key].split()[0])
print(json.dumps({"seconds": seconds, "rss": kib("VmRSS"), "hwm": kib("VmHWM"),
                  "modules": len(sys.modules)}))
"""


@dataclass
class Samples:
    seconds: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)  # KiB
    modules: list[int] = field(default_factory=list)


def probe(modules: tuple[str, ...]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *modules],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    if out.returncode != 0:
        raise SystemExit(f"importing {modules} failed:\n{out.stderr[-2000:]}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def importtime(modules: tuple[str, ...]) -> dict[str, tuple[int, int, int]]:
    """``-X importtime`` of ``import m1; import m2 ...``: module -> (self µs, cumulative µs,
    depth). Modules the interpreter imports at start-up (``site`` ...) are left out."""
    code = "; ".join(f"import {m}" for m in modules) or "pass"
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    rows: dict[str, tuple[int, int, int]] = {}
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, cumulative, name = line[len("import time:") :].split("|")
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        rows[name.strip()] = (int(own), int(cumulative), depth)
    if not modules:
        return rows
    startup = importtime(())
    return {name: row for name, row in rows.items() if name not in startup}


def median_importtime(modules: tuple[str, ...], runs: int) -> dict[str, tuple[float, float, int]]:
    samples = [importtime(modules) for _ in range(runs)]
    names = set.intersection(*(set(s) for s in samples))
    return {
        name: (
            statistics.median(s[name][0] for s in samples),
            statistics.median(s[name][1] for s in samples),
            samples[0][name][2],
        )
        for name in names
    }


def top_table(rows: list[tuple[str, tuple[float, float, int]]], reference: set[str]) -> str:
    lines = [
        "| module | depth | cumulative | self | imported by `azure.functions` too |",
        "|---|---:|---:|---:|---|",
    ]
    for name, (own, cumulative, depth) in rows:
        shared = "yes" if name in reference else "no"
        lines.append(
            f"| `{name}` | {depth} | {cumulative / 1000:,.1f} ms | {own / 1000:,.1f} ms "
            f"| {shared} |"
        )
    return "\n".join(lines) + "\n"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def mib(kib: float) -> str:
    return f"{kib / 1024:,.1f} MiB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="interleaved rounds (median)")
    parser.add_argument("--importtime-runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.importtime_runs = 2, 1
    if args.runs < 1 or args.importtime_runs < 1:
        parser.error("--runs and --importtime-runs must be >= 1")

    started = time.perf_counter()
    for modules in TARGETS.values():  # warm-up round: fills __pycache__, not counted
        probe(modules)
    samples = {label: Samples() for label in TARGETS}
    for _ in range(args.runs):
        for label, modules in TARGETS.items():
            result = probe(modules)
            samples[label].seconds.append(result["seconds"])
            samples[label].rss.append(int(result["rss"]))
            samples[label].modules.append(int(result["modules"]))

    med = {
        label: (
            statistics.median(s.seconds),
            statistics.median(s.rss),
            statistics.median(s.modules),
        )
        for label, s in samples.items()
    }
    floor = med["bare interpreter (`pass`)"][1]
    ref_time, ref_rss, _ = med[REFERENCE]

    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs; each value the median of "
        f"{args.runs} fresh interpreters, interleaved, after one warm-up round\n"
    )
    print(
        "| import | time | **time / azure.functions** | RSS after | **RSS / azure.functions** "
        "| RSS above bare interpreter | ratio of that | modules loaded |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, (seconds, rss, modules) in med.items():
        if label.startswith("bare"):
            print(f"| {label} | {ms(seconds)} | | {mib(rss)} | | | | {modules:,.0f} |")
            continue
        above = rss - floor
        print(
            f"| {label} | {ms(seconds)} | **{seconds / ref_time:.2f}x** | {mib(rss)} "
            f"| **{rss / ref_rss:.2f}x** | {mib(above)} | {above / (ref_rss - floor):.2f}x "
            f"| {modules:,.0f} |"
        )

    reference = set(importtime(("azure.functions",)))
    app = median_importtime(("function_app",), args.importtime_runs)
    top = sorted(app.items(), key=lambda kv: kv[1][1], reverse=True)[:10]
    note = (
        f"median of {args.importtime_runs}; start-up modules such as `site` left out; "
        "the tool's overhead inflates absolute times"
    )
    print(f"\nTop 10 modules by cumulative import time, `import function_app` ({note}):\n")
    print(top_table(top, reference), end="")
    extra = {n: v for n, v in app.items() if n not in reference}
    heavy = sorted(extra.items(), key=lambda kv: kv[1][0], reverse=True)[:5]
    print(
        f"\n{len(extra)} modules beyond those `azure.functions` imports, "
        f"{sum(v[0] for v in extra.values()) / 1000:,.1f} ms of self time in all: "
        + ", ".join(f"`{n}` {v[0] / 1000:,.1f} ms" for n, v in heavy)
        + ".\n"
    )
    first = median_importtime(FIRST_EVENT, args.importtime_runs)
    statements = [kv for kv in first.items() if kv[1][2] == 0]
    top = sorted(statements, key=lambda kv: kv[1][1], reverse=True)[:10]
    print(
        "For information, the first NSG event's imports, one `import` statement each in the "
        "order listed in `FIRST_EVENT` (each pays only for what earlier ones did not load), "
        f"top 10 by cumulative time ({note}):\n"
    )
    print(top_table(top, reference), end="")
    print(f"done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
