"""What the booking conversation says while a runner chooses: menus, practitioners, days, times, the 問診
and the summary; and their list of bookings. LINE message dicts built from bookings and free times.

Booking messages are dynamic (days, times, a runner's own bookings), so they are built here rather than
in a flow file; every label stays within LINE's 20 characters and every tap is a short postback. What the
bot promises after a booking (reminders, changes) is in :mod:`confirmations`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from bot.config.appointments import Menu, Practitioner
from bot.config.clinic import Clinic
from bot.features.booking import slots
from bot.features.booking.service import BookingService, Contact
from bot.features.booking.store import Booking

Message = dict[str, Any]
#: A darker green than LINE's #06C755: white button text on it reads at 5.5:1 (WCAG AA needs 4.5:1).
BRAND_GREEN = "#047A34"
#: Quick replies per message (LINE allows 13): room for the choices plus "more" and "back".
PAGE = 11
#: What 指名なし is called in postbacks.
ANY = "any"


@dataclass(frozen=True, slots=True)
class Pick:
    """What the runner has chosen so far, carried in every postback (nothing is kept between taps)."""

    menu: str = ""
    practitioner: str = ""  # a practitioner id, ANY (指名なし), or "" (not asked yet)
    moving: str | None = None  # the id of the booking being moved

    @classmethod
    def of(cls, params: dict[str, str]) -> Pick:
        return cls(params.get("mn", ""), params.get("p", ""), params.get("m") or None)

    def params(self) -> dict[str, str | int | None]:
        return {"mn": self.menu or None, "p": self.practitioner or None, "m": self.moving}

    @property
    def nominated(self) -> str | None:
        return self.practitioner if self.practitioner not in ("", ANY) else None


def data(action: str, **params: str | int | None) -> str:
    """Postback data for a booking action, e.g. ``a=booking.day&d=2030-06-03``."""
    return urlencode({"a": action, **{k: v for k, v in params.items() if v is not None}})


def postback(label: str, action: str, **params: str | int | None) -> dict[str, Any]:
    return {"type": "postback", "label": label, "data": data(action, **params), "displayText": label}


def picked(label: str, action: str, pick: Pick, **params: str | int | None) -> dict[str, Any]:
    """A postback that carries the runner's choices so far."""
    return postback(label, action, **{**pick.params(), **params})


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


def menu_line(menu: Menu) -> str:
    return f"{menu.name}({menu.minutes}分)" + (f" {menu.price}" if menu.price else "")


# --- choosing --------------------------------------------------------------------------------------------

def choose_menu(menus: list[Menu]) -> Message:
    lines = "\n".join(f"・{menu_line(m)}" for m in menus)
    return text(f"ご希望のメニューを\nお選びください。\n\n{lines}",
                [postback(m.name, "booking.start", mn=m.id) for m in menus[:PAGE]])


def choose_practitioner(staff: list[Practitioner], menu: str) -> Message:
    actions = [postback("指名なし", "booking.start", mn=menu, p=ANY)]
    actions += [postback(p.name, "booking.start", mn=menu, p=p.id) for p in staff[:PAGE]]
    return text("担当のご希望はありますか?\n(指名なしの方が、\n空きが多くなります)", actions)


def choose_day(days: list[dt.date], pick: Pick, *, waitable: bool = False) -> Message:
    """The days with a free slot; the rest behind 「もっと先の日」; 「キャンセル待ち」 when some are full."""
    room = PAGE - (1 if waitable else 0)
    shown = days[:room + 1] if len(days) <= room + 1 else days[:room]
    actions = [picked(slots.day_label(d), "booking.day", pick, d=d.isoformat()) for d in shown]
    if len(days) > len(shown):
        actions.append(picked("もっと先の日", "booking.start", pick, after=shown[-1].isoformat()))
    if waitable:
        actions.append(picked("キャンセル待ち", "booking.wait", pick))
    return text("ご希望の日を\nお選びください。\n(空きのある日だけです)", actions)


def choose_time(day: dt.date, starts: list[dt.datetime], pick: Pick) -> Message:
    """The free times of one day; later ones behind 「もっと遅い時間」, and a way back to the days."""
    shown = starts[:PAGE]
    actions = [picked(f"{s:%H:%M}", "booking.time", pick, s=slots.epoch(s)) for s in shown]
    if len(starts) > len(shown):
        actions.append(picked("もっと遅い時間", "booking.day", pick, d=day.isoformat(),
                              after=slots.epoch(shown[-1])))
    actions.append(picked("別の日を選ぶ", "booking.start", pick))
    return text(f"{slots.day_label(day)}の空き時間です。\nご希望の時間を\nお選びください。", actions)


def just_taken(nearest: list[dt.datetime], pick: Pick, clinic: Clinic) -> Message:
    """Kind words when someone else took the slot first, and the nearest free times."""
    if not nearest:
        return no_free_slots(clinic, pick)
    actions = [picked(f"{slots.day_label(s.date())} {s:%H:%M}", "booking.time", pick, s=slots.epoch(s))
               for s in nearest]
    actions.append(picked("別の日を選ぶ", "booking.start", pick))
    return text("申し訳ありません。\nその時間は、たった今\nほかの方のご予約で\n埋まってしまいました。\n\n"
                "近い空き時間です。\nよろしければお選びください。", actions)


def no_free_slots(clinic: Clinic, pick: Pick | None = None) -> Message:
    actions = [picked("キャンセル待ち", "booking.wait", pick)] if pick is not None and not pick.moving else []
    return text(f"申し訳ありません。\nただいまご予約いただける\n空き時間がありません。\n\n"
                f"お電話でもご相談を\n承っています。\n{clinic.phone}", actions)


