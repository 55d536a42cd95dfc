"""Booking from the chat: choose a menu, a practitioner, a day, a time, confirm; list, cancel and move.

Each tap is a postback naming one of these actions (``a=booking.day&d=…``) and carrying what was chosen so
far (:class:`~bot.features.booking.messages.Pick`: ``mn`` menu, ``p`` practitioner, ``m`` the booking being
moved). Only the 問診's typed answers wait in the runner's state (see :mod:`intake`); every tap carries what
it needs, so old buttons and double taps stay harmless.
"""

from __future__ import annotations

import datetime as dt

from bot.delivery.profiles import Profiles
from bot.features.booking import confirmations, intake, slots
from bot.features.booking import contact as contacts
from bot.features.booking import messages as say
from bot.features.booking.messages import ANY, Pick
from bot.features.booking.service import Contact, Result
from bot.features.booking.store import Booking
from bot.features.booking.taps import BOOKED_TAG, date_param, int_param, keep_booked_tag, service_of
from bot.features.booking.waitlist import Waitlist
from flows.actions import ActionRegistry, Params
from flows.context import Conversation

actions = ActionRegistry()


@actions.register("booking.start")
async def choose_day(conv: Conversation, params: Params) -> None:
    """Menu (when several fit), practitioner (when there are names), then the days with a free time."""
    service = service_of(conv)
    pick = Pick.of(params)
    if pick.moving:
        booking = await _movable(conv, pick.moving)
        if booking is None:
            return
        pick = Pick(booking.menu, booking.practitioner if booking.nominated else ANY, booking.id)
    elif not pick.menu:
        menus = await service.menus_for(conv.user_id)
        if len(menus) > 1:
            conv.say(say.choose_menu(menus))
            return
        pick = Pick(menus[0].id, pick.practitioner)
    staff = service.clinic.booking.staff
    if not pick.practitioner and service.clinic.booking.named_practitioners and len(staff) > 1:
        conv.say(say.choose_practitioner(staff, pick.menu))
        return
    menu = service.clinic.booking.menu(pick.menu) or service.default_menu
    days, full = await service.days_to_offer(menu=menu, practitioner=pick.nominated, user_id=conv.user_id)
    after = date_param(params, "after")
    if after is not None:
        days = [d for d in days if d > after]
    if not days:
        conv.say(say.no_free_slots(service.clinic, pick))
        return
    waitable = not pick.moving and bool(full)
    conv.say(say.choose_day(days, pick, waitable=waitable))


@actions.register("booking.day")
async def choose_time(conv: Conversation, params: Params) -> None:
    service = service_of(conv)
    day, pick = date_param(params, "d"), Pick.of(params)
    if day is None:
        await choose_day(conv, {})
        return
    menu = service.clinic.booking.menu(pick.menu) or service.default_menu
    starts = await service.free_starts(day, menu=menu, practitioner=pick.nominated, user_id=conv.user_id)
    after = int_param(params, "after")
    if after is not None:
        starts = [s for s in starts if slots.epoch(s) > after]
    if not starts:
        noon = dt.datetime.combine(day, dt.time(12), service.clinic.tz)
        await _say_taken(conv, pick, noon)
        return
    conv.say(say.choose_time(day, starts, pick))


@actions.register("booking.time")
async def chose_time(conv: Conversation, params: Params) -> None:
    """A time: still free (for this runner) → the 問診 or straight to the summary."""
    service = service_of(conv)
    start, pick = int_param(params, "s"), Pick.of(params)
    if start is None:
        await choose_day(conv, {})
        return
    wanted = slots.from_epoch(service.clinic, start)
    menu = service.clinic.booking.menu(pick.menu) or service.default_menu
    free = await service.free_starts(wanted.date(), menu=menu, practitioner=pick.nominated, user_id=conv.user_id)
    if wanted not in free:
        await _say_taken(conv, pick, wanted)
    elif pick.moving:
        intake.show_summary(conv, pick, start)
    else:
        await intake.before_summary(conv, pick, start)


