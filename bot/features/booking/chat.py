"""Booking from the chat: choose a day, a time, confirm; list, cancel and move one's own bookings.

Each tap is a postback naming one of these actions (``a=booking.day&d=…``); ``m=<booking id>`` rides along
while a runner is choosing the new time of a booking they are moving. Nothing is kept in the runner's
state between taps: every tap carries what it needs, so old buttons and double taps stay harmless.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from bot.features.booking import messages as say
from bot.features.booking import slots
from bot.features.booking.service import BookingService, Result
from bot.features.booking.store import Booking
from flows.actions import ActionRegistry, Params
from flows.context import Conversation

BOOKED_TAG = "booked"

actions = ActionRegistry()


def service_of(conv: Conversation) -> BookingService:
    return conv.deps.need(BookingService)


def confirm_nonce(event_id: str, start: int) -> str:
    """One per summary shown: every tap on that summary's confirm button is the same request."""
    return hashlib.sha256(f"{event_id}:{start}".encode()).hexdigest()[:16]


def _int(params: Params, name: str) -> int | None:
    try:
        return int(params[name])
    except (KeyError, ValueError):
        return None


def _date(params: Params, name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(params[name])
    except (KeyError, ValueError):
        return None


@actions.register("booking.start")
async def choose_day(conv: Conversation, params: Params) -> None:
    """The days with a free slot (after ``after`` when paging); for a move, ``m`` is the booking."""
    service = service_of(conv)
    moving = params.get("m")
    if moving and await _movable(conv, moving) is None:
        return
    days = await service.free_days()
    after = _date(params, "after")
    if after is not None:
        days = [d for d in days if d > after]
    conv.say(say.choose_day(days, moving) if days else say.no_free_slots(service.clinic))


@actions.register("booking.day")
async def choose_time(conv: Conversation, params: Params) -> None:
    service = service_of(conv)
    day = _date(params, "d")
    if day is None:
        await choose_day(conv, {})
        return
    moving = params.get("m")
    starts = await service.free_starts(day)
    after = _int(params, "after")
    if after is not None:
        starts = [s for s in starts if slots.epoch(s) > after]
    if not starts:
        noon = dt.datetime.combine(day, dt.time(12), service.clinic.tz)
        conv.say(say.just_taken(service.clinic, await service.nearest_free(noon), moving))
        return
    conv.say(say.choose_time(service.clinic, day, starts, moving))


@actions.register("booking.time")
async def show_summary(conv: Conversation, params: Params) -> None:
    service = service_of(conv)
    start = _int(params, "s")
    if start is None:
        await choose_day(conv, {})
        return
    moving = params.get("m")
    wanted = slots.from_epoch(service.clinic, start)
    if wanted not in await service.free_starts(wanted.date()):
        conv.say(say.just_taken(service.clinic, await service.nearest_free(wanted), moving))
        return
    if moving:
        confirm = say.postback("この日時に変更する", "booking.move", id=moving, s=start)
    else:
        confirm = say.postback("この内容で予約する", "booking.confirm", s=start,
                               r=confirm_nonce(conv.event_id, start))
    conv.say(say.summary(service.clinic, wanted, confirm, moving))


@actions.register("booking.confirm")
async def confirm(conv: Conversation, params: Params) -> None:
    """Store the booking first; only then is the runner told (the reply leaves after the commit)."""
    service = service_of(conv)
    start, nonce = _int(params, "s"), params.get("r", "")
    if start is None or not nonce:
        await choose_day(conv, {})
        return
    result = await service.reserve(conv.user_id, start, nonce, cause=conv.event_id)
    if result.outcome == "ok" and result.booking is not None:
        conv.state.add_tags([BOOKED_TAG])
        conv.say(say.booked(service.clinic, result.booking))
        _tell_staff(conv, result.booking, "booked")
    elif result.outcome == "again" and result.booking is not None:
        conv.say(say.already_booked(service.clinic, result.booking))
    else:
        wanted = slots.from_epoch(service.clinic, start)
        conv.say(say.just_taken(service.clinic, await service.nearest_free(wanted), None))


@actions.register("booking.list")
async def list_bookings(conv: Conversation, params: Params) -> None:
    service = service_of(conv)
    upcoming = await service.upcoming(conv.user_id)
    conv.say(*say.booking_list(service.clinic, upcoming, [service.changeable(b) for b in upcoming]))


@actions.register("booking.cancel")
async def cancel(conv: Conversation, params: Params) -> None:
    """No id: the list (each booking has its cancel button). An id: ask first. ``ok=1``: cancel."""
    service = service_of(conv)
    booking_id = params.get("id")
    if not booking_id:
        await list_bookings(conv, {})
        return
    if params.get("ok") != "1":
        booking = await _movable(conv, booking_id)
        if booking is not None:
            conv.say(say.ask_cancel(service.clinic, booking))
        return
    result = await service.cancel(booking_id, by="runner", cause=conv.event_id, user_id=conv.user_id)
    if result.outcome == "ok" and result.booking is not None:
        conv.say(say.cancelled(service.clinic, result.booking))
        _tell_staff(conv, result.booking, "cancelled")
        return
    _say_refusal(conv, result)


@actions.register("booking.move")
async def move(conv: Conversation, params: Params) -> None:
    """An id: choose the new day (then time). An id and ``s``: move it there."""
    service = service_of(conv)
    booking_id = params.get("id")
    if not booking_id:
        await list_bookings(conv, {})
        return
    start = _int(params, "s")
    if start is None:
        await choose_day(conv, {"m": booking_id})
        return
    result = await service.move(booking_id, conv.user_id, start, cause=conv.event_id)
    if result.outcome in ("ok", "again") and result.booking is not None:
        conv.say(say.moved(service.clinic, result.booking))
        if result.outcome == "ok":
            _tell_staff(conv, result.booking, "moved")
    elif result.outcome in ("full", "unavailable"):
        wanted = slots.from_epoch(service.clinic, start)
        conv.say(say.just_taken(service.clinic, await service.nearest_free(wanted), booking_id))
    else:
        _say_refusal(conv, result)


async def _movable(conv: Conversation, booking_id: str) -> Booking | None:
    """The runner's own active booking, still before the deadline; otherwise say why not."""
    service = service_of(conv)
    booking = await service.owned(conv.user_id, booking_id)
    if booking is None:
        conv.say(say.not_found())
    elif not booking.active:
        conv.say(say.already_cancelled())
    elif not service.changeable(booking):
        conv.say(say.too_late(service.clinic))
    else:
        return booking
    return None


def _say_refusal(conv: Conversation, result: Result) -> None:
    clinic = service_of(conv).clinic
    if result.outcome == "late":
        conv.say(say.too_late(clinic))
    elif result.outcome == "cancelled":
        conv.say(say.already_cancelled())
    else:
        conv.say(say.not_found())


def _tell_staff(conv: Conversation, booking: Booking, did: str) -> None:
    """Every new, moved and cancelled booking; the key makes a re-handled event push the same message."""
    clinic = service_of(conv).clinic
    for staff_id in clinic.staff_user_ids:
        conv.notify(staff_id, [say.staff_notice(clinic, booking, did)],
                    key=f"booking:{booking.id}:{did}:{len(booking.history)}:{staff_id}")
