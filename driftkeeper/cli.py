"""The ``driftkeeper`` command: snapshot, baseline capture, scan, rollback plan, evidence.

Exit codes: 0 no drift; 1 drift; 2 error (bad input, failed read, a setting not judged).
``evidence``: 0 the seals verify; 1 tampering found; 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, get_args

from ._errors import DriftkeeperError, InputError, TimeFormatError
from ._gc import paused_gc
from ._model import Outcome
from ._progress import NO_PROGRESS, Progress, progress_for
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
CredentialFactory = Callable[[], Any]
"""Builds the operator's Azure credential (the seam tests replace)."""
DECISION_HELP = {
    "approve": "approve an incident's rollback with your own Azure credential (it runs once "
    "enough approvers agree)",
    "reject": "reject an incident's rollback (nothing is written, the incident stays open)",
    "accept": "accept an incident's drift as intended (the incident closes; the proposed "
    "baseline file is written into --baselines)",
}


def _settings() -> Settings:
    """The Function App's settings, as the CLI uses them: the alert variables are left
    unread (the CLI never alerts)."""
    from .config import Settings

    return Settings.from_env(os.environ, alerts=False)


def read_live(
    subscriptions: Sequence[str], *, source: str = "auto", progress: Progress = NO_PROGRESS
) -> Snapshot:
    """Read the tenant with DefaultAzureCredential; endpoints may be overridden by
    ``DRIFTKEEPER_ARM_ENDPOINT``, ``DRIFTKEEPER_GRAPH_ENDPOINT`` and ``DRIFTKEEPER_CA_BUNDLE``
    (sovereign clouds, a TLS-inspecting proxy), as for the Function App. ``source``:
    ``arm``, ``graph`` (Azure Resource Graph) or ``auto`` (Resource Graph above
    ``DRIFTKEEPER_RESOURCE_GRAPH_MIN_SUBSCRIPTIONS`` subscriptions)."""
    from azure.identity import DefaultAzureCredential
    from azure.identity.aio import DefaultAzureCredential as AsyncDefaultAzureCredential

    from .live import choose_source, read_snapshot

    config = _settings()
    subs = list(subscriptions) or list(config.subscriptions)
    if not subs:
        log.warning("no --subscription given and AZURE_SUBSCRIPTION_ID unset: ARM not read")
    chosen = choose_source(source, len(subs), config.resource_graph_min_subscriptions)
    progress.stage(f"reading the tenant ({len(subs)} subscriptions, {chosen})")
    return read_snapshot(
        DefaultAzureCredential(),
        async_credential=AsyncDefaultAzureCredential(),
        subscriptions=subs,
        tenant_id=config.tenant_id,
        arm_endpoint=config.arm_endpoint,
        graph_endpoint=config.graph_endpoint,
        connection_verify=config.connection_verify,
        include_arm=bool(subs),
        source=chosen,
        on_read=progress.request_read,
        on_page=progress.page_read,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="driftkeeper",
        description="Find drift in the customer-owned security settings of an Azure tenant.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    commands = parser.add_subparsers(dest="command", required=True)

    def live_args(p: argparse.ArgumentParser, *, whole_tenant: bool = True) -> None:
        p.add_argument(
            "--subscription",
            action="append",
            default=[],
            metavar="ID",
            help="subscription to read live (repeatable; default: $AZURE_SUBSCRIPTION_ID)",
        )
        if not whole_tenant:  # per-resource reads (replay) are always ARM's
            return
        p.add_argument(
            "--source",
            choices=("auto", "graph", "arm"),
            default="auto",
            help="read ARM sections through Azure Resource Graph or per subscription (default "
            "auto: Resource Graph above $DRIFTKEEPER_RESOURCE_GRAPH_MIN_SUBSCRIPTIONS)",
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
    comp = base_cmds.add_parser(
        "compile",
        help="validate every baseline file and write the compiled bundle loads start from "
        "(run it at build/deploy time)",
    )
    comp.add_argument("--baselines", metavar="DIR", help=BASELINES_HELP)
    comp.add_argument(
        "--out", metavar="FILE", help="where to write it (default: DIR/.driftkeeper-bundle.json)"
    )

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
    live_args(rp, whole_tenant=False)

    rb = commands.add_parser("rollback", help="undo drift: the requests that restore baselines")
    rb_cmds = rb.add_subparsers(dest="rollback_command", required=True)
    rbp = rb_cmds.add_parser(
        "plan", help="print the plan of every drift of a scan (a dry run: nothing is sent)"
    )
    rbp.add_argument("--state", metavar="FILE", help="snapshot file (default: read live)")
    rbp.add_argument("--baselines", metavar="DIR", help=BASELINES_HELP)
    rbp.add_argument("--format", choices=("table", "json"), default="table")
    live_args(rbp)
    for name, what in DECISION_HELP.items():
        rbd = rb_cmds.add_parser(name, help=what)
        rbd.add_argument(
            "incident", metavar="INCIDENT", help="the id `driftkeeper incidents` shows"
        )
        rbd.add_argument("--comment", default="", help="a comment or ticket number (recorded)")
        rbd.add_argument("--baselines", metavar="DIR", help=BASELINES_HELP)
    rbr = rb_cmds.add_parser(
        "resume",
        help="turn automatic rollback back on: reset the breaker, or one setting that flapped",
    )
    rbr.add_argument(
        "--setting", metavar="SETTING", help="the setting that flapped (as its page names it)"
    )

    inc = commands.add_parser("incidents", help="list incidents with their rollback plans")
    inc.add_argument("--open", action="store_true", help="only open incidents")
    inc.add_argument("--format", choices=("table", "json"), default="table")

    ev = commands.add_parser("events", help="query the event table")
    ev.add_argument(
        "--since", default="24h", help="a duration back from now (30m, 24h, 7d) or an ISO time"
    )
    ev.add_argument("--until", help="an ISO time (default: now)")
    ev.add_argument("--kind", help="only this kind (nsg, role-assignments, ...)")
    ev.add_argument("--outcome", choices=OUTCOMES)
    ev.add_argument("--resource", help="only this resource id")
    ev.add_argument("--format", choices=("table", "json"), default="table")

    _evidence_args(commands)
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
    from .setup._cli import add_setup_parser

    add_setup_parser(commands)
    return parser


def _scan(args: argparse.Namespace, live: LiveReader, out: IO[str], progress: Progress) -> int:
    """``scan``, with the cyclic collector paused from the snapshot on: parsing a snapshot
    file, loading and judging make no cycles worth tracing (a live read, whose SDK objects
    do, runs with it on). What the scan built is released before the collector is back,
    so it does not trace all of it once more on the way out."""
    from .baseline import load_baselines
    from .engine import scan
    from .report import render_json, render_table

    with progress, ExitStack() as paused:
        if args.state:
            paused.enter_context(paused_gc())
        state = _state(args, live, progress)
        paused.enter_context(paused_gc())
        progress.stage("loading baselines")
        baselines = load_baselines(
            args.baselines or _settings().baselines_dir, progress=progress.files
        )
        progress.stage("judging")
        report = scan(state, baselines, guards=args.guards)
        (render_json if args.format == "json" else render_table)(report, out)
        code = report.exit_code
        del state, baselines, report
    return code


def _state(
    args: argparse.Namespace, live: LiveReader, progress: Progress = NO_PROGRESS
) -> Snapshot:
    if args.state:
        progress.stage(f"reading the snapshot {args.state}")
        snapshot = Snapshot.from_file(args.state)
        progress.done()
        return snapshot
    return _read_live(args, live, progress)


def _read_live(args: argparse.Namespace, live: LiveReader, progress: Progress) -> Snapshot:
    """The live read: with ``--source`` and progress when it is the default reader."""
    if live is read_live:
        snapshot = read_live(args.subscription, source=args.source, progress=progress)
    else:
        snapshot = live(args.subscription)
    progress.done()
    return snapshot


def _progress(args: argparse.Namespace, out: IO[str], console: Any) -> Progress:
    """Progress on a terminal for the long commands (none for JSON output or off one)."""
    long_work = args.command in ("snapshot", "scan") or (
        args.command == "baseline" or getattr(args, "rollback_command", "") == "plan"
    )
    if not long_work:
        return NO_PROGRESS
    return progress_for(getattr(args, "format", "table"), console=console, stdout=out)


def _run(
    args: argparse.Namespace,
    live: LiveReader,
    credential: CredentialFactory,
    out: IO[str],
    progress: Progress = NO_PROGRESS,
) -> int:
    if args.command == "snapshot":
        with progress:
            snapshot = _read_live(args, live, progress)
            progress.stage("writing the snapshot")
            text = json.dumps(snapshot.to_dict(), indent=1) + "\n"
        Path(args.out).write_text(text, encoding="utf-8")
        for section, reason in snapshot.read_errors.items():
            print(f"warning: {section} not read: {reason}", file=sys.stderr)
        print(f"wrote {args.out} ({len(snapshot.sections)} sections)", file=out)
        return 2 if snapshot.read_errors else 0
    if args.command == "baseline" and args.baseline_command == "compile":
        from .baseline import compile_bundle

        done = compile_bundle(args.baselines or _settings().baselines_dir, out=args.out)
        print(f"wrote {done.path} ({done.bundled} of {done.files} files compiled)", file=out)
        return 0
    if args.command == "baseline":
        from .capture import capture_baselines

        with progress:
            state = _state(args, live, progress)
            progress.stage("writing baselines")
            result = capture_baselines(state, args.out)
        for notice in result.skipped:
            print(f"skipped: {notice}", file=sys.stderr)
        print(f"wrote {len(result.written)} baselines under {args.out}", file=out)
        return 0
    if args.command == "scan":
        return _scan(args, live, out, progress)
    if args.command == "replay":
        return _replay(args, out)
    if args.command == "rollback":
        if args.rollback_command == "resume":
            return _rollback_resume(args, credential, out)
        if args.rollback_command in DECISION_HELP:
            return _rollback_decide(args, credential, out)
        return _rollback_plan(args, live, out, progress)
    if args.command == "incidents":
        return _incidents(args, out)
    if args.command == "events":
        return _events(args, out)
    if args.command in ("seal", "evidence"):
        return _evidence(args, out)
    if args.command == "summarize":
        return _summarize(args.days, out)
    if args.command == "kinds":
        _print_kinds(args.format, out)
        return 0
    if args.command == "setup":
        from .setup._cli import run_setup

        return run_setup(args, _settings(), credential, out)
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


def _rollback_plan(
    args: argparse.Namespace, live: LiveReader, out: IO[str], progress: Progress = NO_PROGRESS
) -> int:
    """``rollback plan``: scan, then print each drift's plan and what is not planned.
    Offline with ``--state``; exit code 0 (a plan is not a verdict: ``scan`` gives that)."""
    from .baseline import load_baselines
    from .rollback import Endpoints, plan_scan, render_plans_json, render_plans_table

    settings = _settings()
    with progress:
        state = _state(args, live, progress)
        progress.stage("loading baselines")
        baselines = load_baselines(args.baselines or settings.baselines_dir)
        progress.stage("planning")
        plans, not_planned = plan_scan(
            state, baselines, endpoints=Endpoints(settings.arm_endpoint, settings.graph_endpoint)
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


def _incidents(args: argparse.Namespace, out: IO[str]) -> int:
    """``incidents``: every incident (``--open``: the open ones) with its approval request
    and plan. Exit code 0."""
    from .rollback._operator import incident_entries, printable
    from .runtime import Runtime
    from .store import Incidents

    rt = Runtime(_settings())
    incidents = Incidents(rt.table(rt.settings.incidents_table)).list(open_only=args.open)
    entries = incident_entries(incidents, rt.approvals().list() if incidents else [])
    if args.format == "json":
        json.dump([e.to_dict() for e in entries], out, indent=2)  # ASCII: controls escaped
        out.write("\n")
        return 0
    for e in entries:
        i, r = e.incident, e.request
        approval = "none" if r is None else f"{r.status} ({len(r.decisions)}/{r.required})"
        print(
            printable(
                f"{e.id}  {i.status}  {i.severity}  {i.kind}  count {i.count}  "
                f"opened {i.opened_at}  last seen {i.last_seen}  approval {approval}"
            ),
            file=out,
        )
        print(f"    resource: {printable(i.resource)}", file=out)
        print(f"    rule:     {printable(i.rule)}", file=out)
        for method, url in e.steps:
            print(f"    plan:     {printable(method)} {printable(url)}", file=out)
    print(f"{len(entries)} incident(s)", file=out)
    return 0


def default_credential() -> Any:
    """The operator's credential: ``DefaultAzureCredential`` (``az login``, environment,
    managed identity ...)."""
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


def _rollback_decide(args: argparse.Namespace, credential: CredentialFactory, out: IO[str]) -> int:
    """``rollback approve|reject|accept INCIDENT``: the operator's decision under the rules
    of the approval page. Exit code 0 decided (or recorded, waiting for another approver),
    1 the rollback ran but did not verify, 2 refused or bad input."""
    from dataclasses import replace

    from .rollback import Refused
    from .rollback._apply import decide_and_apply
    from .rollback._operator import find_pending, operator_principal, printable, write_proposal
    from .runtime import Runtime

    settings = _settings()
    if args.baselines:
        settings = replace(settings, baselines_dir=args.baselines)
    cred = credential()
    rt = Runtime(settings, credential=cred)
    try:
        principal = operator_principal(cred, settings.arm_endpoint)
        request = find_pending(rt.approvals(), args.incident)
        applied = decide_and_apply(
            rt, request, args.rollback_command, principal, address="cli", comment=args.comment
        )
    finally:
        rt.close()
        _close(cred)
    if isinstance(applied, Refused):
        print(f"driftkeeper: refused: {printable(applied.reason)}", file=sys.stderr)
        return 2
    who = printable(principal.shown)
    if applied.status == "pending":
        print(
            f"{args.rollback_command} by {who} recorded; {applied.waiting} more approver(s) needed",
            file=out,
        )
        return 0
    reason = printable(applied.result.get("reason", ""))
    print(
        f"{printable(applied.status)} ({args.rollback_command} by {who}) {reason}".strip(), file=out
    )
    if applied.executed:
        return 0 if applied.status == "rolled-back" else 1
    proposal = applied.proposal
    if applied.status == "accepted" and proposal.get("error"):
        print(f"warning: {printable(proposal['error'])}", file=sys.stderr)
    elif applied.status == "accepted" and proposal:
        try:
            written = write_proposal(proposal, settings.baselines_dir)
        except InputError as exc:
            print(f"driftkeeper: error: the drift is accepted, but {exc}", file=sys.stderr)
            return 2
        if written.removed:
            print(f"deleted {printable(written.path)}: review and merge", file=out)
        else:
            print(f"wrote {printable(written.path)}: review and merge", file=out)
            for line in str(proposal.get("text", "")).splitlines():
                print(f"    {printable(line)}", file=out)
    return 0


def _rollback_resume(args: argparse.Namespace, credential: CredentialFactory, out: IO[str]) -> int:
    """``rollback resume [--setting S]``: a person turns automatic rollback back on. Only an
    approver may; who did is recorded on the breaker."""
    from .rollback import is_approver
    from .rollback._operator import operator_principal, printable
    from .runtime import Runtime
    from .store._brakes import Brakes

    settings = _settings()
    cred = credential()
    rt = Runtime(settings, credential=cred)
    try:
        principal = operator_principal(cred, settings.arm_endpoint)
        if not is_approver(principal, settings.approvers):
            print("driftkeeper: refused: you are not an approver (DRIFTKEEPER_APPROVERS)",
                  file=sys.stderr)  # fmt: skip
            return 2
        brakes = Brakes(rt.table(settings.brakes_table))
        if args.setting:
            brakes.resume_setting(args.setting)
            state = brakes.flapping(args.setting)
            mode = "off (it flapped)" if state.manual else "on"
            print(
                f"setting {printable(args.setting)}: automatic rollback {mode}, "
                f"{len(state.rollbacks)} recent automatic rollback(s)",
                file=out,
            )
            return 0
        breaker = brakes.resume(by=principal.shown)
        print(
            f"breaker: {'tripped' if breaker.tripped else 'reset'} by "
            f"{printable(breaker.reset_by)} at {printable(breaker.reset_at)}; "
            f"{len(breaker.spent)} automatic rollback(s) counted this hour",
            file=out,
        )
        return 0
    finally:
        rt.close()
        _close(cred)


def _close(credential: Any) -> None:
    close = getattr(credential, "close", None)
    if callable(close):
        close()


def _evidence_args(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    seal = commands.add_parser(
        "seal", help="seal the event table's closed days (a chained digest per day)"
    )
    seal.add_argument(
        "--through", metavar="DATE", help="last day to seal, YYYY-MM-DD (default: yesterday, UTC)"
    )
    ev = commands.add_parser(
        "evidence", help="write the auditors' evidence pack of a period (docs/evidence.md)"
    )
    ev.add_argument("--from", dest="first", required=True, metavar="DATE", help="YYYY-MM-DD")
    ev.add_argument("--to", dest="last", required=True, metavar="DATE", help="YYYY-MM-DD")
    ev.add_argument("--out", required=True, metavar="DIR", help="directory to write the pack to")
    ev.add_argument(
        "--chromium", metavar="PATH", help="browser printing report.pdf (default: chromium)"
    )


_FIRST_DAY, _LAST_DAY = date(1601, 1, 1), date(9999, 12, 30)
"""The days an event table can hold (the service's DateTime range; the day after the last
must still be a date)."""


def _day(text: str, flag: str) -> date:
    value = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value, re.ASCII):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            pass
        else:
            if not _FIRST_DAY <= day <= _LAST_DAY:
                raise InputError(
                    f"{flag}: {value} is outside {_FIRST_DAY.isoformat()} .. "
                    f"{_LAST_DAY.isoformat()}"
                )
            return day
    raise InputError(f"{flag}: expected a date YYYY-MM-DD, got {text!r}")


def _evidence(args: argparse.Namespace, out: IO[str]) -> int:
    """``seal`` and ``evidence``: exit 0 verified, 1 tampering found (the pack says what)."""
    import shutil

    from . import __version__
    from .evidence import seal_closed_days, write_pack
    from .runtime import Runtime

    today = datetime.now(UTC).date()
    if args.command == "seal":
        through = _day(args.through, "--through") if args.through else None
        if through is not None and through >= today:
            raise InputError("--through: only closed days (before today, UTC) are sealed")
        rt = Runtime(_settings())
        sealed = seal_closed_days(
            rt.table(rt.settings.events_table), rt.seals(), today=today, through=through
        )
        for seal in sealed:
            print(f"sealed {seal.day}: {seal.rows} row(s), chain {seal.chain}", file=out)
        print(f"{len(sealed)} day(s) sealed", file=out)
        return 0
    first, last = _day(args.first, "--from"), _day(args.last, "--to")
    if last < first:
        raise InputError("--to is before --from")
    target = Path(args.out)
    if target.is_symlink() and not target.exists():
        raise InputError(f"--out: {args.out} is a symlink to nothing (a dangling symlink)")
    if target.exists() and not target.is_dir():
        raise InputError(f"--out: {args.out} exists and is not a directory")
    chromium = shutil.which(args.chromium or "chromium")
    rt = Runtime(_settings())
    s = rt.settings
    pack = write_pack(
        events=rt.table(s.events_table),
        incidents=rt.table(s.incidents_table),
        approvals=rt.table(s.approvals_table),
        seals=rt.seals(),
        first=first,
        last=last,
        out=target,
        chromium=chromium,
        version=__version__,
    )
    if pack.pdf_skipped:
        print(f"warning: report.pdf skipped: {pack.pdf_skipped}", file=sys.stderr)
    summary = pack.verification.summary()
    days = ", ".join(f"{k} {v}" for k, v in sorted(summary["days"].items())) or "no days"
    print(f"wrote {', '.join(pack.files)} to {target}", file=out)
    print(f"seals: {summary['result']} ({days})", file=out)
    for finding in summary["findings"]:
        if finding["status"] not in ("open",):
            print(f"  {finding['day']}: {finding['status']}", file=out)
    for bad in pack.unreadable:
        print(f"  {bad.key[0]}: unreadable row {bad.key[1]!r}: {bad.reason}", file=out)
    return pack.exit_code


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
    argv: Sequence[str] | None = None,
    *,
    live: LiveReader = read_live,
    out: IO[str] | None = None,
    credential: CredentialFactory = default_credential,
    console: Any = None,
) -> int:
    """Run the command line; return the exit code. The trigger boundary: errors end here.
    ``credential`` builds the operator's Azure credential (``rollback approve|reject|accept|
    resume`` decide with it). ``console`` is the rich ``Console`` progress is drawn on
    (default: stderr, when stdout and stderr are terminals)."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        stdout = out or sys.stdout
        return _run(args, live, credential, stdout, _progress(args, stdout, console))
    except DriftkeeperError as exc:
        print(f"driftkeeper: error: {exc}", file=sys.stderr)
        return 2
    except Exception:
        log.exception("driftkeeper: unexpected failure")
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
