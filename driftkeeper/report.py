"""Rendering a scan report: a rich table for people, JSON for machines."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

from ._model import EventRecord, Finding, ScanReport

if TYPE_CHECKING:
    from .pipeline import SignalResult

__all__ = [
    "render_json",
    "render_records_json",
    "render_records_table",
    "render_replay_json",
    "render_replay_table",
    "render_table",
]

_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _plain(value: object) -> Any:
    """Untrusted text for the terminal: no markup (rich Text) and no control sequences."""
    from rich.text import Text

    return Text(_CONTROL.sub("", str(value)))


def render_json(report: ScanReport, out: IO[str]) -> None:
    json.dump(report.to_dict(), out, indent=2, ensure_ascii=False)
    out.write("\n")


def _changes(finding: Finding, limit: int = 3) -> str:
    lines = []
    fields = [c for c in finding.changes if c.expected is not None and c.actual is not None]
    for change in fields[:limit]:
        lines.append(
            f"{change.path or '(resource)'}: {_short(change.expected)} -> {_short(change.actual)}"
        )
    if len(fields) > limit:
        lines.append(f"... {len(fields) - limit} more")
    return "\n".join(lines)


def _short(value: Any, limit: int = 60) -> str:
    text = "absent" if value is None else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_table(report: ScanReport, out: IO[str], *, width: int | None = None) -> None:
    """A table of findings, then a one-line summary. Values are printed as text, never markup."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=out, width=width or 160, highlight=False, soft_wrap=False)
    if report.findings:
        table = Table(show_lines=True, title="driftkeeper findings")
        for column in ("Severity", "Status", "Kind", "Resource", "Rule", "What happened"):
            table.add_column(column, overflow="fold")
        for f in report.findings:
            table.add_row(
                Text(f.severity, style=_STYLE.get(f.severity, "")),
                _plain(f.status),
                _plain(f.kind),
                _plain(f.resource),
                _plain(f.rule),
                _plain(f.message + ("\n" + _changes(f) if f.changes else "")),
            )
        console.print(table)
    for notice in report.skipped:
        console.print(Text(f"skipped: {notice}", style="dim"))
    if report.unbaselined:
        console.print(
            Text(
                f"{len(report.unbaselined)} live setting(s) have no baseline (see --format json)",
                style="dim",
            )
        )
    console.print(
        Text(
            f"{report.drift} drift, {report.compliant} compliant, {report.errors} error(s)",
            style="bold",
        )
    )


def replay_summary(results: Sequence[SignalResult]) -> dict[str, int]:
    summary = dict.fromkeys(("evaluated", "ignored", "duplicate", "self", "invalid"), 0)
    for result in results:
        summary[result.outcome] += 1
    findings = [f for r in results for f in r.findings]
    summary["drift"] = sum(1 for f in findings if f.status == "drift")
    summary["errors"] = sum(1 for f in findings if f.status == "error")
    summary["unbaselined"] = sum(len(r.unbaselined) for r in results)
    return summary


def render_replay_json(results: Sequence[SignalResult], out: IO[str]) -> None:
    doc = {"summary": replay_summary(results), "signals": [r.to_dict() for r in results]}
    json.dump(doc, out, indent=2, ensure_ascii=False)
    out.write("\n")


def render_replay_table(results: Sequence[SignalResult], out: IO[str]) -> None:
    """One line per signal; its drift underneath. Untrusted text is printed, never markup."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=out, width=160, highlight=False, soft_wrap=False)
    table = Table(title="driftkeeper replay")
    for column in ("Signal", "Source", "Outcome", "Findings"):
        table.add_column(column, overflow="fold")
    for result in results:
        lines = [f"{f.severity} {f.rule}: {f.message}" for f in result.findings]
        table.add_row(
            _plain(result.id),
            _plain(result.source),
            _plain(result.outcome),
            _plain("\n".join(lines) or result.reason),
        )
    console.print(table)
    summary = replay_summary(results)
    console.print(Text(", ".join(f"{v} {k}" for k, v in summary.items()), style="bold"))


def render_records_json(records: Sequence[EventRecord], out: IO[str]) -> None:
    from dataclasses import asdict

    json.dump([asdict(r) for r in records], out, indent=2, ensure_ascii=False)
    out.write("\n")


def render_records_table(records: Sequence[EventRecord], out: IO[str]) -> None:
    """The event table's rows, oldest first. Untrusted text is printed, never markup."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=out, width=160, highlight=False, soft_wrap=False)
    table = Table(title="driftkeeper events")
    for column in ("Time", "Outcome", "Severity", "Kind", "Who", "What"):
        table.add_column(column, overflow="fold")
    for r in records:
        who = r.actor_upn or r.actor_app_id or r.actor_object_id
        table.add_row(
            _plain(r.time),
            _plain(r.outcome),
            _plain(r.severity),
            _plain(r.kind),
            _plain(who + (f" ({r.actor_ip})" if r.actor_ip else "")),
            _plain(r.message or r.operation),
        )
    console.print(table)
    console.print(Text(f"{len(records)} row(s)", style="bold"))
