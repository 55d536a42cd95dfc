"""What the booking conversation says: LINE message dicts built from bookings and free times.

Booking messages are dynamic (days, times, a runner's own bookings), so they are built here rather than
in a flow file; every label stays within LINE's 20 characters and every tap is a short postback.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from bot.config.clinic import Clinic
from bot.features.booking import slots
from bot.features.booking.store import Booking

Message = dict[str, Any]
#: A darker green than LINE's #06C755: white button text on it reads at 5.5:1 (WCAG AA needs 4.5:1).
BRAND_GREEN = "#047A34"
#: Quick replies per message (LINE allows 13): room for the choices plus "more" and "back".
PAGE = 11


def data(action: str, **params: str | int | None) -> str:
    """Postback data for a booking action, e.g. ``a=booking.day&d=2030-06-03``."""
    return urlencode({"a": action, **{k: v for k, v in params.items() if v is not None}})


def postback(label: str, action: str, **params: str | int | None) -> dict[str, Any]:
    return {"type": "postback", "label": label, "data": data(action, **params), "displayText": label}


def with_quick_replies(message: Message, actions: list[dict[str, Any]]) -> Message:
    if actions:
        message["quickReply"] = {"items": [{"type": "action", "action": a} for a in actions[:13]]}
    return message


def text(body: str, actions: list[dict[str, Any]] | None = None) -> Message:
    return with_quick_replies({"type": "text", "text": body}, actions or [])


def card(title: str, lines: list[str], buttons: list[dict[str, Any]]) -> Message:
    """A small flex card: a title, a few lines, and buttons a person can read."""
    body: list[dict[str, Any]] = [{"type": "text", "text": title, "weight": "bold", "size": "lg", "wrap": True}]
    body += [{"type": "text", "text": line, "wrap": True, "size": "md", "margin": "md"} for line in lines]
    contents: dict[str, Any] = {"type": "bubble", "body": {"type": "box", "layout": "vertical",
                                                            "contents": body}}
    if buttons:
        contents["footer"] = {"type": "box", "layout": "vertical", "spacing": "sm", "contents": [
            {"type": "button", "height": "sm", "style": "primary" if i == 0 else "secondary",
             **({"color": BRAND_GREEN} if i == 0 else {}), "action": action}
            for i, action in enumerate(buttons)
        ]}
    return {"type": "flex", "altText": f"{title}\n" + "\n".join(lines)[:300], "contents": contents}


def choose_day(days: list[dt.date], moving: str | None) -> Message:
    """The days with a free slot; the rest behind 「もっと先の日」."""
    shown = days[:PAGE + 1] if len(days) <= PAGE + 1 else days[:PAGE]
    actions = [postback(slots.day_label(d), "booking.day", d=d.isoformat(), m=moving) for d in shown]
    if len(days) > len(shown):
        actions.append(postback("もっと先の日", "booking.start", after=shown[-1].isoformat(), m=moving))
    return text("ご希望の日を\nお選びください。\n(空きのある日だけです)", actions)


def choose_time(clinic: Clinic, day: dt.date, starts: list[dt.datetime], moving: str | None) -> Message:
    """The free times of one day; later ones behind 「もっと遅い時間」, and a way back to the days."""
    shown = starts[:PAGE]
    actions = [postback(f"{s:%H:%M}", "booking.time", s=slots.epoch(s), m=moving) for s in shown]
    if len(starts) > len(shown):
        actions.append(postback("もっと遅い時間", "booking.day", d=day.isoformat(),
                                after=slots.epoch(shown[-1]), m=moving))
    actions.append(postback("別の日を選ぶ", "booking.start", m=moving))
    return text(f"{slots.day_label(day)}の空き時間です。\nご希望の時間を\nお選びください。", actions)


def summary(clinic: Clinic, start: dt.datetime, confirm: dict[str, Any], moving: str | None) -> Message:
    """The last look before booking: day and time, what the visit is, where."""
    title = "変更後の日時の確認" if moving else "ご予約内容の確認"
    lines = [f"日時:{slots.when_label(clinic, start)}", f"内容:{clinic.booking.first_visit}",
             f"場所:{clinic.name}"]
    again = postback("時間を選び直す", "booking.day", d=start.date().isoformat(), m=moving)
    return card(title, lines, [confirm, again])


def booked(clinic: Clinic, booking: Booking) -> Message:
    start = slots.from_epoch(clinic, booking.start)
    return text(
        "ご予約を承りました。\nありがとうございます。\n\n"
        f"日時:{slots.when_label(clinic, start)}\n内容:{clinic.booking.first_visit}\n"
        f"場所:{clinic.name}\n{clinic.address}\n\n"
        "前日にリマインドをお送りします。\n変更・キャンセルは\n「予約確認」からどうぞ。",
        [postback("予約確認", "booking.list")],
    )


def already_booked(clinic: Clinic, booking: Booking) -> Message:
    start = slots.from_epoch(clinic, booking.start)
    return text(f"このご予約は、すでに\n承っています。\n\n日時:{slots.when_label(clinic, start)}",
                [postback("予約確認", "booking.list")])


def moved(clinic: Clinic, booking: Booking) -> Message:
    start = slots.from_epoch(clinic, booking.start)
    return text(f"日時を変更しました。\n\n新しい日時:\n{slots.when_label(clinic, start)}\n\n"
                "前日にリマインドをお送りします。", [postback("予約確認", "booking.list")])


def just_taken(clinic: Clinic, nearest: list[dt.datetime], moving: str | None) -> Message:
    """Kind words when someone else took the slot first, and the nearest free times."""
    if not nearest:
        return no_free_slots(clinic)
    actions = [postback(f"{slots.day_label(s.date())} {s:%H:%M}", "booking.time", s=slots.epoch(s), m=moving)
               for s in nearest]
    actions.append(postback("別の日を選ぶ", "booking.start", m=moving))
    return text("申し訳ありません。\nその時間は、たった今\nほかの方のご予約で\n埋まってしまいました。\n\n"
                "近い空き時間です。\nよろしければお選びください。", actions)


def no_free_slots(clinic: Clinic) -> Message:
    return text(f"申し訳ありません。\nただいまご予約いただける\n空き時間がありません。\n\n"
                f"お電話でもご相談を\n承っています。\n{clinic.phone}")


def booking_list(clinic: Clinic, bookings: list[Booking], changeable: list[bool]) -> list[Message]:
    """One card per upcoming booking, with change and cancel buttons while the deadline allows."""
    if not bookings:
        return [text("現在、ご予約はありません。", [postback("予約する", "booking.start")])]
    shown = list(zip(bookings, changeable, strict=True))[:4]
    messages: list[Message] = [text(f"ご予約は{len(bookings)}件です。")]
    for booking, can_change in shown:
        start = slots.from_epoch(clinic, booking.start)
        lines = [slots.when_label(clinic, start), clinic.booking.first_visit]
        if can_change:
            buttons = [postback("日時を変更する", "booking.move", id=booking.id),
                       postback("キャンセルする", "booking.cancel", id=booking.id)]
        else:
            lines.append(too_late_words(clinic))
            buttons = []
        messages.append(card("ご予約", lines, buttons))
    return messages


def ask_cancel(clinic: Clinic, booking: Booking) -> Message:
    start = slots.from_epoch(clinic, booking.start)
    return text(f"{slots.when_label(clinic, start)}\nのご予約を\nキャンセルしますか?",
                [postback("はい、キャンセルする", "booking.cancel", id=booking.id, ok=1),
                 postback("やめておく", "booking.list")])


def cancelled(clinic: Clinic, booking: Booking) -> Message:
    start = slots.from_epoch(clinic, booking.start)
    return text(f"ご予約をキャンセルしました。\n({slots.when_label(clinic, start)})\n\n"
                "またいつでもご予約ください。", [postback("予約する", "booking.start")])


def too_late_words(clinic: Clinic) -> str:
    hours = clinic.booking.cancel_deadline_hours
    return (f"ご予約の{hours}時間前を過ぎたため、\nチャットでは変更・キャンセルが\nできません。"
            f"\nお手数ですが、お電話ください。\n{clinic.phone}")


def too_late(clinic: Clinic) -> Message:
    return text(too_late_words(clinic))


def not_found() -> Message:
    return text("そのご予約は見つかりませんでした。\n「予約確認」で、いまの\nご予約をご覧いただけます。",
                [postback("予約確認", "booking.list")])


def already_cancelled() -> Message:
    return text("このご予約は、すでに\nキャンセルされています。", [postback("予約する", "booking.start")])


def reminder(clinic: Clinic, booking: Booking) -> Message:
    start = slots.from_epoch(clinic, booking.start)
    return text(f"明日はご予約の日です。\n\n日時:{slots.when_label(clinic, start)}\n場所:{clinic.name}\n"
                f"{clinic.address}\n\nお気をつけてお越しください。\nご都合が悪くなった時は\n"
                f"お電話ください。\n{clinic.phone}", [postback("予約確認", "booking.list")])


def staff_notice(clinic: Clinic, booking: Booking, did: str) -> Message:
    """For the clinic's staff: what changed, when, and the booking's id to find it in the admin API."""
    start = slots.from_epoch(clinic, booking.start)
    heading = {"booked": "【新規予約】", "moved": "【予約変更】", "cancelled": "【キャンセル】"}[did]
    lines = [heading, slots.when_label(clinic, start)]
    if did == "moved":
        before = booking.history[-1].get("from")
        if isinstance(before, int):
            lines.append(f"(変更前 {slots.when_label(clinic, slots.from_epoch(clinic, before))})")
    lines += [f"予約ID:{booking.id}", f"LINE:{booking.user_id}"]
    return text("\n".join(lines))


def staff_update_for_runner(clinic: Clinic, booking: Booking, did: str) -> Message:
    """Told to the runner when staff confirm or cancel their booking."""
    when = slots.when_label(clinic, slots.from_epoch(clinic, booking.start))
    if did == "cancelled":
        return text(f"{clinic.name}です。\n{when}のご予約は、\n誠に申し訳ありませんが\n"
                    f"キャンセルとなりました。\n\nご不明な点はお電話ください。\n{clinic.phone}",
                    [postback("別の日を予約する", "booking.start")])
    return text(f"{clinic.name}です。\n{when}のご予約を\n確認いたしました。\nお待ちしています。")
