"""What the bot says about the clinic, built from ``clinic.yaml``: opening hours, when staff will reply, the
answers to common questions (駐車場, 支払い方法, 保険, 服装・持ち物, キャンセル規定) and the map.

Texts only (LINE message dicts): the actions in :mod:`handlers.actions` say them. Every line stays within
what a small phone shows (flows/width.py); ``tests/test_clinic_answers.py`` measures them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.config.clinic import WEEKDAYS, Clinic
from flows.render import BRAND_GREEN

WEEKDAY_JA = dict(zip(WEEKDAYS, "月火水木金土日", strict=True))
#: FAQ topics answered from ``clinic.yaml``'s ``faq:`` block: topic → what the runner asked about.
FAQ_TOPICS = {"parking": "駐車場", "payment": "お支払い方法", "insurance": "保険", "clothing": "服装・持ち物"}
#: How far ahead to look for the next open day (a long holiday included).
LOOKAHEAD_DAYS = 31


def opening_hours_text(clinic: Clinic) -> str:
    lines = []
    for day in WEEKDAYS:
        hours = clinic.hours.get(day)
        when = f"{hours.open:%H:%M}〜{hours.close:%H:%M}" if hours else "定休日"
        lines.append(f"{WEEKDAY_JA[day]} {when}")
    return "\n".join(lines)


def day_ja(day: dt.date) -> str:
    return f"{day.month}月{day.day}日({WEEKDAY_JA[WEEKDAYS[day.weekday()]]})"


def _next_open(clinic: Clinic, today: dt.date) -> tuple[dt.date, dt.time] | None:
    for ahead in range(1, LOOKAHEAD_DAYS + 1):
        day = today + dt.timedelta(days=ahead)
        hours = clinic.opening(day)
        if hours is not None:
            return day, hours.open
    return None


def reply_when(clinic: Clinic, now: dt.datetime) -> str:
    """When staff will answer, from the clinic's hours: today while open, tomorrow at night."""
    local = now.astimezone(clinic.tz)
    today = clinic.opening(local.date())
    if today is not None and local.time() < today.close:
        if local.time() >= today.open:
            return f"本日の営業時間内({today.close:%H:%M}まで)に\n順番にお返事します。"
        return f"本日の営業時間({today.open:%H:%M}〜)に\nお返事します。"
    found = _next_open(clinic, local.date())
    if found is None:
        return "次の営業日にお返事します。"
    day, opens = found
    if day == local.date() + dt.timedelta(days=1):
        return f"明日の営業時間にお返事します。\n(明日は{opens:%H:%M}から営業です)"
    return f"{day_ja(day)}の\n営業時間にお返事します。"


def staff_request_text(clinic: Clinic, now: dt.datetime) -> str:
    return f"スタッフにお伝えしました。\nご用件を、このまま文字で\nお送りください。\n\n{reply_when(clinic, now)}"


def staff_received_text(clinic: Clinic, now: dt.datetime) -> str:
    """The runner's question after 「スタッフ」 is with staff: say so, and when they will hear back."""
    return (f"ありがとうございます。\nメッセージをスタッフに\nお伝えしました。\n{reply_when(clinic, now)}\n\n"
            f"お急ぎの時は、お電話で\nご連絡ください。\n{clinic.phone}")


def hours_text(clinic: Clinic, now: dt.datetime) -> str:
    local = now.astimezone(clinic.tz)
    today = clinic.opening(local.date())
    if today is None:
        status = "本日はお休みです。"
    elif local.time() < today.close:
        status = f"本日は{today.open:%H:%M}〜{today.close:%H:%M}の営業です。"
    else:
        status = "本日の営業は終了しました。"
    soon = [d for d in clinic.closed_dates if local.date() <= d <= local.date() + dt.timedelta(days=30)]
    closed = "\n\n■臨時休業\n" + "\n".join(day_ja(d) for d in soon) if soon else ""
    return f"■営業時間\n{opening_hours_text(clinic)}\n\n{status}{closed}"


def faq_text(clinic: Clinic, topic: str, now: dt.datetime) -> tuple[str, bool]:
    """The clinic's answer about ``topic``, and whether one was written (no answer: staff will reply)."""
    title = FAQ_TOPICS[topic]
    answer = clinic.faq.answer(topic)
    if answer:
        return f"■{title}\n{answer}", True
    return f"{title}について、\nスタッフに確認して\n{reply_when(clinic, now)}", False


def cancellation_text(clinic: Clinic) -> str:
    hours = clinic.booking.cancel_deadline_hours
    rule = (f"ご予約の{hours}時間前までは、\n「予約確認」から変更・\nキャンセルができます。\n"
            f"それ以降は、お電話で\nご連絡ください。\n{clinic.phone}")
    extra = clinic.faq.answer("cancellation")
    return f"■キャンセル規定\n{rule}" + (f"\n\n{extra}" if extra else "")


def map_message(clinic: Clinic) -> dict[str, Any]:
    """The address, how to get there, and a button that opens the clinic's page (the map) when there is one."""
    lines = [clinic.address] + ([clinic.access] if clinic.access else [])
    if not clinic.url:
        return {"type": "text", "text": "■場所\n" + "\n".join(lines)}
    body: list[dict[str, Any]] = [{"type": "text", "text": clinic.name, "weight": "bold", "size": "md", "wrap": True}]
    body += [{"type": "text", "text": line, "size": "sm", "wrap": True, "margin": "md"} for line in lines]
    button = {"type": "button", "style": "primary", "height": "sm", "color": BRAND_GREEN,
              "action": {"type": "uri", "label": "地図を開く", "uri": clinic.url}}
    bubble = {"type": "bubble", "body": {"type": "box", "layout": "vertical", "contents": body},
              "footer": {"type": "box", "layout": "vertical", "contents": [button]}}
    return {"type": "flex", "altText": f"{clinic.name}の地図: {clinic.address}"[:400], "contents": bubble}
