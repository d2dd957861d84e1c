"""Charts as inline SVG, drawn here (no script): shapes and escaped text only."""

from __future__ import annotations

from collections.abc import Sequence

from ._html import e, percent

__all__ = ["bars", "daily_share"]

_W, _H = 1000, 260
_LEFT, _BOTTOM, _TOP = 56, 34, 12


def daily_share(days: Sequence[tuple[str, float | None]]) -> str:
    """One bar per day: the share of compliant judgements (a gap where none was judged)."""
    if not days:
        return '<p class="muted">No day summarized in this period yet.</p>'
    plot_w, plot_h = _W - _LEFT - 8, _H - _BOTTOM - _TOP
    step = plot_w / len(days)
    width = max(step * 0.8, 1.0)
    parts = [
        f'<svg class="chart" viewBox="0 0 {_W} {_H}" role="img" '
        'aria-label="Daily share of compliant judgements">'
    ]
    for tick in (0.0, 0.5, 0.9, 1.0):
        y = _TOP + plot_h * (1 - tick)
        parts.append(
            f'<line class="grid" x1="{_LEFT}" y1="{y:.1f}" x2="{_W - 8}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{_LEFT - 6}" y="{y + 5:.1f}" text-anchor="end">'
            f"{tick * 100:.0f}%</text>"
        )
    for index, (day, share) in enumerate(days):
        x = _LEFT + index * step + (step - width) / 2
        if share is None:
            continue
        height = max(plot_h * share, 1.0)
        css = "ok" if share >= 0.95 else ("warn" if share >= 0.8 else "bad")
        parts.append(
            f'<rect class="day {css}" x="{x:.1f}" y="{_TOP + plot_h - height:.1f}" '
            f'width="{width:.1f}" height="{height:.1f}"><title>{e(day)}: {percent(share)}'
            "</title></rect>"
        )
    first, last = days[0][0], days[-1][0]
    parts.append(
        f'<text class="axis" x="{_LEFT}" y="{_H - 8}">{e(first)}</text>'
        f'<text class="axis" x="{_W - 8}" y="{_H - 8}" text-anchor="end">{e(last)}</text>'
        "</svg>"
    )
    return "".join(parts)


def bars(items: Sequence[tuple[str, int, str]], label: str) -> str:
    """Horizontal bars: (name, value, css class) each, scaled to the largest."""
    top = max((value for _, value, _ in items), default=0) or 1
    row_h, name_w, width = 44, 170, 600
    height = row_h * len(items) + 6
    parts = [
        f'<svg class="bars" viewBox="0 0 {width} {height}" role="img" aria-label="{e(label)}">'
    ]
    for index, (name, value, css) in enumerate(items):
        y = 4 + index * row_h
        length = (width - name_w - 70) * value / top
        parts.append(
            f'<text class="name" x="{name_w - 10}" y="{y + 30}" text-anchor="end">{e(name)}</text>'
            f'<rect class="{e(css)}" x="{name_w}" y="{y + 6}" width="{max(length, 2):.1f}" '
            f'height="{row_h - 14}"/>'
            f'<text class="value" x="{name_w + max(length, 2) + 8:.1f}" y="{y + 30}">{value}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
