"""What can be offered: free times per menu and practitioner, full days for the waitlist, a runner's menus.

Reads the busy map once per question (one pipelined round trip for every practitioner and day) and leaves
the rules to :mod:`slots`. Nothing here writes: taking a seat is the store's Lua script, which checks again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from bot.config.appointments import Menu, Practitioner
from bot.config.clinic import Clinic
from bot.features.booking import slots
from bot.features.booking.store import ATTENDED, NO_SHOW, Booking, BookingStore

#: Staff may book a caller this far ahead, whatever ``days_ahead`` allows runners.
STAFF_DAYS_AHEAD = 90


class Availability:
    def __init__(self, bookings: BookingStore, clinic: Clinic, clock: Callable[[], dt.datetime]) -> None:
        self.bookings = bookings
        self.clinic = clinic
        self.clock = clock

    def now(self) -> dt.datetime:
        return self.clock().astimezone(self.clinic.tz)

    # --- menus and practitioners ---------------------------------------------------------------------

    @property
    def default_menu(self) -> Menu:
        return self.clinic.booking.menu_list[0]

    def menu_of(self, booking: Booking) -> Menu:
        """The booking's menu; one the clinic no longer lists keeps the booking's own length."""
        found = self.clinic.booking.menu(booking.menu)
        if found is not None:
            return found
        minutes = booking.minutes or self.clinic.booking.slot_minutes
        return self.default_menu.model_copy(update={"minutes": minutes}) if booking.menu == "" else Menu(
            id=booking.menu, name=booking.menu, minutes=minutes)

    def minutes_of(self, booking: Booking) -> int:
        return booking.minutes or self.clinic.booking.slot_minutes

    def cells_of(self, booking: Booking) -> list[int]:
        return slots.cells(self.clinic, booking.start, self.minutes_of(booking))

    def day_of(self, start: int) -> dt.date:
        return slots.from_epoch(self.clinic, start).date()

    def practitioner_name(self, booking: Booking) -> str | None:
        """The practitioner's name when practitioners have names (``None`` for unnamed seats)."""
        if not self.clinic.booking.named_practitioners:
            return None
        found = self.clinic.booking.practitioner(booking.practitioner)
        return found.name if found is not None else (booking.practitioner or None)

    async def visited(self, user_id: str) -> bool:
        """A past visit: marked 来院, or past, still standing and not marked 無断キャンセル."""
        now = slots.epoch(self.now())
        return any(b.attendance == ATTENDED or (b.active and b.start < now and b.attendance != NO_SHOW)
                   for b in await self.bookings.all_for(user_id))

    async def menus_for(self, user_id: str) -> list[Menu]:
        """The menus this runner is offered: first-visit ones, or repeat ones after a visit."""
        visit = "repeat" if await self.visited(user_id) else "first"
        menus = self.clinic.booking.menu_list
        return [m for m in menus if m.visits in (visit, "any")] or menus

    # --- free times ----------------------------------------------------------------------------------

    def candidates(self, practitioner: str | None) -> list[Practitioner]:
        staff = self.clinic.booking.staff
        return [p for p in staff if p.id == practitioner] if practitioner else list(staff)

    async def busy(self, days: list[dt.date]) -> dict[str, dict[int, str]]:
        return await self.bookings.busy([p.id for p in self.clinic.booking.staff], days)

    async def free_starts(self, day: dt.date | None = None, *, menu: Menu | None = None,
                          practitioner: str | None = None, user_id: str = "") -> list[dt.datetime]:
        """Times a runner may book (one ``day``, or every bookable day), soonest first."""
        now = self.now()
        days = [day] if day is not None else list(slots.bookable_days(self.clinic, now))
        busy = await self.busy(days)
        return slots.free_starts(self.clinic, now, busy, menu or self.default_menu, self.candidates(practitioner),
                                 day, user_id)

    async def days_to_offer(self, *, menu: Menu, practitioner: str | None, user_id: str
                            ) -> tuple[list[dt.date], list[dt.date]]:
        """(the days with a free time for ``user_id``, :meth:`full_days`) from one read of the calendar.

        Why: the booking start asked for both, and each read every practitioner's every bookable day (one
        HGETALL each, about 60) — the bench's costliest event (py-spy, ``python -m bench.tailprobe``).
        """
        now = self.now()
        busy = await self.busy(list(slots.bookable_days(self.clinic, now)))
        candidates = self.candidates(practitioner)
        mine = slots.days_with_free(self.clinic, now, busy, menu, candidates, user_id)
        anyone = slots.days_with_free(self.clinic, now, busy, menu, candidates) if user_id else mine
        return mine, slots.days_without(self.clinic, now, set(anyone), menu)

    async def full_days(self, *, menu: Menu | None = None, practitioner: str | None = None) -> list[dt.date]:
        """Open days ahead where this menu (with this practitioner) has no free time: the waitlist's days."""
        _free, full = await self.days_to_offer(menu=menu or self.default_menu, practitioner=practitioner,
                                               user_id="")
        return full

    async def nearest_free(self, wanted: dt.datetime, count: int = 6, *, menu: Menu | None = None,
                           practitioner: str | None = None, user_id: str = "") -> list[dt.datetime]:
        starts = await self.free_starts(menu=menu, practitioner=practitioner, user_id=user_id)
        return slots.nearest(starts, wanted, count)

    async def staff_starts(self, day: dt.date, menu: Menu, practitioner: str | None) -> list[dt.datetime]:
        """Times staff may give a caller on ``day``: any future grid start with a practitioner free."""
        now = self.now()
        busy = await self.busy([day])
        at = slots.epoch(now)
        return [s for s in slots.grid_starts(self.clinic, day, menu.minutes) if s > now
                and slots.free_practitioners(self.clinic, busy, s, menu.minutes, self.candidates(practitioner), at)]

    def staff_may_book(self, start: dt.datetime, minutes: int) -> bool:
        """Staff: any future grid start in opening hours, up to :data:`STAFF_DAYS_AHEAD` days ahead."""
        local = start.astimezone(self.clinic.tz)
        last_day = self.now().date() + dt.timedelta(days=STAFF_DAYS_AHEAD)
        return self.now() < local and local.date() <= last_day and \
            local in slots.grid_starts(self.clinic, local.date(), minutes)

    async def ordered_candidates(self, start: dt.datetime, menu: Menu, practitioner: str | None,
                                 prefer: str = "") -> list[Practitioner]:
        """Who could take this booking, on shift for all of it; the least busy that day first (``prefer``
        first of all: a moved booking keeps its practitioner when it can)."""
        on = [p for p in self.candidates(practitioner) if slots.on_shift(self.clinic, p, start, menu.minutes)]
        if len(on) < 2:
            return on
        busy = await self.busy([start.date()])
        return sorted(on, key=lambda p: (p.id != prefer, len(busy.get(p.id, {}))))
