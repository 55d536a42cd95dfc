"""The funnel: how many friends reach a check, a video, a booking — per day, as counters.

Counting happens in a commit hook, after the consumer stored the event: one ``HINCRBY`` per new milestone on
``lb:{funnel}:<YYYY-MM-DD>`` (the clinic's local date). No scans, nothing on the webhook's path. A milestone
is a tag the event newly added, so a runner who restarts the check is not counted twice:
``friend`` (follow), ``check_started`` (entered the first question), ``check_done``, ``red_flag``,
``video_sent``, ``watched_video``. Bookings made and kept come from the booking records themselves.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.store import keys
from flows.context import Conversation

#: Counter field -> the tag whose first appearance counts.
TAG_FIELDS = {
    "friend": "friends",
    "check_started": "checks_started",
    "check_done": "checks_finished",
    "red_flag": "red_flags",
    "video_sent": "videos_sent",
    "watched_video": "videos_watched",
}
#: Column order and Japanese names for pages and CSV.
COLUMNS = [
    ("friends", "友だち追加"),
    ("checks_started", "チェック開始"),
    ("checks_finished", "チェック完了"),
    ("red_flags", "受診をすすめた"),
    ("videos_sent", "動画を送った"),
    ("videos_watched", "動画を見た"),
    ("bookings_made", "予約された"),
    ("bookings_kept", "来院(予約どおり)"),
]
#: Counters are kept a little over a year, for year-on-year comparison.
KEEP_SECONDS = 400 * 24 * 3600
MAX_RANGE_DAYS = 366


def day_key(day: dt.date) -> str:
    return f"{keys.PREFIX}:{{funnel}}:{day.isoformat()}"


def stage_count(conv: Conversation, pipe: Any) -> None:
    """Commit stage: queue one HINCRBY per milestone this event reached for the first time."""
    fields = [TAG_FIELDS[t] for t in conv.new_tags() if t in TAG_FIELDS]
    if not fields:
        return
    key = day_key(conv.now.date())
    for name in fields:
        pipe.hincrby(key, name, 1)
    pipe.expire(key, KEEP_SECONDS)


@dataclass(slots=True)
class Day:
    day: dt.date
    values: dict[str, int]


def days_between(first: dt.date, last: dt.date) -> list[dt.date]:
    if last < first:
        first, last = last, first
    span = min((last - first).days, MAX_RANGE_DAYS - 1)
    return [first + dt.timedelta(days=i) for i in range(span + 1)]


async def load(redis: Any, days: list[dt.date], bookings: Iterable[Any] = (), *, tz: dt.tzinfo,
               now: dt.datetime) -> list[Day]:
    """Counters for each day, with bookings made (by creation day) and kept (past, not cancelled)."""
    rows = [Day(d, {name: 0 for name, _ in COLUMNS}) for d in days]
    by_day = {row.day: row for row in rows}
    for row in rows:
        stored = await redis.hgetall(day_key(row.day))
        for name, value in stored.items():
            if name in row.values:
                row.values[name] = int(value)
    for booking in bookings:
        made = dt.datetime.fromtimestamp(booking.created_at, tz).date()
        if made in by_day:
            by_day[made].values["bookings_made"] += 1
        start = dt.datetime.fromtimestamp(booking.start, tz)
        kept = booking.active and getattr(booking, "attendance", None) != "no_show"  # 無断キャンセル is not kept
        if kept and start <= now and start.date() in by_day:
            by_day[start.date()].values["bookings_kept"] += 1
    return rows


def totals(rows: list[Day]) -> dict[str, int]:
    return {name: sum(r.values[name] for r in rows) for name, _ in COLUMNS}


def to_csv(rows: list[Day]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["日付", *[label for _, label in COLUMNS]])
    for row in rows:
        writer.writerow([row.day.isoformat(), *[row.values[name] for name, _ in COLUMNS]])
    writer.writerow(["合計", *totals(rows).values()])
    return out.getvalue()


# --- charts: plain SVG built on the server, so the page requests nothing from anywhere -------------------

COLORS = ["#06C755", "#2F80ED", "#9B51E0", "#EB5757", "#F2994A", "#F2C94C", "#219653", "#56CCF2"]


def bar_chart(rows: list[Day], field: str, label: str, color: str, width: int = 640, height: int = 180
              ) -> str:
    """One metric per day as bars, with the maximum on the axis and each value in a <title> tooltip."""
    pad_l, pad_b, pad_t = 36, 22, 22
    inner_w, inner_h = width - pad_l - 8, height - pad_b - pad_t
    peak = max([r.values[field] for r in rows] + [1])
    step = inner_w / max(len(rows), 1)
    bar_w = max(step * 0.7, 1.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{_esc(label)}" class="chart">',
        f'<text x="{pad_l}" y="15" font-size="13" fill="#333">{_esc(label)}</text>',
        f'<line x1="{pad_l}" y1="{pad_t + inner_h}" x2="{width - 8}" y2="{pad_t + inner_h}" stroke="#999"/>',
        f'<text x="{pad_l - 4}" y="{pad_t + 10}" font-size="11" text-anchor="end" fill="#666">{peak}</text>',
        f'<text x="{pad_l - 4}" y="{pad_t + inner_h}" font-size="11" text-anchor="end" fill="#666">0</text>',
    ]
    label_every = max(1, len(rows) // 10)
    for i, row in enumerate(rows):
        value = row.values[field]
        h = inner_h * value / peak
        x = pad_l + i * step + (step - bar_w) / 2
        y = pad_t + inner_h - h
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{color}">'
                     f'<title>{row.day.isoformat()}: {value}</title></rect>')
        if i % label_every == 0:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{height - 6}" font-size="10" text-anchor="middle" '
                         f'fill="#666">{row.day.month}/{row.day.day}</text>')
    parts.append("</svg>")
    return "".join(parts)


def funnel_chart(total: dict[str, int], width: int = 640) -> str:
    """The whole range as a funnel: one horizontal bar per step, widest first."""
    row_h, pad_l = 30, 150
    height = row_h * len(COLUMNS) + 8
    peak = max([*total.values(), 1])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="期間の合計" class="chart">']
    for i, (name, label) in enumerate(COLUMNS):
        y = 4 + i * row_h
        w = (width - pad_l - 60) * total[name] / peak
        parts.append(f'<text x="{pad_l - 8}" y="{y + 19}" font-size="13" text-anchor="end" fill="#333">'
                     f'{_esc(label)}</text>')
        parts.append(f'<rect x="{pad_l}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" '
                     f'fill="{COLORS[i % len(COLORS)]}"/>')
        parts.append(f'<text x="{pad_l + w + 6:.1f}" y="{y + 19}" font-size="13" fill="#333">{total[name]}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
