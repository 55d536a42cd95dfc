"""The funnel's charts: plain SVG built on the server, so the page requests nothing from anywhere.

Readable on a tablet: every label is at least 12 units high, and the stylesheet never draws a chart
narrower than its own width (a narrow screen scrolls it sideways instead), so text is never under 12 px.
Each bar carries its value in a ``<title>`` (a tooltip), and the page's table has the same numbers.
"""

from __future__ import annotations

import math

from bot.features.dashboard.funnel import COLUMNS, LABELS, Day, Stage

COLORS = {"friends": "#06C755", "checks_started": "#2F80ED", "checks_finished": "#1B5FC1",
          "videos_sent": "#9B51E0", "videos_watched": "#6D2DB0", "bookings_made": "#F2994A",
          "bookings_kept": "#B85F00", "red_flags": "#EB5757", "bookings_cancelled": "#8A8A8A",
          "returns": "#219653"}
INK, AXIS, GRID = "#333", "#555", "#e3e3e3"
FONT = 12
BAR_WIDTH, BAR_HEIGHT = 520, 200
FUNNEL_WIDTH = 640


def nice_ceiling(peak: int) -> int:
    """A round, even top for the y axis (2, 4, 6, 8, 10, 20, 40...) at or above ``peak``: its half, the
    middle grid line, is a whole number too."""
    magnitude = 1
    while True:
        for step in (2, 4, 6, 8, 10):
            if step * magnitude >= peak:
                return step * magnitude
        magnitude *= 10


def bar_chart(rows: list[Day], field: str, width: int = BAR_WIDTH, height: int = BAR_HEIGHT) -> str:
    """One metric per day as bars over a y axis (0, half, top, with grid lines) and dated x labels."""
    label = LABELS[field]
    pad_l, pad_r, pad_b, pad_t = 40, 10, 26, 28
    inner_w, inner_h = width - pad_l - pad_r, height - pad_b - pad_t
    top = nice_ceiling(max([r.values[field] for r in rows] + [0]))
    step = inner_w / max(len(rows), 1)
    bar_w = max(step * 0.7, 1.0)
    base = pad_t + inner_h
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{_esc(label)}(日別)" class="chart">',
        f'<text x="{pad_l}" y="17" font-size="{FONT + 2}" font-weight="bold" fill="{INK}">{_esc(label)}</text>',
    ]
    for value in (0, top // 2, top):
        y = base - inner_h * value / top
        parts.append(f'<line x1="{pad_l}" y1="{y:.1f}" x2="{width - pad_r}" y2="{y:.1f}" '
                     f'stroke="{AXIS if value == 0 else GRID}"/>')
        parts.append(f'<text x="{pad_l - 6}" y="{y + 4:.1f}" font-size="{FONT}" text-anchor="end" '
                     f'fill="{AXIS}">{value}</text>')
    label_every = max(1, math.ceil(len(rows) / 14))
    for i, row in enumerate(rows):
        value = row.values[field]
        h = inner_h * value / top
        x = pad_l + i * step + (step - bar_w) / 2
        parts.append(f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                     f'fill="{COLORS[field]}"><title>{row.day.month}/{row.day.day}: {value}</title></rect>')
        if i % label_every == 0:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{height - 8}" font-size="{FONT}" '
                         f'text-anchor="middle" fill="{AXIS}">{row.day.month}/{row.day.day}</text>')
    parts.append("</svg>")
    return "".join(parts)


def daily_charts(rows: list[Day]) -> list[tuple[str, str]]:
    """(label, SVG) per counter, in the table's order."""
    return [(label, bar_chart(rows, name)) for name, label in COLUMNS]


def funnel_chart(path: list[Stage], width: int = FUNNEL_WIDTH) -> str:
    """The path over the range: one bar per stage, its count, and its share of the stage before."""
    row_h, pad_l, pad_r = 34, 170, 150
    height = row_h * len(path) + 8
    peak = max([s.count for s in path] + [1])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" role="img" aria-label="期間の合計と段階ごとの移行率" class="chart funnel">']
    for i, stage in enumerate(path):
        y = 4 + i * row_h
        w = (width - pad_l - pad_r) * stage.count / peak
        rate = "" if stage.rate is None else f"(前の段階の {stage.rate:.0%})"
        parts.append(f'<text x="{pad_l - 8}" y="{y + 22}" font-size="{FONT + 1}" text-anchor="end" '
                     f'fill="{INK}">{_esc(stage.label)}</text>')
        parts.append(f'<rect x="{pad_l}" y="{y + 5}" width="{w:.1f}" height="{row_h - 10}" '
                     f'fill="{COLORS[stage.name]}"/>')
        parts.append(f'<text x="{pad_l + w + 6:.1f}" y="{y + 22}" font-size="{FONT + 1}" fill="{INK}">'
                     f'{stage.count}{_esc(rate)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
