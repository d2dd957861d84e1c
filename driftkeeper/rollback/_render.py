"""Showing plans: JSON for machines, a table for the person deciding."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import IO, Any

from ._plan import NotPlanned, Plan

__all__ = ["plans_document", "render_plans_json", "render_plans_table"]


def plans_document(plans: Sequence[Plan], not_planned: Sequence[NotPlanned]) -> dict[str, Any]:
    """``{"plans": [...], "notPlanned": [...]}``."""
    return {
        "plans": [p.to_dict() for p in plans],
        "notPlanned": [n.to_dict() for n in not_planned],
    }


def render_plans_json(
    plans: Sequence[Plan], not_planned: Sequence[NotPlanned], out: IO[str]
) -> None:
    json.dump(plans_document(plans, not_planned), out, indent=2, ensure_ascii=False)
    out.write("\n")


def render_plans_table(
    plans: Sequence[Plan],
    not_planned: Sequence[NotPlanned],
    out: IO[str],
    *,
    width: int | None = None,
) -> None:
    """One table of steps per plan, then what is not planned. Text, never markup."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from ..report import _plain

    console = Console(file=out, width=width or 160, highlight=False, soft_wrap=False)
    for plan in plans:
        table = Table(
            show_lines=False,
            title=_plain(f"{plan.kind} {plan.resource} (baseline {plan.baseline})"),
            caption=_plain(f"needs: {', '.join(plan.permissions)}; plan {plan.plan_hash[:16]}"),
        )
        for column in ("#", "Method", "URL", "Body"):
            table.add_column(column, overflow="fold")
        for i, step in enumerate(plan.steps, 1):
            body = "" if step.body is None else json.dumps(step.body, ensure_ascii=False)
            table.add_row(str(i), step.method, _plain(step.url), _plain(body))
        console.print(table)
        for note in plan.notes:
            console.print(Text(f"note: {note}", style="yellow"))
    for item in not_planned:
        console.print(
            _plain(f"not planned: {item.kind} {item.resource} ({item.rule}): {item.reason}")
        )
    steps = sum(len(p.steps) for p in plans)
    console.print(
        Text(
            f"{len(plans)} plan(s), {steps} step(s), {len(not_planned)} not planned "
            "(a dry run: nothing was sent)",
            style="bold",
        )
    )
