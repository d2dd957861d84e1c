"""The approval pages: the confirmation page a link opens, and the pages that answer.

Everything shown comes from events and the live state, so it is untrusted: every value is
escaped (:func:`html.escape` with quotes), bidi controls are shown as ``[U+202E]`` and names
are isolated in ``<bdi>``, and nothing from an event becomes a link or an attribute other
than a hidden input's value. A page loads nothing: one inline style allowed by its hash,
no script, and the headers of :func:`security_headers`.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .._pages import Page, PageStyle, escape
from ._approval import ApprovalRequest

__all__ = ["CSP", "Page", "confirmation_page", "message_page", "security_headers"]

STYLE = (
    'body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;'
    "background:#f4f5f7;color:#1b1f24}"
    "main{max-width:1100px;margin:0 auto;padding:24px}"
    "h1{font-size:22px;margin:0 0 4px}"
    "h2{font-size:17px;margin:24px 0 8px}"
    ".card{background:#fff;border:1px solid #d8dce1;border-radius:6px;"
    "padding:16px 20px;margin:12px 0}"
    "dl{display:grid;grid-template-columns:200px 1fr;gap:6px 16px;margin:0}"
    "dt{color:#57606a}"
    "dd{margin:0;overflow-wrap:anywhere}"
    'code,pre{font:13px/1.4 ui-monospace,"Cascadia Mono",Consolas,monospace}'
    "pre{background:#f6f8fa;border:1px solid #d8dce1;border-radius:4px;padding:8px;"
    "overflow:auto;margin:6px 0;white-space:pre-wrap;overflow-wrap:anywhere}"
    ".step{border-top:1px solid #e4e7eb;padding-top:10px;margin-top:10px}"
    ".step:first-child{border-top:0;padding-top:0;margin-top:0}"
    ".m{font-weight:700;color:#0b5cad}"
    ".add{background:#e6ffec;color:#116329;display:block}"
    ".del{background:#ffebe9;color:#82071e;display:block}"
    ".ctx{display:block;color:#57606a}"
    ".cols{display:grid;grid-template-columns:1fr 1fr;gap:12px}"
    ".warn{background:#fff8c5;border-color:#d4a72c}"
    ".ok{background:#dafbe1;border-color:#4ac26b}"
    ".bad{background:#ffebe9;border-color:#ff8182}"
    "textarea{width:100%;box-sizing:border-box;min-height:70px;font:inherit}"
    "button{font:inherit;padding:8px 18px;margin:10px 10px 0 0;border-radius:6px;"
    "border:1px solid #8c959f;cursor:pointer}"
    ".approve{background:#1f883d;color:#fff;border-color:#1a7f37}"
    ".reject{background:#cf222e;color:#fff;border-color:#a40e26}"
    ".accept{background:#fff;color:#1b1f24}"
    "small{color:#57606a}"
)
_STYLE = PageStyle(STYLE, form_action="'self'")
CSP = _STYLE.csp
_MAX_SHOWN = 20_000


def security_headers() -> dict[str, str]:
    """The headers every approval page is sent with."""
    return _STYLE.headers()


def _e(value: Any) -> str:
    return escape(value, _MAX_SHOWN, count=True)


def _name(value: Any) -> str:
    return f"<bdi>{_e(value)}</bdi>" if value else "<i>unknown</i>"


def _when(moment: datetime | str) -> str:
    if isinstance(moment, datetime):
        return _e(moment.isoformat(timespec="seconds").replace("+00:00", "Z"))
    return _e(moment) if moment else "<i>unknown</i>"


def _document(title: str, body: str) -> str:
    return _STYLE.document(title, body)


def _pretty(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return value.splitlines()
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str).splitlines()


def _diff(before: Sequence[str], after: Sequence[str]) -> str:
    lines = []
    for line in difflib.ndiff(list(before), list(after)):
        mark, text = line[:1], line[2:]
        if mark == "?":
            continue
        css = {"+": "add", "-": "del"}.get(mark, "ctx")
        lines.append(f'<span class="{css}">{_e(mark or " ")} {_e(text)}</span>')
    return f'<pre class="diff">{"".join(lines)}</pre>'


def _step(step: Mapping[str, Any], number: int) -> str:
    method, url = step.get("method", ""), step.get("url", "")
    parts = [
        f'<div class="step"><div>{number}. <span class="m">{_e(method)}</span> '
        f"<code>{_e(url)}</code></div>"
    ]
    body, before = step.get("body"), step.get("before")
    if "before" in step:
        parts.append("<div><small>Before (live) → after (baseline):</small></div>")
        parts.append(_diff(_pretty(before), _pretty(body)))
    elif body is not None:
        parts.append("<div><small>Body sent (the baseline value):</small></div>")
        parts.append(f"<pre>{_e(chr(10).join(_pretty(body)))}</pre>")
    parts.append("</div>")
    return "".join(parts)


def _changes(changes: list[Any]) -> str:
    """What drifted, setting by setting: the live value (before) and the baseline's (after
    the rollback), as a diff."""
    before: list[str] = []
    after: list[str] = []
    for change in changes:
        if not isinstance(change, Mapping):
            continue
        path = str(change.get("path", "")) or "(the setting)"
        for side, key in ((before, "actual"), (after, "expected")):
            value = change.get(key)
            side.append(f"{path}: {'(absent)' if value is None else _json(value)}")
    if not before:
        return ""
    return (
        '<h2>What drifted</h2><div class="card"><div><small>Live now → the baseline '
        f"(what the rollback restores):</small></div>{_diff(before, after)}</div>"
    )


def _json(value: Any) -> str:

    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)[:2000]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def confirmation_page(request: ApprovalRequest, *, form_value: str, viewer: str) -> Page:
    """The page a link opens: what drifted, who changed it, the plan, and the form."""
    plan = request.plan
    steps = _list(plan.get("steps"))
    permissions = _list(plan.get("permissions"))
    approved = request.approvers_of("approve")
    accepted = request.approvers_of("accept")
    so_far = ", ".join(_name(d.upn or d.object_id) for d in approved) or "nobody yet"
    accepts = ", ".join(_name(d.upn or d.object_id) for d in accepted)
    step_html = (
        "".join(_step(s, n) for n, s in enumerate(steps, start=1) if isinstance(s, Mapping))
        or "<p><i>The plan has no steps.</i></p>"
    )
    perms = "".join(f"<li><code>{_e(p)}</code></li>" for p in permissions)
    changed = _changes(_list(plan.get("changes")))
    body = f"""
