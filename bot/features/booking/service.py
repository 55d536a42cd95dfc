"""Booking rules on top of the store: what may be booked, cancelled, moved or marked, by whom, and until when.

Chat actions, the staff API and the dashboard all go through here, so the rules live in one place. The clock
is injectable (``clock``) so tests set the time instead of waiting for it.

What other features may call (kept stable; engineer-facing contract):

- ``await upcoming(user_id)`` — the runner's bookings still ahead that hold a seat, soonest first;
- ``await visit_history(user_id)`` — every past booking of the runner, newest first, each with ``status``
  and ``attendance`` (``attended`` 来院 / ``no_show`` 無断キャンセル / ``None`` not marked);
- ``await bookings_of(user_id)`` — all of them, any status, soonest first;
- ``menu_of(booking)``, ``practitioner_name(booking)`` — what staff read for a booking.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Literal

from bot.config.clinic import Clinic
from bot.features.booking import slots
from bot.features.booking.availability import Availability
from bot.features.booking.store import ATTENDED, CANCELLED, CONFIRMED, NO_SHOW, PENDING, Booking, BookingStore
from bot.ops import metrics
from bot.scheduling.scheduler import Job, Scheduler
from bot.store import Store

Outcome = Literal["ok", "again", "full", "unavailable", "late", "missing", "cancelled", "early"]
By = Literal["runner", "staff"]
#: A record changed between read and write is re-read and re-checked this many times.
CAS_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Result:
    outcome: Outcome
    booking: Booking | None = None


@dataclass(frozen=True, slots=True)
class Contact:
    """Who the booking is for: the name staff call them by, and a phone number if they gave one."""

    name: str = ""
    phone: str | None = None


def reminder_job_id(booking: Booking) -> str:
    """Includes the start: a moved booking's reminder is a new job, not one the inbox already saw."""
    return f"reminder:{booking.id}:{booking.start}"


