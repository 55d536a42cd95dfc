"""Bookings made before menus and practitioners: given a practitioner's time, once, when the bot starts.

Older records counted seats per start in ``lb:{bookings}:taken`` and carried no practitioner. At start-up
each booking still ahead that holds a seat is given to a practitioner on shift (the same Lua script as a
move, so a record changed meanwhile is left to the next start), every booking is added to its runner's
visit index, and the old counter is dropped. ``lb:{bookings}:schema`` records that it was done, so later
start-ups read one key. Every record is rewritten in the current shape first (compare-and-set on the stored
JSON), so later changes' compare-and-set finds what it expects. Running it twice, or on two replicas at once,
changes nothing more.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.features.booking import slots
from bot.features.booking.service import BookingService
from bot.features.booking.store import RECORDS, TAG, Booking, visits_index

log = logging.getLogger(__name__)

SCHEMA = f"{TAG}:schema"
LEGACY_TAKEN = f"{TAG}:taken"
VERSION = "2"


async def migrate(service: BookingService) -> int:
    """Bring old records up to date; returns how many bookings were given a practitioner."""
    redis = service.bookings.redis
    if await redis.get(SCHEMA) == VERSION:
        return 0
    given = 0
    now = slots.epoch(service.now())
    async for _id, raw in redis.hscan_iter(RECORDS):
        booking = Booking.loads(raw)
        await redis.zadd(visits_index(booking.user_id), {booking.id: booking.start})
        if raw != booking.dumps() and await service.bookings.replace(raw, booking) != "ok":
            continue  # changed meanwhile (by a newer process): already in the new shape
        if booking.practitioner or not booking.active or booking.start < now:
            continue
        given += await _give_practitioner(service, booking)
    await redis.delete(LEGACY_TAKEN)
    await redis.set(SCHEMA, VERSION)
    if given:
        log.info("bookings given a practitioner", extra={"count": given})
    return given


async def _give_practitioner(service: BookingService, old: Booking) -> int:
    menu = service.menu_of(old)
    moment = slots.from_epoch(service.clinic, old.start)
    on_shift = await service.ordered_candidates(moment, menu, None) or list(service.clinic.booking.staff)
    new = replace(old, menu=menu.id, minutes=menu.minutes)
    cells = slots.cells(service.clinic, old.start, menu.minutes)
    written, _index = await service.bookings.move(
        old, moment.date(), [], [replace(new, practitioner=p.id) for p in on_shift], moment.date(), cells,
        now=slots.epoch(service.now()))
    if written != "ok":  # more bookings than practitioners then (the file changed): keep it, staff will see
        log.warning("a booking could not be given a free practitioner", extra={"booking_id": old.id})
        return 0
    return 1
