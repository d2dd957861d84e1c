"""The dashboard page: one HTML document, no script, nothing loaded.

Everything shown comes from events, so it is untrusted: every value is escaped
(:func:`html.escape` with quotes, bidi controls shown as ``[U+202E]``), names are isolated
in ``<bdi>``, and nothing from the table becomes a link, an attribute or markup. The one
inline style is allowed by its hash (as the approval pages'), charts are inline SVG drawn
server-side, and the page refreshes itself every 60 s with ``<meta http-equiv="refresh">``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from .._model import SEVERITIES
from .._pages import Page, PageStyle
from .._time import parse_time
from ._html import duration, e, percent
from ._recent import RecentDrift
from ._svg import bars, daily_share

__all__ = ["CSP", "Page", "dashboard_page", "message_page", "security_headers"]

STYLE = (
    "html{font-size:clamp(15px,0.55vw + 9.5px,30px)}"
    'body{font:1rem/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;'
    "background:#f4f5f7;color:#1b1f24}"
    "main{max-width:min(96vw,2400px);margin:0 auto;padding:1.2rem}"
    "h1{font-size:1.6rem;margin:0}"
    "h2{font-size:1.15rem;margin:0 0 .6rem}"
    "header{display:flex;flex-wrap:wrap;align-items:baseline;gap:.4rem 1.5rem;"
    "margin-bottom:1rem}"
    ".muted{color:#57606a}"
    ".grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(22rem,1fr));gap:1rem}"
    ".tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(11rem,1fr));gap:1rem;"
    "margin-bottom:1rem}"
    ".card{background:#fff;border:1px solid #d8dce1;border-radius:.4rem;padding:1rem 1.2rem;"
    "min-width:0}"
    ".wide{grid-column:1/-1}"
    ".tile b{display:block;font-size:2rem;line-height:1.2}"
    ".tile span{color:#57606a}"
    "svg{width:100%;height:auto;display:block}"
    "svg text{font-family:inherit;fill:#1b1f24}"
    ".chart text.axis{font-size:15px;fill:#57606a}"
    ".bars text{font-size:24px}"
    "line.grid{stroke:#d8dce1;stroke-width:1}"
    "rect.ok{fill:#2da44e}rect.warn{fill:#d4a72c}rect.bad{fill:#cf222e}"
    "rect.critical{fill:#82071e}rect.high{fill:#cf222e}rect.medium{fill:#d4a72c}"
    "rect.low{fill:#8c959f}rect.neutral{fill:#0969da}"
    "table{border-collapse:collapse;width:100%;table-layout:fixed}"
    "th,td{text-align:left;padding:.35rem .5rem;border-top:1px solid #e4e7eb;"
    "vertical-align:top;overflow-wrap:anywhere}"
    "th{color:#57606a;font-weight:600}"
    "code{font:.85em/1.4 ui-monospace,Consolas,monospace}"
    ".badge{display:inline-block;border-radius:1rem;padding:0 .6rem;font-size:.85em;"
    "font-weight:600;white-space:nowrap}"
    ".s-drift,.s-critical,.s-high{background:#ffebe9;color:#82071e}"
    ".s-error,.s-medium{background:#fff8c5;color:#7d4e00}"
    ".s-compliant,.s-restored{background:#dafbe1;color:#116329}"
    ".s-unknown,.s-low{background:#eaeef2;color:#57606a}"
    ".resp{display:grid;grid-template-columns:repeat(auto-fit,minmax(20rem,1fr));gap:1rem}"
    ".resp h3{font-size:1.05rem;margin:0 0 .4rem}"
    ".resp h4{font-size:.9rem;margin:.6rem 0 .2rem;color:#57606a;text-transform:uppercase;"
    "letter-spacing:.04em}"
    ".resp ul{list-style:none;margin:0;padding:0}"
    ".resp li{display:flex;justify-content:space-between;align-items:flex-start;gap:.5rem;"
    "padding:.2rem 0}"
    ".resp .badge{flex:none}"
    "col.when{width:17%}col.who{width:20%}col.what{width:41%}col.sev{width:11%}"
    "col.out{width:11%}"
    "dl{display:grid;grid-template-columns:auto 1fr;gap:.3rem 1rem;margin:0}"
    "dt{color:#57606a}dd{margin:0;font-weight:600}"
    "@media (min-width:1800px){.grid{grid-template-columns:repeat(3,1fr)}}"
)
_STYLE = PageStyle(STYLE)
CSP = _STYLE.csp


def security_headers() -> dict[str, str]:
    """The headers the dashboard is sent with."""
    return _STYLE.headers()


def _document(title: str, body: str, *, refresh: bool) -> str:
    meta = '<meta http-equiv="refresh" content="60">' if refresh else ""
    return _STYLE.document(title, body, head=meta)


def _css(value: str, known: Sequence[str]) -> str:
    """A class suffix only from a closed list: a stored value never picks a class."""
    return value if value in known else "unknown"


def _badge(status: str) -> str:
    css = _css(status, ("compliant", "drift", "error", "restored", "unknown"))
    return f'<span class="badge s-{css}">{e(status)}</span>'


def _name(value: Any) -> str:
    return f"<bdi>{e(value)}</bdi>" if value else '<i class="muted">unknown</i>'


def _when(text: str) -> str:
    try:
        return e(parse_time(text).strftime("%Y-%m-%d %H:%M:%S"))
    except ValueError:
        return e(text, 40)


def _period_days(report: Mapping[str, Any]) -> list[tuple[str, float | None]]:
    """Every day of the period with its share (None: not summarized or nothing judged)."""
    shares = {d["day"]: d["complianceShare"] for d in report["days"]}
    first, last = date.fromisoformat(report["from"]), date.fromisoformat(report["to"])
    count = (last - first).days + 1
    days = [(first + timedelta(days=n)).isoformat() for n in range(count)]
    return [(day, shares.get(day)) for day in days]


def _tile(value: str, label: str) -> str:
    return f'<div class="card tile"><b>{value}</b><span>{e(label)}</span></div>'


def _recent(rows: Sequence[RecentDrift], still_open: set[tuple[str, str]]) -> str:
    if not rows:
        return '<p class="muted">No drift recorded in the last week.</p>'
    body = []
    for row in rows:
        status = "open" if (row.resource.lower(), row.rule) in still_open else "restored"
        css = "drift" if status == "open" else "restored"
        body.append(
            f"<tr><td><code>{_when(row.time)}</code></td><td>{_name(row.actor)}</td>"
            f"<td>{_name(row.kind)} · {_name(row.rule)}<br><code>{e(row.resource)}</code></td>"
            f'<td><span class="badge s-{_css(row.severity, SEVERITIES)}">'
            f"{e(row.severity)}</span></td>"
            f'<td><span class="badge s-{css}">{status}</span></td></tr>'
        )
    return (
        '<table><colgroup><col class="when"><col class="who"><col class="what"><col class="sev">'
        '<col class="out"></colgroup>'
        "<thead><tr><th>When</th><th>Who</th><th>What</th><th>Severity</th>"
        f"<th>Outcome</th></tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _responsibilities(groups: Sequence[Mapping[str, Any]]) -> str:
    cards = []
    for group in groups:
        layers = []
        for layer in group["layers"]:
            items = "".join(
                f'<li><span>{_name(item["title"])} <small class="muted">'
                f"{e(item['type'])}</small></span>{_badge(item['status'])}</li>"
                for item in layer["items"]
            )
            layers.append(f"<h4>{e(layer['layer'])} layer</h4><ul>{items}</ul>")
        cards.append(
            f'<div class="card"><h3>{e(group["responsibility"])}</h3>{"".join(layers)}</div>'
        )
    return f'<div class="resp">{"".join(cards)}</div>'


def dashboard_page(
    report: Mapping[str, Any],
    recent: Sequence[RecentDrift],
    still_open: set[tuple[str, str]],
    *,
    now: datetime,
    viewer: str,
) -> Page:
    """The dashboard of ``report`` (:func:`~driftkeeper.compliance.compliance_report`)."""
    summary = report["summary"]
    open_by_severity = summary["openIncidents"]
    rollbacks = summary["rollbacks"]
    days = _period_days(report)
    severity_bars: list[tuple[str, int, str]] = [
        (s, int(open_by_severity.get(s, 0)), s) for s in reversed(SEVERITIES)
    ]
    if int(open_by_severity.get("unknown", 0)):  # a stored severity we do not know
        severity_bars.append(("unknown", int(open_by_severity["unknown"]), "neutral"))
    rollback_bars = [
        ("approved", int(rollbacks["approved"]), "ok"),
        ("automatic", int(rollbacks["automatic"]), "neutral"),
        ("rejected", int(rollbacks["rejected"]), "warn"),
        ("failed", int(rollbacks["failed"]), "bad"),
        ("accepted", int(rollbacks["accepted"]), "low"),
    ]
    total_open = sum(int(v) for v in open_by_severity.values())
    body = f"""
