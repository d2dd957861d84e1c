"""``report.html``: one self-contained page. Everything shown comes from the tables, so it is
untrusted: every value is escaped (quotes too), bidi controls are shown as ``[U+202E]``, and
the page loads nothing (a strict CSP in a ``<meta>``: one inline style allowed by its hash,
no script, no image, no form)."""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import mean

from ._collect import ChangeEntry, IncidentEntry, utc
from ._controls import CONTROLS, FRAMEWORK_CLAUSES
from ._records import Unreadable
from ._sealing import Verification

__all__ = ["CSP", "STYLE", "ReportInfo", "render_report"]

STYLE = (
    "@page{size:A4 landscape;margin:12mm}"
    'body{font:12px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;'
    "color:#1b1f24;background:#fff}"
    "main{padding:16px 20px}"
    "h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:22px 0 6px}"
    "h3{font-size:14px;margin:16px 0 4px}"
    "table{border-collapse:collapse;width:100%;margin:6px 0;table-layout:auto}"
    "th,td{border:1px solid #d0d7de;padding:3px 6px;text-align:left;vertical-align:top}"
    "td{overflow-wrap:anywhere}"
    "th{background:#f1f3f5;white-space:nowrap}"
    "tr{break-inside:avoid}"
    ".card{border:1px solid #d0d7de;border-radius:6px;padding:10px 14px;margin:10px 0}"
    ".ok{background:#dafbe1;border-color:#4ac26b}"
    ".bad{background:#ffebe9;border-color:#ff8182}"
    ".warn{background:#fff8c5;border-color:#d4a72c}"
    "small,.muted{color:#57606a}"
    'code{font:11px/1.3 ui-monospace,"Cascadia Mono",Consolas,monospace}'
    "ul{margin:0;padding-left:16px}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode("utf-8")).digest()).decode("ascii")
CSP = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; img-src 'none'; "
    "script-src 'none'; form-action 'none'; base-uri 'none'"
)
_BIDI = re.compile(r"[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_MAX_SHOWN = 2_000


@dataclass(frozen=True)
class ReportInfo:
    first: str
    last: str
    generated_at: str
    version: str


def e(value: object, limit: int = _MAX_SHOWN) -> str:
    """Escaped text: quotes too, bidi controls shown, lone surrogates replaced, cut long."""
    text = "" if value is None else str(value)
    if len(text) > limit:
        text = text[:limit] + f"… ({len(text) - limit} more characters in events.csv)"
    text = _SURROGATE.sub("\ufffd", text)
    text = _BIDI.sub(lambda m: f"[U+{ord(m.group()):04X}]", text)
    return html.escape(text, quote=True)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    sign = "-" if seconds < 0 else ""
    whole = int(abs(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m {secs:02d}s"
    return f"{sign}{abs(seconds):.1f}s"


def _mean(values: Iterable[float | None]) -> float | None:
    found = [v for v in values if v is not None]
    return mean(found) if found else None


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    head = "".join(f"<th>{e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _seals(verification: Verification) -> str:
    summary = verification.summary()
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(summary["days"].items())) or "no days"
    if verification.tampered:
        css, title = "bad", "Tampering found: rows changed, added or removed after sealing"
    elif any("unsealed" in d.findings for d in verification.days):
        css, title = "warn", "Seals verify; some closed days are not sealed yet"
    else:
        css, title = "ok", "Seals verify: every sealed day is as it was sealed"
    head = verification.head
    head_text = (
        f"newest seal {e(head.day)}, chained digest <code>{e(head.chain)}</code>"
        if head is not None
        else "no seal yet"
    )
    anchor = verification.anchor
    anchor_text = ""
    if anchor is not None and verification.anchor_problem:
        anchor_text = f"; retention anchor NOT trusted: {e(verification.anchor_problem)}"
    elif anchor is not None:
        anchor_text = (
            f"; chain anchored at pruned day {e(anchor.day)}, "
            f"chained digest <code>{e(anchor.chain)}</code>"
        )
    rows = [
        (
            e(d.day),
            e(d.status),
            e(d.rows),
            e("—" if d.sealed_rows is None else d.sealed_rows),
            "<br>".join(
                f"{label}: <code>{e(', '.join(keys), 600)}</code>"
                for label, keys in (
                    ("changed", d.changed),
                    ("added", d.added),
                    ("removed", d.removed),
                )
                if keys
            )
            + (f"<br><small>{e(d.note)}</small>" if d.note else ""),
        )
        for d in verification.days
        if d.findings
    ]
    table = (
        _table(("day", "status", "rows now", "rows sealed", "rows concerned"), rows)
        if rows
        else "<p>Every day of the period with rows or a seal verified <b>ok</b>.</p>"
    )
    return (
        f'<section class="card {css}" id="seals"><h2>{e(title)}</h2>'
        f"<p>Days: {e(counts)}. {head_text}{anchor_text}.</p>{table}</section>"
    )


def _unreadable(unreadable: Sequence[Unreadable]) -> str:
    if not unreadable:
        return ""
    rows = [(e(u.key[0]), f"<code>{e(u.key[1])}</code>", e(u.reason)) for u in unreadable]
    return (
        '<section class="card bad" id="unreadable"><h2>Unreadable rows</h2>'
        f"<p>{e(len(unreadable))} row(s) of the period are not readable records (altered, "
        "or a continuation row is missing); events.csv has their raw columns.</p>"
        f"{_table(('day', 'row key', 'why'), rows)}</section>"
    )


def _mapping() -> str:
    rows = [
        (
            e(control.name),
            e(", ".join(control.kinds)),
            "<br>".join(
                f"{e(c)} <small>({e(FRAMEWORK_CLAUSES[c])})</small>" for c in control.clauses
            ),
            e(control.why),
        )
        for control in CONTROLS
    ]
    return "<h2>Control mapping</h2>" + _table(
        ("control", "kinds", "clauses", "what it shows"), rows
    )


def _summary(changes: Sequence[ChangeEntry], incidents: Sequence[IncidentEntry]) -> str:
    rows = []
    for control in CONTROLS:
        mine = [c for c in changes if c.control is control]
        closed = [i for i in incidents if i.control is control]
        rows.append(
            (
                e(control.name),
                e(len(mine)),
                e(sum(1 for c in mine if c.record.outcome == "drift")),
                e(sum(1 for c in mine for a in c.actions if a.what == "rolled-back")),
                e(duration(_mean(c.mttd_seconds for c in mine))),
                e(len(closed)),
                e(duration(_mean(i.mttr_seconds for i in closed))),
            )
        )
    return "<h2>Summary</h2>" + _table(
        ("control", "changes", "drift", "rolled back", "mean MTTD", "incidents", "mean MTTR"),
        rows,
    )


def _changes(changes: Sequence[ChangeEntry]) -> str:
    parts = ["<h2>Changes by control</h2>"]
    for control in CONTROLS:
        mine = [c for c in changes if c.control is control]
        parts.append(f"<h3>{e(control.name)} <small>({e(', '.join(control.clauses))})</small></h3>")
        if not mine:
            parts.append('<p class="muted">No change in the period.</p>')
            continue
        rows = []
        for entry in mine:
            r = entry.record
            who = r.actor_upn or r.actor_object_id or r.actor_app_id or "unknown"
            actions = "".join(f"<li>{e(a.text(), 600)}</li>" for a in entry.actions)
            rows.append(
                (
                    e(r.time),
                    f"<bdi>{e(who)}</bdi>"
                    + (f"<br><small>app {e(r.actor_app_id)}</small>" if r.actor_app_id else ""),
                    e(r.actor_ip or "—"),
                    f"<b>{e(r.kind)}</b> <bdi>{e(r.resource, 400)}</bdi><br>{e(r.message)}"
                    f"<br><small>{e(r.operation)} · rule <bdi>{e(r.rule)}</bdi></small>",
                    f"{e(r.outcome)}<br><small>{e(r.severity)}</small>",
                    e(utc(entry.recorded_at) if entry.recorded_at else "—"),
                    e(duration(entry.mttd_seconds)),
                    f"<ul>{actions}</ul>" if actions else "—",
                )
            )
        parts.append(
            _table(
                (
                    "changed at",
                    "who",
                    "from (IP)",
                    "what",
                    "detected as",
                    "recorded at",
                    "MTTD",
                    "what driftkeeper did",
                ),
                rows,
            )
        )
    return "".join(parts)


def _incidents(incidents: Sequence[IncidentEntry]) -> str:
    rows = [
        (
            e(i.control.name if i.control else i.incident.kind),
            f"<bdi>{e(i.incident.resource, 400)}</bdi><br><small>rule "
            f"<bdi>{e(i.incident.rule)}</bdi></small>",
            e(i.track),
            e(i.incident.severity),
            e(i.incident.status),
            e(i.incident.opened_at),
            e(i.incident.resolved_at or "—"),
            e(duration(i.mttr_seconds)),
            e(i.incident.last_message),
        )
        for i in incidents
    ]
    if not rows:
        return '<h2>Incidents</h2><p class="muted">No incident open in the period.</p>'
    return "<h2>Incidents</h2>" + _table(
        (
            "control",
            "resource",
            "track",
            "severity",
            "status",
            "opened",
            "resolved",
            "MTTR",
            "last message",
        ),
        rows,
    )


def render_report(
    info: ReportInfo,
    verification: Verification,
    changes: Sequence[ChangeEntry],
    incidents: Sequence[IncidentEntry],
    unreadable: Sequence[Unreadable] = (),
) -> str:
    """The whole page."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{e(CSP)}">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>driftkeeper evidence {e(info.first)} to {e(info.last)}</title>"
        f"<style>{STYLE}</style></head><body><main>"
        f"<h1>driftkeeper evidence pack: {e(info.first)} to {e(info.last)}</h1>"
        f'<p class="muted">Generated {e(info.generated_at)} by driftkeeper {e(info.version)}. '
        "MTTD: from the change to its row being recorded. MTTR: from the incident opening "
        "to its resolution. Times are UTC.</p>"
        f"{_seals(verification)}{_unreadable(unreadable)}{_summary(changes, incidents)}{_mapping()}"
        f"{_changes(changes)}{_incidents(incidents)}"
        "</main></body></html>\n"
    )
