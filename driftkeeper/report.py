"""Rendering a scan report: a rich table for people, JSON for machines."""

from __future__ import annotations

import json
from typing import IO, Any

from ._model import Finding, ScanReport

__all__ = ["render_json", "render_table"]

_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}


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
                Text(f.status),
                Text(f.kind),
                Text(f.resource),
                Text(f.rule),
                Text(f.message + ("\n" + _changes(f) if f.changes else "")),
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
