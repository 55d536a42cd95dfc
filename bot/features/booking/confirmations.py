"""What the bot tells once a booking exists: the confirmation, the reminder, staff notices, changes by staff
and waitlist offers.

Every promise here is checked against the booking it is about: a reminder is promised only when one is
scheduled, and changing in the chat only while the deadline allows — otherwise the runner is told to call.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.features.booking import slots
from bot.features.booking.messages import Message, postback, text
from bot.features.booking.service import BookingService
from bot.features.booking.store import PENDING, Booking


def details(svc: BookingService, booking: Booking, *, address: bool = True) -> list[str]:
    """日時, メニュー, 担当 (when practitioners have names) and 場所, as the runner reads them."""
    clinic = svc.clinic
    menu = svc.menu_of(booking)
    start = slots.from_epoch(clinic, booking.start)
    lines = [f"日時:{slots.when_label(clinic, start, menu.minutes)}", f"メニュー:{menu.name}"]
    name = svc.practitioner_name(booking)
    if name:
        lines.append(f"担当:{name}")
    lines.append(f"場所:{clinic.name}" + (f"\n{clinic.address}" if address else ""))
    return lines


def bring_words(svc: BookingService) -> list[str]:
    bring = svc.clinic.booking.what_to_bring.strip()
    return [f"【服装・持ち物】\n{bring}"] if bring else []


def promises(svc: BookingService, booking: Booking) -> list[str]:
    """Only what is true for this booking: its reminder (or none), and how it may be changed."""
    clinic = svc.clinic
    due = svc.reminder_due(booking)
    said = [f"{due.month}/{due.day} {due.hour}時ごろに\nリマインドをお送りします。" if due is not None
            else "ご予約が近いため、\nリマインドはお送りしません。"]
    hours = clinic.booking.cancel_deadline_hours
    if svc.changeable(booking):
        said.append(f"変更・キャンセルは\n「予約確認」からどうぞ。\n(ご予約の{hours}時間前まで)")
    else:
        said.append(f"ご予約の{hours}時間前を\n過ぎているため、変更や\nキャンセルはお電話で\nお願いします。\n{clinic.phone}")
    return said


def after_booking_actions(svc: BookingService) -> list[dict[str, Any]]:
    actions: list[dict[str, Any]] = [postback("予約確認", "booking.list")]
    if svc.clinic.url:
        actions.append({"type": "uri", "label": "地図・アクセス", "uri": svc.clinic.url})
    return actions


def booked(svc: BookingService, booking: Booking) -> Message:
    head = ("仮予約を承りました。\nスタッフが確認して、\n確定をご連絡します。" if booking.status == PENDING
            else "ご予約を承りました。\nありがとうございます。")
    blocks = ["\n".join(details(svc, booking)), *bring_words(svc), *promises(svc, booking)]
    return text(head + "\n\n" + "\n\n".join(blocks), after_booking_actions(svc))


def already_booked(svc: BookingService, booking: Booking) -> Message:
    when = slots.when_label(svc.clinic, slots.from_epoch(svc.clinic, booking.start), svc.minutes_of(booking))
    return text(f"このご予約は、すでに\n承っています。\n\n日時:{when}", [postback("予約確認", "booking.list")])


def moved(svc: BookingService, booking: Booking) -> Message:
    start = slots.from_epoch(svc.clinic, booking.start)
    when = slots.when_label(svc.clinic, start, svc.minutes_of(booking))
    return text(f"日時を変更しました。\n\n新しい日時:\n{when}\n\n" + "\n\n".join(promises(svc, booking)),
                [postback("予約確認", "booking.list")])


def reminder(svc: BookingService, booking: Booking) -> Message:
    clinic = svc.clinic
    blocks = ["明日はご予約の日です。", "\n".join(details(svc, booking)), *bring_words(svc),
              f"お気をつけてお越しください。\nご都合が悪くなった時は\nお電話ください。\n{clinic.phone}"]
    return text("\n\n".join(blocks), after_booking_actions(svc))


def staff_notice(svc: BookingService, booking: Booking, did: str) -> Message:
    """For the clinic's staff: what changed, when, who, and the booking's id to find it in the dashboard."""
    clinic = svc.clinic
    heading = {"booked": "【新規予約】", "moved": "【予約変更】", "cancelled": "【キャンセル】"}[did]
    if did == "booked" and booking.status == PENDING:
        heading = "【仮予約・要確認】"
    menu = svc.menu_of(booking)
    lines = [heading, slots.when_label(clinic, slots.from_epoch(clinic, booking.start), menu.minutes)]
    if did == "moved":
        before = booking.history[-1].get("from")
        if isinstance(before, int):
            lines.append(f"(変更前 {slots.when_label(clinic, slots.from_epoch(clinic, before), menu.minutes)})")
    lines.append(menu.name + (f" / 担当 {svc.practitioner_name(booking)}" if svc.practitioner_name(booking) else ""))
    lines += [f"お名前:{booking.name or '(未入力)'}", f"予約ID:{booking.id}"]
    return text("\n".join(lines))


def staff_update_for_runner(svc: BookingService, booking: Booking, did: str) -> Message:
    """Told to the runner when staff confirm, cancel or move their booking."""
    clinic = svc.clinic
    when = slots.when_label(clinic, slots.from_epoch(clinic, booking.start), svc.minutes_of(booking))
    if did == "cancelled":
        return text(f"{clinic.name}です。\n{when}のご予約は、\n誠に申し訳ありませんが\n"
                    f"キャンセルとなりました。\n\nご不明な点はお電話ください。\n{clinic.phone}",
                    [postback("別の日を予約する", "booking.start")])
    if did == "moved":
        return text(f"{clinic.name}です。\nご予約の日時を変更しました。\n\n新しい日時:\n{when}\n\n"
                    + "\n\n".join(promises(svc, booking)), [postback("予約確認", "booking.list")])
    if did == "booked":
        return text(f"{clinic.name}です。\nお電話でのご予約を承りました。\n\n" + "\n".join(details(svc, booking))
                    + f"\n予約ID:{booking.id}\n\n" + "\n\n".join(promises(svc, booking)),
                    after_booking_actions(svc))
    if booking.history and booking.history[0].get("by") == "runner" and clinic.booking.approval:
        return text(f"{clinic.name}です。\n{when}のご予約が\n確定しました。\nお待ちしています。",
                    after_booking_actions(svc))
    return text(f"{clinic.name}です。\n{when}のご予約を\n確認いたしました。\nお待ちしています。")


def waitlist_offer(svc: BookingService, start: dt.datetime, minutes: int, until: dt.datetime,
                   booking_params: dict[str, str | int | None], release: dict[str, str | int | None]) -> Message:
    when = slots.when_label(svc.clinic, start, minutes)
    return text(f"キャンセル待ちの\nお知らせです。\n\n{when}\nに空きが出ました。\n\n"
                f"{until:%H:%M}まで、あなたのために\nお席を確保しています。\nご予約なさいますか?",
                [postback("この日時で予約する", "booking.time", **booking_params),
                 postback("今回は見送る", "booking.pass", **release)])


def waitlist_joined(label: str, hold_minutes: int) -> Message:
    return text(f"キャンセル待ちに\n登録しました。\n({label})\n\n空きが出たら、登録順に\nLINEでお知らせします。"
                f"\nお知らせから{hold_minutes}分間、\nお席を確保します。", [postback("予約確認", "booking.list")])