<header><h1>driftkeeper compliance</h1>
<span class="muted">{e(report["from"])} to {e(report["to"])} · updated
{e(now.strftime("%Y-%m-%d %H:%M UTC"))} · signed in as {_name(viewer)}</span></header>
<div class="tiles">
{_tile(percent(summary["complianceShare"]), "compliant judgements")}
{_tile(str(total_open), "open drift incidents")}
{_tile(str(summary["openReadErrors"]), "settings that cannot be read")}
{_tile(duration(summary["mttdSeconds"]), "mean time to detect")}
{_tile(duration(summary["mttrSeconds"]), "mean time to restore")}
</div>
<div class="grid">
<section class="card wide"><h2>Compliance over time</h2>
<p class="muted">Daily share of compliant judgements (compliant / compliant + drift).</p>
{daily_share(days)}</section>
<section class="card"><h2>Open incidents by severity</h2>
{bars(severity_bars, "Open drift incidents by severity")}</section>
<section class="card"><h2>Rollback outcomes</h2>
{bars(rollback_bars, "Rollback outcomes in the period")}</section>
<section class="card"><h2>Detect and restore</h2><dl>
<dt>Mean time to detect</dt><dd>{duration(summary["mttdSeconds"])}</dd>
<dt>Mean time to restore</dt><dd>{duration(summary["mttrSeconds"])}</dd>
<dt>… rolled back</dt><dd>{duration(summary["mttrRolledBackSeconds"])}</dd>
<dt>… restored by hand</dt><dd>{duration(summary["mttrByHandSeconds"])}</dd>
<dt>Drift incidents restored</dt><dd>{int(summary["restored"])}</dd>
<dt>Drift judgements</dt><dd>{int(summary["drift"])}</dd>
</dl></section>
<section class="card wide"><h2>Shared responsibility</h2>
<p class="muted">What each watched kind and guard protects of the customer's share, by
defense-in-depth layer, and its state now.</p>
{_responsibilities(report["responsibilities"])}</section>
<section class="card wide"><h2>Recent drift</h2>{_recent(recent, still_open)}</section>
</div>"""
    return Page(200, _document("driftkeeper compliance", body, refresh=True), security_headers())


def message_page(status_code: int, title: str, message: str) -> Page:
    """A refusal or an error, as a page."""
    body = f'<h1>{e(title)}</h1><div class="card"><p>{e(message)}</p></div>'
    return Page(
        status_code, _document(f"driftkeeper: {title}", body, refresh=False), security_headers()
    )