<h1>Roll back a drifted setting?</h1>
<p><small>Signed in as {_name(viewer)}. Nothing changes until you press a button.</small></p>
<div class="card"><dl>
<dt>Resource</dt><dd><code>{_e(request.resource)}</code></dd>
<dt>Rule (baseline)</dt><dd>{_name(request.rule)} <small>{_e(request.baseline)}</small></dd>
<dt>Kind</dt><dd>{_e(request.kind)}</dd>
<dt>Changed by</dt><dd>{_name(request.drift_actor)}</dd>
<dt>Changed at</dt><dd>{_when(request.drift_time)}</dd>
<dt>Approvals required</dt><dd>{request.required}</dd>
<dt>Approved so far</dt><dd>{so_far}</dd>
{f"<dt>Accepted so far</dt><dd>{accepts}</dd>" if accepts else ""}
<dt>Link expires</dt><dd>{_when(request.expires_at)}</dd>
</dl></div>
{changed}
<h2>The rollback plan</h2>
<div class="card">{step_html}
{f"<h2>Permissions it uses</h2><ul>{perms}</ul>" if perms else ""}</div>
<h2>Your decision</h2>
<form class="card" method="post" autocomplete="off">
<input type="hidden" name="form" value="{_e(form_value)}">
<label for="comment">Comment or ticket number (optional)</label>
<textarea id="comment" name="comment" maxlength="500"></textarea>
<button class="approve" type="submit" name="decision" value="approve">Approve rollback</button>
<button class="reject" type="submit" name="decision" value="reject">Reject</button>
<button class="accept" type="submit" name="decision" value="accept">Accept the change as
intended</button>
<p><small><b>Approve</b> restores the baseline. <b>Reject</b> leaves the change and closes
this request. <b>Accept</b> marks the change as intended: the baseline is to be updated.</small></p>
</form>"""
    return Page(200, _document("driftkeeper: roll back?", body), security_headers())


def message_page(
    status_code: int, title: str, message: str, *, tone: str = "warn", listing: str = ""
) -> Page:
    """A page that only says something (a refusal, a decision taken), with an optional
    preformatted ``listing`` (a proposed baseline file)."""
    css = tone if tone in ("warn", "ok", "bad") else "warn"
    pre = f"<pre>{_e(listing)}</pre>" if listing else ""
    body = f'<h1>{_e(title)}</h1><div class="card {css}"><p>{_e(message)}</p>{pre}</div>'
    return Page(status_code, _document(f"driftkeeper: {title}", body), security_headers())