@actions.register("booking.confirm")
async def confirm(conv: Conversation, params: Params) -> None:
    """Store the booking first; only then is the runner told (the reply leaves after the commit)."""
    service = service_of(conv)
    start, nonce, pick = int_param(params, "s"), params.get("r", ""), Pick.of(params)
    if start is None or not nonce:
        await choose_day(conv, {})
        return
    who = contacts.stored(conv.state) or await _fallback_contact(conv)
    result = await service.reserve(conv.user_id, start, nonce, cause=conv.event_id, menu=pick.menu or None,
                                   practitioner=pick.nominated, contact=who)
    if result.outcome == "ok" and result.booking is not None:
        conv.state.add_tags([BOOKED_TAG])
        conv.say(confirmations.booked(service, result.booking))
        _tell_staff(conv, result.booking, "booked")
        waitlist = conv.deps.maybe(Waitlist)
        if waitlist is not None:
            await waitlist.leave(conv.user_id, service.day_of(start))
    elif result.outcome == "again" and result.booking is not None:
        conv.say(confirmations.already_booked(service, result.booking))
    else:
        await _say_taken(conv, pick, slots.from_epoch(service.clinic, start))


@actions.register("booking.list")
async def list_bookings(conv: Conversation, params: Params) -> None:
    service = service_of(conv)
    upcoming = await service.upcoming(conv.user_id)
    waitlist = conv.deps.maybe(Waitlist)
    waiting = [waitlist.label(e) for e in await waitlist.entries_for(conv.user_id)] if waitlist else []
    conv.say(*say.booking_list(service, upcoming, waiting))


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
            conv.say(say.ask_cancel(service.clinic, booking, service.minutes_of(booking)))
        return
    result = await service.cancel(booking_id, by="runner", cause=conv.event_id, user_id=conv.user_id)
    if result.outcome == "ok" and result.booking is not None:
        conv.say(say.cancelled(service.clinic, result.booking, service.minutes_of(result.booking)))
        _tell_staff(conv, result.booking, "cancelled")
        await keep_booked_tag(conv)
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
    start = int_param(params, "s")
    if start is None:
        await choose_day(conv, {"m": booking_id})
        return
    result = await service.move(booking_id, conv.user_id, start, cause=conv.event_id)
    if result.outcome in ("ok", "again") and result.booking is not None:
        conv.say(confirmations.moved(service, result.booking))
        if result.outcome == "ok":
            _tell_staff(conv, result.booking, "moved")
    elif result.outcome in ("full", "unavailable") and result.booking is not None:
        booking = result.booking
        pick = Pick(booking.menu, booking.practitioner if booking.nominated else ANY, booking.id)
        await _say_taken(conv, pick, slots.from_epoch(service.clinic, start))
    else:
        _say_refusal(conv, result)


async def _say_taken(conv: Conversation, pick: Pick, wanted: dt.datetime) -> None:
    service = service_of(conv)
    menu = service.clinic.booking.menu(pick.menu) or service.default_menu
    nearest = await service.nearest_free(wanted, menu=menu, practitioner=pick.nominated, user_id=conv.user_id)
    conv.say(say.just_taken(nearest, pick, service.clinic))


async def _fallback_contact(conv: Conversation) -> Contact | None:
    """A confirm without the 問診 (a button from before it existed): the LINE name, so staff know who."""
    profiles = conv.deps.maybe(Profiles)
    name = await profiles.display_name(conv.user_id) if profiles is not None else None
    return Contact(name=name) if name else None


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
    service = service_of(conv)
    for staff_id in service.clinic.staff_user_ids:
        conv.notify(staff_id, [confirmations.staff_notice(service, booking, did)],
                    key=f"booking:{booking.id}:{did}:{len(booking.history)}:{staff_id}")

