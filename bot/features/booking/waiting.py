"""キャンセル待ち from the chat: pick a full day (and a time, or any time that day), stop waiting, and take
or pass on an offer. The offer itself is sent by the ``x-booking-offer`` handler (:mod:`notices`)."""

from __future__ import annotations

from bot.features.booking import confirmations, slots
from bot.features.booking import messages as say
from bot.features.booking.messages import Pick
from bot.features.booking.taps import date_param, int_param, service_of, waitlist_of
from bot.features.booking.waitlist import Hold
from flows.actions import ActionRegistry, Params
from flows.context import Conversation

actions = ActionRegistry()


@actions.register("booking.wait")
async def wait(conv: Conversation, params: Params) -> None:
    """No day: the full days. A day: its times, or any time. A day and ``s`` (or ``all=1``): join."""
    service, waitlist = service_of(conv), waitlist_of(conv)
    pick = Pick(params.get("mn", ""), params.get("p", ""))
    menu = service.clinic.booking.menu(pick.menu) or service.default_menu
    day = date_param(params, "d")
    full = await service.full_days(menu=menu, practitioner=pick.nominated)
    if day is None or day not in full:
        if not full:
            conv.say(say.text("いまは、満席の日が\nありません。\nご希望の日をお選びください。",
                              [say.picked("予約する", "booking.start", pick)]))
            return
        conv.say(say.text("キャンセル待ちをする日を\nお選びください。",
                          [say.picked(slots.day_label(d), "booking.wait", pick, d=d.isoformat())
                           for d in full[:say.PAGE]]))
        return
    start = int_param(params, "s")
    if start is None and params.get("all") != "1":
        times = slots.grid_starts(service.clinic, day, menu.minutes)
        bookable = [t for t in times if slots.is_bookable(service.clinic, service.now(), t, menu.minutes)]
        actions_ = [say.picked("この日ならいつでも", "booking.wait", pick, d=day.isoformat(), all=1)]
        actions_ += [say.picked(f"{t:%H:%M}", "booking.wait", pick, d=day.isoformat(), s=slots.epoch(t))
                     for t in bookable[:say.PAGE]]
        conv.say(say.text(f"{slots.day_label(day)}の\nご希望の時間は?", actions_))
        return
    entry = await waitlist.join(conv.user_id, day, start or 0, menu.id, pick.nominated or "")
    if entry is None:
        conv.say(say.text("キャンセル待ちは\n3件までです。\n「予約確認」から、ほかの\n登録をやめられます。",
                          [say.postback("予約確認", "booking.list")]))
        return
    conv.say(confirmations.waitlist_joined(waitlist.label(entry), service.clinic.booking.waitlist_hold_minutes))


@actions.register("booking.unwait")
async def unwait(conv: Conversation, params: Params) -> None:
    gone = await waitlist_of(conv).leave(conv.user_id)
    conv.say(say.text("キャンセル待ちを\nやめました。" if gone else "キャンセル待ちの登録は\nありません。",
                      [say.postback("予約する", "booking.start")]))


@actions.register("booking.pass")
async def pass_offer(conv: Conversation, params: Params) -> None:
    """「今回は見送る」: the held seat goes to the next waiting runner at once."""
    await waitlist_of(conv).pass_offer(conv.user_id, params.get("w", ""))
    conv.say(say.text("承知しました。\nまたのご予約を\nお待ちしています。",
                      [say.postback("予約する", "booking.start")]))


def offer(conv: Conversation, hold: Hold, menu: str, practitioner: str) -> None:
    service = service_of(conv)
    start = slots.from_epoch(service.clinic, hold.start)
    minutes = (service.clinic.booking.menu(menu) or service.default_menu).minutes
    params: dict[str, str | int | None] = {"s": hold.start, "mn": menu or None, "p": practitioner or say.ANY}
    conv.say(confirmations.waitlist_offer(service, start, minutes, slots.from_epoch(service.clinic, hold.until),
                                          params, {"w": hold.value.rsplit("|", 1)[-1]}))
