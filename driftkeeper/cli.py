"""The ``driftkeeper`` command: snapshot, baseline capture, scan, rollback plan.

Exit codes: 0 no drift; 1 drift; 2 error (bad input, failed read, a setting not judged).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, get_args

from ._errors import DriftkeeperError, InputError, TimeFormatError
from ._model import Outcome
from ._time import parse_time
from .engine import GuardMode
from .snapshot import Snapshot

if TYPE_CHECKING:
    from .config import Settings
    from .pipeline import StateReader

__all__ = ["LiveReader", "main"]

log = logging.getLogger("driftkeeper")
LiveReader = Callable[[Sequence[str]], Snapshot]
"""Reads a live snapshot for the given subscriptions (the seam tests replace)."""
GUARD_MODES: tuple[GuardMode, ...] = get_args(GuardMode)
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
BASELINES_HELP = "directory of baseline files (default: $DRIFTKEEPER_BASELINES_DIR or baselines)"


def _settings() -> Settings:
    """The Function App's settings, as the CLI uses them: the alert variables are left
    unread (the CLI never alerts)."""
    from .config import Settings

    return Settings.from_env(os.environ, alerts=False)


def read_live(subscriptions: Sequence[str]) -> Snapshot:
    """Read the tenant with DefaultAzureCredential; endpoints may be overridden by
    ``DRIFTKEEPER_ARM_ENDPOINT``, ``DRIFTKEEPER_GRAPH_ENDPOINT`` and ``DRIFTKEEPER_CA_BUNDLE``
    (sovereign clouds, a TLS-inspecting proxy), as for the Function App."""
    from azure.identity import DefaultAzureCredential
    from azure.identity.aio import DefaultAzureCredential as AsyncDefaultAzureCredential

    from .live import read_snapshot

    config = _settings()
    subs = list(subscriptions) or list(config.subscriptions)
    if not subs:
        log.warning("no --subscription given and AZURE_SUBSCRIPTION_ID unset: ARM not read")
    return read_snapshot(
        DefaultAzureCredential(),
        async_credential=AsyncDefaultAzureCredential(),
        subscriptions=subs,
        tenant_id=config.tenant_id,
        arm_endpoint=config.arm_endpoint,
        graph_endpoint=config.graph_endpoint,
        connection_verify=config.connection_verify,
        include_arm=bool(subs),
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="driftkeeper",
        description="Find drift in the customer-owned security settings of an Azure tenant.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    commands = parser.add_subparsers(dest="command", required=True)

    def live_args(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--subscription",
            action="append",
            default=[],
            metavar="ID",
            help="subscription to read live (repeatable; default: $AZURE_SUBSCRIPTION_ID)",
        )

    snap = commands.add_parser("snapshot", help="read the tenant live into a snapshot file")
    snap.add_argument("--out", required=True, metavar="FILE", help="where to write the snapshot")
    live_args(snap)

    base = commands.add_parser("baseline", help="work with baselines")
    base_cmds = base.add_subparsers(dest="baseline_command", required=True)
    cap = base_cmds.add_parser("capture", help="write baselines from a snapshot (or live)")
    cap.add_argument("--state", metavar="FILE", help="snapshot file (default: read live)")
    cap.add_argument("--out", required=True, metavar="DIR", help="directory to write into")
    live_args(cap)

    sc = commands.add_parser("scan", help="compare a snapshot (or live state) with baselines")
    sc.add_argument("--baselines", metavar="DIR", help=BASELINES_HELP)
    sc.add_argument("--state", metavar="FILE", help="snapshot file (default: read live)")
    sc.add_argument("--guards", choices=GUARD_MODES, default="default")
    sc.add_argument("--format", choices=("table", "json"), default="table")
    live_args(sc)

    rp = commands.add_parser(
        "replay", help="run the event pipeline over a file of events (a dry run: no alerts)"
    )
    rp.add_argument("--events", required=True, metavar="FILE", help="JSON event(s) or a batch")
    rp.add_argument("--state", metavar="FILE", help="snapshot to read state from (default: live)")
    rp.add_argument("--baselines", metavar="DIR", help=BASELINES_HELP)
    rp.add_argument("--guards", choices=GUARD_MODES, default="default")
    rp.add_argument("--format", choices=("table", "json"), default="table")
    live_args(rp)

    rb = commands.add_parser("rollback", help="undo drift: the requests that restore baselines")
    rb_cmds = rb.add_subparsers(dest="rollback_command", required=True)
    rbp = rb_cmds.add_parser(
        "plan", help="print the plan of every drift of a scan (a dry run: nothing is sent)"
    )
    rbp.add_argument("--state", metavar="FILE", help="snapshot file (default: read live)")
    rbp.add_argument("--baselines", metavar="DIR", help=BASELINES_HELP)
    rbp.add_argument("--format", choices=("table", "json"), default="table")
    live_args(rbp)

    ev = commands.add_parser("events", help="query the event table")
    ev.add_argument(
        "--since", default="24h", help="a duration back from now (30m, 24h, 7d) or an ISO time"
    )
    ev.add_argument("--until", help="an ISO time (default: now)")
    ev.add_argument("--kind", help="only this kind (nsg, role-assignments, ...)")
    ev.add_argument("--outcome", choices=OUTCOMES)
    ev.add_argument("--resource", help="only this resource id")
    ev.add_argument("--format", choices=("table", "json"), default="table")

    summ = commands.add_parser(
        "summarize", help="recompute the daily compliance summaries from the event table"
    )
    summ.add_argument(
        "--days", type=_days, default=2, help="the last N days, today included (default: 2)"
    )

    commands.add_parser("schema", help="print the JSON Schema of baseline files")
    commands.add_parser("guards", help="list the built-in guards and their sources")
    kinds = commands.add_parser(
        "kinds", help="list the watched kinds: their sections, where they are read, signals"
    )
    kinds.add_argument("--format", choices=("table", "json"), default="table")
    return parser


def _state(args: argparse.Namespace, live: LiveReader) -> Snapshot:
    if args.state:
        return Snapshot.from_file(args.state)
    return live(args.subscription)


def _run(args: argparse.Namespace, live: LiveReader, out: IO[str]) -> int:
    if args.command == "snapshot":
        snapshot = live(args.subscription)
        Path(args.out).write_text(json.dumps(snapshot.to_dict(), indent=1) + "\n", encoding="utf-8")
        for section, reason in snapshot.read_errors.items():
            print(f"warning: {section} not read: {reason}", file=sys.stderr)
        print(f"wrote {args.out} ({len(snapshot.sections)} sections)", file=out)
        return 2 if snapshot.read_errors else 0
    if args.command == "baseline":
        from .capture import capture_baselines

        result = capture_baselines(_state(args, live), args.out)
        for notice in result.skipped:
            print(f"skipped: {notice}", file=sys.stderr)
        print(f"wrote {len(result.written)} baselines under {args.out}", file=out)
        return 0
    if args.command == "scan":
        from .baseline import load_baselines
        from .engine import scan
        from .report import render_json, render_table

        baselines = load_baselines(args.baselines or _settings().baselines_dir)
        report = scan(_state(args, live), baselines, guards=args.guards)
        (render_json if args.format == "json" else render_table)(report, out)
        return report.exit_code
    if args.command == "replay":
        return _replay(args, out)
    if args.command == "rollback":
        return _rollback_plan(args, live, out)
    if args.command == "events":
        return _events(args, out)
    if args.command == "summarize":
        return _summarize(args.days, out)
    if args.command == "kinds":
        _print_kinds(args.format, out)
        return 0
    if args.command == "schema":
        from .baseline import baseline_schema

        json.dump(baseline_schema(), out, indent=2)
        out.write("\n")
        return 0
    from .guards import all_guards

    for name, guard in all_guards().items():
        print(
            f"{name} ({guard.default_severity}): {guard.title}\n    source: {guard.source}",
            file=out,
        )
    return 0


def _print_kinds(fmt: str, out: IO[str]) -> None:
    from .kinds import all_kinds

    described = [kind.declaration() for kind in all_kinds().values()]
    if fmt == "json":
        json.dump(described, out, indent=2)
        out.write("\n")
        return
    for kind in described:
        print(f"{kind['name']}: {kind['title']}", file=out)
        for section in kind["sections"]:
            query = {"api-version": section.get("apiVersion", ""), **section.get("query", {})}
            where = section.get("listPath") or section.get("path")
            if any(query.values()):
                where += "?" + "&".join(f"{k}={v}" for k, v in query.items() if v)
            print(
                f"  {section['name']} ({section['need']}): {section['api']} GET {where}", file=out
            )
            if section.get("getPath"):
                print(f"      one: GET {section['getPath']}", file=out)
        for name, values in kind["signals"].items():
            print(f"  signals {name}: {', '.join(values)}", file=out)


def _replay(args: argparse.Namespace, out: IO[str]) -> int:
    from .baseline import load_baselines
    from .intake import parse_events
    from .live import CoalescingReader, snapshot_reader
    from .memory import MemoryIncidents, MemoryLedger
    from .pipeline import Pipeline
    from .report import render_replay_json, render_replay_table, replay_summary

    try:
        payload = json.loads(Path(args.events).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # JSONDecodeError, UnicodeDecodeError, a huge int
        raise InputError(f"{args.events}: cannot read events ({exc})") from exc
    except RecursionError:
        raise InputError(f"{args.events}: cannot read events (nested too deeply)") from None
    settings = _settings()
    if args.state:
        reader = snapshot_reader(Snapshot.from_file(args.state))
    else:
        reader = _live_reader(settings, args.subscription)
    pipeline = Pipeline(
        load_baselines(args.baselines or settings.baselines_dir),
        CoalescingReader(reader, window=settings.coalesce_seconds),
        MemoryLedger(),
        MemoryIncidents(),
        self_ids=settings.self_ids,
        guards=args.guards,
    )
    results = pipeline.process(parse_events(payload))
    (render_replay_json if args.format == "json" else render_replay_table)(results, out)
    summary = replay_summary(results)  # the exit code of scan: errors first, then drift
    if results and all(r.outcome == "invalid" for r in results):
        print(f"error: {args.events}: no item is an event driftkeeper reads", file=sys.stderr)
        return 2
    if summary["errors"]:
        return 2
    return 1 if summary["drift"] else 0


def _rollback_plan(args: argparse.Namespace, live: LiveReader, out: IO[str]) -> int:
    """``rollback plan``: scan, then print each drift's plan and what is not planned.
    Offline with ``--state``; exit code 0 (a plan is not a verdict: ``scan`` gives that)."""
    from .baseline import load_baselines
    from .rollback import Endpoints, plan_scan, render_plans_json, render_plans_table

    settings = _settings()
    plans, not_planned = plan_scan(
        _state(args, live),
        load_baselines(args.baselines or settings.baselines_dir),
        endpoints=Endpoints(settings.arm_endpoint, settings.graph_endpoint),
    )
    (render_plans_json if args.format == "json" else render_plans_table)(plans, not_planned, out)
    return 0


def parse_since(text: str, *, now: datetime) -> datetime:
    """``30m`` / ``24h`` / ``7d`` back from ``now``, or an ISO date or time (UTC if naive)."""
    match = re.fullmatch(r"(\d{1,6})([mhd])", text.strip())
    if match:
        unit = {"m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
        return now - timedelta(**{unit: int(match.group(1))})
    try:
        return parse_time(text)
    except TimeFormatError:
        raise InputError(
            f"--since/--until: expected 30m, 24h, 7d or an ISO time, got {text!r}"
        ) from None


def _events(args: argparse.Namespace, out: IO[str]) -> int:
    from .report import render_records_json, render_records_table
    from .runtime import Runtime
    from .store import Ledger

    now = datetime.now(UTC)
    since = parse_since(args.since, now=now)
    until = parse_since(args.until, now=now) if args.until else None
    rt = Runtime(_settings())
    try:
        records = Ledger(rt.table(rt.settings.events_table)).query(
            since=since, until=until, kind=args.kind, outcome=args.outcome, resource=args.resource
        )
    except ValueError as exc:  # a filter value the ledger refuses to send
        raise InputError(str(exc)) from exc
    (render_records_json if args.format == "json" else render_records_table)(records, out)
    return 0


def _days(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 3660:
        raise argparse.ArgumentTypeError(f"expected a number of days 1-3660, got {text!r}")
    return int(text)


def _summarize(days: int, out: IO[str]) -> int:
    """``summarize``: recompute the last ``days`` days' summaries, oldest first."""
    from .runtime import Runtime

    today = datetime.now(UTC).date()
    rt = Runtime(_settings())
    results = rt.summarize([today - timedelta(days=n) for n in range(days)])
    for n, result in enumerate(results):
        day = today - timedelta(days=days - 1 - n)
        f = result.figures
        print(
            f"{day.isoformat()}: {f.events} events, {f.compliant} compliant, {f.drift} drift, "
            f"{f.errors} errors",
            file=out,
        )
    return 0


def _live_reader(settings: Settings, subscriptions: Sequence[str]) -> StateReader:
    from azure.identity import DefaultAzureCredential

    from .runtime import resource_reader

    return resource_reader(settings, DefaultAzureCredential(), subscriptions)


def main(
    argv: Sequence[str] | None = None, *, live: LiveReader = read_live, out: IO[str] | None = None
) -> int:
    """Run the command line; return the exit code. The trigger boundary: errors end here."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return _run(args, live, out or sys.stdout)
    except DriftkeeperError as exc:
        print(f"driftkeeper: error: {exc}", file=sys.stderr)
        return 2
    except Exception:
        log.exception("driftkeeper: unexpected failure")
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