# --- the 問診 and the summary ----------------------------------------------------------------------------

def ask_name(display_name: str | None, current: str | None, booking: dict[str, str | int | None]) -> Message:
    """Who the booking is for: the LINE name (or the one given before) in one tap, or typed."""
    known = current or display_name
    body = "ご予約のお名前を\n教えてください。\n\nこのままお名前を\n送ってください。"
    actions = [postback("やめる", "booking.contact", f="stop")]
    if known:
        body = (f"ご予約のお名前は\n「{known}」様で\nよろしいですか?\n\n違う場合は、お名前を\nそのまま送ってください。")
        actions.insert(0, postback("このお名前で進む", "booking.contact", f="name", use=1, **booking))
    return text(body, actions)


def bad_name() -> Message:
    return text("お名前として読み取れ\nませんでした。\n30文字までで、もう一度\n送ってください。",
                [postback("やめる", "booking.contact", f="stop")])


def ask_phone(current: str | None, booking: dict[str, str | int | None], *, again: bool = False) -> Message:
    """An optional phone number, for the day itself (the clinic may need to reach them)."""
    head = "電話番号として読み取れ\nませんでした。\n\n" if again else ""
    actions = [postback("電話番号なしで進む", "booking.contact", f="phone", skip=1, **booking)]
    if current:
        actions.insert(0, postback("登録済みの番号で進む", "booking.contact", f="phone", keep=1, **booking))
    return text(f"{head}当日ご連絡がつく\n電話番号を送ってください。\n(任意です)\n例:090-1234-5678", actions)


def stopped() -> Message:
    return text("ご予約の手続きを\n中止しました。", [postback("予約する", "booking.start")])


def summary(svc: BookingService, start: dt.datetime, menu: Menu, pick: Pick, contact: Contact | None,
            confirm: dict[str, Any]) -> Message:
    """The last look before booking: when, what, who with, for whom, where, and the cancellation policy."""
    clinic = svc.clinic
    lines = [f"日時:{slots.when_label(clinic, start, menu.minutes)}", f"メニュー:{menu_line(menu)}"]
    if clinic.booking.named_practitioners:
        chosen = clinic.booking.practitioner(pick.nominated)
        lines.append(f"担当:{chosen.name}(指名)" if chosen else "担当:指名なし")
    if contact is not None:
        lines.append(f"お名前:{contact.name} 様")
        lines.append(f"お電話:{contact.phone or 'なし'}")
    lines.append(f"場所:{clinic.name}")
    lines.append(policy_words(clinic))
    if clinic.booking.approval and not pick.moving:
        lines.append("スタッフが確認のうえ、\n確定をご連絡します。")
    buttons = [confirm, picked("時間を選び直す", "booking.day", pick, d=start.date().isoformat())]
    if not pick.moving:
        buttons.append(picked("お名前・電話を変える", "booking.contact", pick, f="name", s=slots.epoch(start)))
    return card("変更後の日時の確認" if pick.moving else "ご予約内容の確認", lines, buttons)


def policy_words(clinic: Clinic) -> str:
    policy = clinic.booking.cancellation_policy.strip()
    if policy:
        return f"【キャンセルについて】\n{policy}"
    hours = clinic.booking.cancel_deadline_hours
    return f"【キャンセルについて】\n変更・キャンセルは\nご予約の{hours}時間前まで\n「予約確認」からできます。"


# --- a runner's bookings ---------------------------------------------------------------------------------

def booking_list(svc: BookingService, bookings: list[Booking], waiting: list[str]) -> list[Message]:
    """One card per upcoming booking, with change and cancel buttons while the deadline allows."""
    clinic = svc.clinic
    if not bookings and not waiting:
        return [text("現在、ご予約はありません。", [postback("予約する", "booking.start")])]
    messages: list[Message] = [text(f"ご予約は{len(bookings)}件です。" if bookings else "キャンセル待ちの状況です。")]
    for booking in bookings[:3]:
        menu = svc.menu_of(booking)
        lines = [slots.when_label(clinic, slots.from_epoch(clinic, booking.start), menu.minutes), menu.name]
        if booking.status == "pending":
            lines.append("(スタッフの確認待ちです)")
        buttons: list[dict[str, Any]] = []
        if svc.changeable(booking):
            buttons = [postback("日時を変更する", "booking.move", id=booking.id),
                       postback("キャンセルする", "booking.cancel", id=booking.id)]
        else:
            lines.append(too_late_words(clinic))
        messages.append(card("ご予約", lines, buttons))
    if waiting:
        messages.append(text("キャンセル待ち:\n" + "\n".join(waiting[:5]),
                             [postback("キャンセル待ちをやめる", "booking.unwait")]))
    return messages


def ask_cancel(clinic: Clinic, booking: Booking, minutes: int) -> Message:
    start = slots.from_epoch(clinic, booking.start)
    return text(f"{slots.when_label(clinic, start, minutes)}\nのご予約を\nキャンセルしますか?",
                [postback("はい、キャンセルする", "booking.cancel", id=booking.id, ok=1),
                 postback("やめておく", "booking.list")])


def cancelled(clinic: Clinic, booking: Booking, minutes: int) -> Message:
    start = slots.from_epoch(clinic, booking.start)
    return text(f"ご予約をキャンセルしました。\n({slots.when_label(clinic, start, minutes)})\n\n"
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