class BookingService(Availability):
    def __init__(self, store: Store, clinic: Clinic, scheduler: Scheduler,
                 clock: Callable[[], dt.datetime] | None = None) -> None:
        super().__init__(BookingStore(store), clinic, clock or (lambda: dt.datetime.now(clinic.tz)))
        self.scheduler = scheduler
        #: Called after a seat is given back (a cancel, or the old time of a move): the waitlist listens.
        self.on_freed: list[Callable[[Booking], Awaitable[object]]] = []
        #: Work left from start-up (the store did not answer then): done before the next seat is taken.
        self.unfinished_setup: Callable[[], Awaitable[object]] | None = None

    # --- a runner's own bookings -----------------------------------------------------------------------

    async def upcoming(self, user_id: str) -> list[Booking]:
        now = slots.epoch(self.now())
        return [b for b in await self.bookings.active_for(user_id) if b.start >= now]

    async def bookings_of(self, user_id: str) -> list[Booking]:
        return await self.bookings.all_for(user_id)

    async def visit_history(self, user_id: str) -> list[Booking]:
        now = slots.epoch(self.now())
        return sorted((b for b in await self.bookings.all_for(user_id) if b.start < now),
                      key=lambda b: b.start, reverse=True)

    async def owned(self, user_id: str, booking_id: str) -> Booking | None:
        """The booking, only if it is this runner's: one runner can never touch another's."""
        booking = await self.bookings.get(booking_id)
        return booking if booking is not None and booking.user_id == user_id else None

    def changeable(self, booking: Booking) -> bool:
        """Runners may cancel or move until ``cancel_deadline_hours`` before the start."""
        deadline = dt.timedelta(hours=self.clinic.booking.cancel_deadline_hours)
        return slots.from_epoch(self.clinic, booking.start) - self.now() >= deadline

    def reminder_due(self, booking: Booking) -> dt.datetime | None:
        """When the day-before reminder goes (``None``: that moment has passed, so there is none)."""
        start = slots.from_epoch(self.clinic, booking.start)
        day_before = start.date() - dt.timedelta(days=1)
        due = dt.datetime.combine(day_before, dt.time(self.clinic.booking.reminder_hour), self.clinic.tz)
        return due if due > self.now() else None

    # --- changes -------------------------------------------------------------------------------------

    async def reserve(self, user_id: str, start: int, nonce: str, cause: str, *, menu: str | None = None,
                      practitioner: str | None = None, contact: Contact | None = None, by: By = "runner",
                      staff: str = "") -> Result:
        """Book ``start``; the same ``nonce`` (one confirm button, one staff form) books at most once.

        ``practitioner`` is a 指名; without one, the least busy practitioner free for the whole menu is given.
        ``cause`` (the event's id) is kept in the history: the same event handled again after a crash gets
        ``ok`` again (and says the same), while a second tap gets ``again``.
        """
        await self._finish_setup()
        chosen = self.clinic.booking.menu(menu) or self.default_menu
        moment = slots.from_epoch(self.clinic, start)
        allowed = self.staff_may_book(moment, chosen.minutes) if by == "staff" else \
            slots.is_bookable(self.clinic, self.now(), moment, chosen.minutes)
        on_shift = await self.ordered_candidates(moment, chosen, practitioner) if allowed else []
        if not on_shift:
            return Result("unavailable")
        at = self.now().timestamp()
        status = PENDING if self.clinic.booking.approval and by == "runner" else CONFIRMED
        base = Booking(id=_new_id(), user_id=user_id, start=start, status=status, created_at=at, updated_at=at,
                       staff_checked=by == "staff", menu=chosen.id, minutes=chosen.minutes,
                       nominated=practitioner is not None, name=(contact or Contact()).name,
                       phone=(contact or Contact()).phone,
                       history=[_entry(at, by, "booked", cause, staff, start=start)])
        candidates = [replace(base, practitioner=p.id) for p in on_shift]
        outcome, booking_id, index = await self.bookings.reserve(
            candidates, moment.date(), slots.cells(self.clinic, start, chosen.minutes), now=int(at), nonce=nonce)
        if outcome == "full":
            return Result("full")
        if outcome == "again":
            prior = await self.bookings.get(booking_id)
            if prior is None or not _caused_by(prior, cause):
                return Result("again", prior)
            booking = prior
        else:
            booking = candidates[index]
            metrics.BOOKINGS.labels("booked").inc()
        await self._schedule_reminder(booking)
        return Result("ok", booking)

    async def cancel(self, booking_id: str, *, by: By, cause: str, user_id: str | None = None,
                     staff: str = "") -> Result:
        """Cancel; a runner only their own and only before the deadline, staff any time."""
        for _ in range(CAS_ATTEMPTS):
            old = await self._find(booking_id, user_id)
            if old is None:
                return Result("missing")
            if not old.active:
                return Result("ok" if _caused_by(old, cause) else "cancelled", old)
            if by == "runner" and not self.changeable(old):
                return Result("late", old)
            new = self._changed(old, by, "cancelled", cause, staff, status=CANCELLED)
            if await self.bookings.cancel(old, new, self.day_of(old.start), self.cells_of(old)) == "ok":
                metrics.BOOKINGS.labels("cancelled").inc()
                await self.scheduler.cancel(old.user_id, reminder_job_id(old))
                await self._freed(old)
                return Result("ok", new)
        raise RuntimeError("booking kept changing while cancelling")

    async def move(self, booking_id: str, user_id: str | None, start: int, cause: str, *, by: By = "runner",
                   staff: str = "") -> Result:
        """Move to ``start``: same id, menu and 指名, new time, the old time kept in its history.

        A runner moves only their own booking and only before the deadline; staff may move any booking
        (``user_id=None``) at any time, to any future time a practitioner is free.
        """
        await self._finish_setup()
        for _ in range(CAS_ATTEMPTS):
            old = await self._find(booking_id, user_id)
            refused = self._refuse_move(old, start, cause, by)
            if refused is not None:
                return refused
            assert old is not None
            written = await self._write_move(old, start, cause, by, staff)
            if isinstance(written, Result):
                return written
        raise RuntimeError("booking kept changing while moving")

    async def staff_confirm(self, booking_id: str, cause: str, staff: str = "") -> Result:
        """Staff have seen and accepted the booking (``staff_checked``); a 仮予約 becomes confirmed."""
        def confirm(old: Booking) -> Booking | Result:
            if not old.active:
                return Result("cancelled", old)
            if old.staff_checked and old.status == CONFIRMED:
                return Result("again", old)
            return self._changed(old, "staff", "confirmed", cause, staff, staff_checked=True, status=CONFIRMED)

        return await self._update(booking_id, confirm)

    async def mark_attendance(self, booking_id: str, attendance: str, cause: str, staff: str = "") -> Result:
        """Staff mark 来院 (``attended``) or 無断キャンセル (``no_show``), from the booking's day on."""
        if attendance not in (ATTENDED, NO_SHOW):
            return Result("missing")

        def mark(old: Booking) -> Booking | Result:
            if not old.active:
                return Result("cancelled", old)
            if self.day_of(old.start) > self.now().date():
                return Result("early", old)
            if old.attendance == attendance:
                return Result("again", old)
            return self._changed(old, "staff", attendance, cause, staff, attendance=attendance)

        return await self._update(booking_id, mark)

    # --- internals -----------------------------------------------------------------------------------

    def _refuse_move(self, old: Booking | None, start: int, cause: str, by: By) -> Result | None:
        if old is None:
            return Result("missing")
        if not old.active:
            return Result("cancelled", old)
        if old.start == start:  # the same move tapped twice, or this event handled again
            return Result("ok" if _caused_by(old, cause) else "again", old)
        if by == "runner" and not self.changeable(old):
            return Result("late", old)
        moment, minutes = slots.from_epoch(self.clinic, start), self.minutes_of(old)
        allowed = self.staff_may_book(moment, minutes) if by == "staff" else \
            slots.is_bookable(self.clinic, self.now(), moment, minutes)
        return None if allowed else Result("unavailable", old)

    async def _write_move(self, old: Booking, start: int, cause: str, by: By, staff: str) -> Result | None:
        """One compare-and-set attempt; ``None`` when the record changed meanwhile (read it again)."""
        menu = self.menu_of(old)
        moment = slots.from_epoch(self.clinic, start)
        on_shift = await self.ordered_candidates(moment, menu, old.practitioner if old.nominated else None,
                                                 prefer=old.practitioner)
        if not on_shift:
            return Result("full", old)
        new = self._changed(old, by, "moved", cause, staff, start=start, extra={"from": old.start, "to": start})
        candidates = [replace(new, practitioner=p.id) for p in on_shift]
        written, index = await self.bookings.move(
            old, self.day_of(old.start), self.cells_of(old), candidates, moment.date(),
            slots.cells(self.clinic, start, menu.minutes), now=int(self.now().timestamp()))
        if written == "full":
            return Result("full", old)
        if written != "ok":
            return None
        moved = candidates[index]
        metrics.BOOKINGS.labels("moved").inc()
        await self.scheduler.cancel(old.user_id, reminder_job_id(old))
        await self._schedule_reminder(moved)
        await self._freed(old)
        return Result("ok", moved)

    async def _update(self, booking_id: str, change: Callable[[Booking], Booking | Result]) -> Result:
        """Compare-and-set a change that takes no seat (staff confirm, attendance)."""
        for _ in range(CAS_ATTEMPTS):
            old = await self.bookings.get(booking_id)
            if old is None:
                return Result("missing")
            new = change(old)
            if isinstance(new, Result):
                return new
            if await self.bookings.replace(old, new) == "ok":
                return Result("ok", new)
        raise RuntimeError("booking kept changing")

    async def _finish_setup(self) -> None:
        if self.unfinished_setup is not None:
            await self.unfinished_setup()
            self.unfinished_setup = None

    async def _find(self, booking_id: str, user_id: str | None) -> Booking | None:
        if user_id is None:
            return await self.bookings.get(booking_id)
        return await self.owned(user_id, booking_id)

    async def _freed(self, old: Booking) -> None:
        for listener in self.on_freed:
            await listener(old)

    def _changed(self, old: Booking, by: By, did: str, cause: str, staff: str = "", *,
                 extra: dict[str, int] | None = None, **fields: object) -> Booking:
        at = self.now().timestamp()
        entry = _entry(at, by, did, cause, staff, **(extra or {}))
        return replace(old, updated_at=at, history=[*old.history, entry], **fields)  # type: ignore[arg-type]

    async def _schedule_reminder(self, booking: Booking) -> None:
        """The day before at ``reminder_hour``; none when that moment has already passed."""
        due = self.reminder_due(booking)
        if due is None or not booking.on_line:
            return
        quiet = self.clinic.quiet_hours.contains(due.time())
        await self.scheduler.schedule(Job(
            id=reminder_job_id(booking), user_id=booking.user_id, kind="reminder", due=due.timestamp(),
            data={"booking_id": booking.id, "start": booking.start}, quiet_hours=quiet,
        ))


def _entry(at: float, by: By, did: str, cause: str, staff: str, **extra: object) -> dict[str, object]:
    """One line of a booking's history; ``staff`` names who did it when staff did."""
    entry: dict[str, object] = {"at": at, "by": by, "did": did, "cause": cause, **extra}
    if by == "staff" and staff:
        entry["staff"] = staff
    return entry


def _caused_by(booking: Booking, cause: str) -> bool:
    """Whether the booking's latest change came from this very event (handled again after a crash)."""
    return bool(booking.history) and booking.history[-1].get("cause") == cause


def _new_id() -> str:
    """Short, unguessable, readable over the phone: 「b-7f3k…」."""
    return "b" + secrets.token_hex(6)
