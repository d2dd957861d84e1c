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

First event (issue 10): a fresh interpreter imports ``function_app`` with
``DRIFTKEEPER_BASELINES_DIR`` pointing at a large generated baseline set (``bench/scan.py``'s
tenant, ``--first-event-size`` role assignments, 50,000 by default: ~1,000 files), then calls
the registered ``arm_events`` function with an ``azure.functions.EventGridEvent`` for a
rule write on one of its NSGs. The Runtime is installed as the handler tests install it:
the event and incident tables on Azurite (started from ``node_modules``), the NSG read from
a one-NSG snapshot, no alert route, ``settle_seconds=0`` (the deliberate settle wait is
not load time). Measured: from the end of the import to the handler's return (baselines
loaded, NSG read, judged, rows written), with the bundle compiled and the app's bytecode
too (as the deployment's prepackage hook does) and without the bundle; the same for a role
assignment write in one subscription (its assignments read from a one-subscription
snapshot). Goal: within 1 s with the bundle.

Usage: ``python bench/cold_start.py [--runs 7] [--importtime-runs 3] [--quick]
[--first-event-size 50000] [--first-event-runs 3] [--no-first-event | --only-first-event]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


FIRST_EVENT_PROBE = """
import json, os, sys, time, uuid
began = time.perf_counter()
import function_app
imported = time.perf_counter()
from datetime import UTC, datetime
import azure.functions as func
from azure.data.tables import TableServiceClient
from driftkeeper import Snapshot, runtime
from driftkeeper.config import AlertSettings, Settings
from driftkeeper.live import snapshot_reader
from driftkeeper.runtime import Runtime
from driftkeeper.store import Ledger

connection, snapshot, kind, resource = sys.argv[1:5]
suffix = uuid.uuid4().hex[:12]
settings = Settings(
    baselines_dir=os.environ["DRIFTKEEPER_BASELINES_DIR"],
    events_table=f"events{suffix}",
    incidents_table=f"incidents{suffix}",
    cursors_table=f"cursors{suffix}",
    storage_connection=connection,
    settle_seconds=0.0,
    alerts=AlertSettings.from_env({}),
)
service = TableServiceClient.from_connection_string(connection, retry_total=0)
reader = snapshot_reader(Snapshot.from_file(snapshot))
runtime.install(Runtime(settings, table_service=service, reader=reader))
functions = {f.get_function_name(): f for f in function_app.app.get_functions()}
if kind == "nsg":  # a rule written on the NSG
    target = resource + "/securityRules/temp-rdp-debug"
    provider, operation = "Microsoft.Network", "networkSecurityGroups/securityRules/write"
else:  # an assignment written in the subscription
    target = resource + "/providers/Microsoft.Authorization/roleAssignments/" + str(uuid.uuid4())
    provider, operation = "Microsoft.Authorization", "roleAssignments/write"
sub = resource.split("/")[2]
event = func.EventGridEvent(
    id=str(uuid.uuid4()),
    data={
        "authorization": {"scope": target, "action": provider + "/" + operation},
        "claims": {"appid": "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
                   "http://schemas.microsoft.com/identity/claims/objectidentifier":
                   "4b3a2918-0706-4f5e-9d4c-3b2a19081706"},
        "correlationId": str(uuid.uuid4()),
        "resourceProvider": provider,
        "resourceUri": target,
        "operationName": provider + "/" + operation,
        "status": "Succeeded",
        "subscriptionId": sub,
    },
    topic="/subscriptions/" + sub,
    subject=target,
    event_type="Microsoft.Resources.ResourceWriteSuccess",
    event_time=datetime.now(UTC),
    data_version="2",
)
functions["arm_events"].get_user_function()(event)
judged = time.perf_counter()
from driftkeeper.baseline import load_baselines
load_baselines(settings.baselines_dir)
loaded = time.perf_counter()
rows = Ledger(service.get_table_client(settings.events_table)).query(
    since=datetime(2000, 1, 1, tzinfo=UTC))
for name in (settings.events_table, settings.incidents_table, settings.cursors_table):
    service.delete_table(name)
print(json.dumps({"import": imported - began, "first_event": judged - imported,
                  "load_again": loaded - judged,
                  "outcomes": sorted(r.outcome for r in rows),
                  "rules": sorted(r.rule for r in rows),
                  "baselines": len(runtime.current().baselines().baselines)}))
"""


KINDS = ("nsg", "role-assignments")


def first_event(
    size: int, runs: int, connection: str | None, reuse: Path | None = None
) -> list[dict[str, Any]]:
    """Median seconds from the end of ``import function_app`` to the first event judged, for
    an NSG rule write and a role assignment write, with the bundle and without it, for the
    baselines of a tenant of ``size``."""
    sys.path.insert(0, str(ROOT))
    from bench.scan import prepare
    from tests.fakes.azurite import Azurite

    results = []
    with tempfile.TemporaryDirectory(prefix="driftkeeper-cold-") as name:
        tmp = Path(name)
        if reuse is None:
            snapshot, baselines, drifted, _ = prepare(size, tmp)
        else:  # a tenant bench/scan.py's prepare() wrote before: copied, not changed
            shutil.copytree(reuse / "baselines", tmp / "baselines")
            snapshot, baselines = tmp / "snapshot.json", tmp / "baselines"
            shutil.copy(reuse / "snapshot.json", snapshot)
            drifted = json.loads(snapshot.read_text(encoding="utf-8"))
            (baselines / ".driftkeeper-bundle.json").unlink(missing_ok=True)
        files = sum(1 for _ in baselines.rglob("*.yaml"))
        reads = _first_event_reads(drifted, tmp)
        del drifted
        snapshot.unlink()
        env = {
            **os.environ,
            "PYTHONWARNINGS": "ignore",
            "PYTHONPATH": str(ROOT),
            "DRIFTKEEPER_BASELINES_DIR": str(baselines),
        }
        # as the prepackage hook does: the app's bytecode ships with the package
        app = ("driftkeeper", "handlers", "function_app.py")
        compileall = [sys.executable, "-m", "compileall", "-q"]
        subprocess.run(
            [*compileall, "--invalidation-mode", "checked-hash", *app], cwd=ROOT, check=True
        )
        compile_cmd = [sys.executable, "-m", "driftkeeper.cli", "baseline", "compile"]
        server = None if connection else Azurite()
        if server is not None:
            server.start()
        try:
            conn = connection or server.connection_string  # type: ignore[union-attr]
            for bundled in (True, False):
                bundle = baselines / ".driftkeeper-bundle.json"
                if bundled:
                    subprocess.run(
                        [*compile_cmd, "--baselines", str(baselines)],
                        env=env,
                        cwd=ROOT,
                        check=True,
                        capture_output=True,
                    )
                else:
                    bundle.unlink()
                for kind in KINDS:
                    small, resource, rule = reads[kind]
                    samples = []
                    for _ in range(runs if bundled else 1):
                        sample = _probe_first_event(conn, small, kind, resource, env)
                        if not {"drift", "compliant"} & set(sample["outcomes"]):
                            raise SystemExit(f"the first {kind} event was not judged: {sample}")
                        if not any(rule in judged for judged in sample["rules"]):
                            raise SystemExit(f"the {kind} baseline {rule} did not judge: {sample}")
                        samples.append(sample)
                    results.append(
                        {
                            "kind": kind,
                            "bundle": bundled,
                            "files": files,
                            "baselines": samples[0]["baselines"],
                            "outcomes": samples[0]["outcomes"],
                            "import": statistics.median(s["import"] for s in samples),
                            "first_event": statistics.median(s["first_event"] for s in samples),
                            "worst": max(s["first_event"] for s in samples),
                            "load_again": statistics.median(s["load_again"] for s in samples),
                            "runs": len(samples),
                        }
                    )
        finally:
            if server is not None:
                server.stop()
    return results


def _first_event_reads(drifted: dict[str, Any], tmp: Path) -> dict[str, tuple[Path, str, str]]:
    """Per kind: a small snapshot holding what its first event reads, the resource the
    event names, and (part of) the name of the baseline that must judge it. The NSG is the
    one that gained an RDP rule; the subscription is that of the first listed assignment,
    with every assignment at or above it and the role definitions."""
    groups = drifted["arm"]["networkSecurityGroups"]
    nsg = next(
        g
        for g in groups
        if any(r["name"] == "temp-rdp-debug" for r in g["properties"]["securityRules"])
    )
    nsg_file = tmp / "one-nsg.json"
    nsg_file.write_text(json.dumps(dict(drifted, arm={"networkSecurityGroups": [nsg]})))
    assignments = drifted["arm"]["roleAssignments"]
    sub = next(
        ra["properties"]["scope"].split("/")[2]
        for ra in assignments
        if ra["properties"]["scope"].startswith("/subscriptions/")
    )
    mine = [
        ra
        for ra in assignments
        if not ra["properties"]["scope"].startswith("/subscriptions/")
        or ra["properties"]["scope"].split("/")[2] == sub
    ]
    arm = {"roleAssignments": mine, "roleDefinitions": drifted["arm"].get("roleDefinitions", [])}
    ra_file = tmp / "one-subscription.json"
    ra_file.write_text(json.dumps(dict(drifted, arm=arm)))
    return {
        "nsg": (nsg_file, nsg["id"], nsg["name"].casefold()),
        "role-assignments": (ra_file, f"/subscriptions/{sub}", f"subscription-{sub}"),
    }


def _probe_first_event(
    connection: str, snapshot: Path, kind: str, resource: str, env: dict[str, str]
) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", FIRST_EVENT_PROBE, connection, str(snapshot), kind, resource],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"first event failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def mib(kib: float) -> str:
    return f"{kib / 1024:,.1f} MiB"


def print_first_event(args: argparse.Namespace) -> None:
    reuse = Path(args.first_event_dir) if args.first_event_dir else None
    rows = first_event(args.first_event_size, args.first_event_runs, args.connection_string, reuse)
    print(
        f"\nFirst event after the import, baselines of a {args.first_event_size:,}-assignment "
        f"tenant ({rows[0]['files']:,} files, {rows[0]['baselines']:,} baselines), "
        "on Azurite:\n"
    )
    print(
        "| event | baselines from | import `function_app` | **first event judged after it** "
        "| worst | outcomes | `load_baselines` again, same process | runs |"
    )
    print("|---|---|---:|---:|---:|---|---:|---:|")
    for row in rows:
        source = "compiled bundle" if row["bundle"] else "YAML (no bundle)"
        print(
            f"| {row['kind']} | {source} | {ms(row['import'])} | **{ms(row['first_event'])}** "
            f"| {ms(row['worst'])} | {', '.join(row['outcomes'])} | {ms(row['load_again'])} "
            f"| {row['runs']} |"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="interleaved rounds (median)")
    parser.add_argument("--importtime-runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    parser.add_argument("--first-event-size", type=int, default=50_000)
    parser.add_argument("--first-event-runs", type=int, default=3)
    parser.add_argument("--no-first-event", action="store_true")
    parser.add_argument("--only-first-event", action="store_true")
    parser.add_argument(
        "--first-event-dir",
        help="reuse a tenant bench/scan.py wrote (snapshot.json, baselines/) of that size",
    )
    parser.add_argument("--connection-string", help="an Azurite to use (default: start one)")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.importtime_runs = 2, 1
        args.first_event_size, args.first_event_runs = 2_000, 1
    if args.runs < 1 or args.importtime_runs < 1:
        parser.error("--runs and --importtime-runs must be >= 1")

    started = time.perf_counter()
    if args.only_first_event:
        print_first_event(args)
        return 0
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
    if not args.no_first_event:
        print_first_event(args)
    print(f"done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
