"""Booking rules on top of the store: what may be booked, cancelled or moved, by whom, and until when.

Chat actions and the staff API both go through here, so the rules live in one place. The clock is
injectable (``clock``) so tests set the time instead of waiting for it.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from bot.config.clinic import Clinic
from bot.features.booking import slots
from bot.features.booking.store import CANCELLED, CONFIRMED, Booking, BookingStore
from bot.ops import metrics
from bot.scheduling.scheduler import Job, Scheduler
from bot.store import Store

Outcome = Literal["ok", "again", "full", "unavailable", "late", "missing", "cancelled"]
#: A record changed between read and write is re-read and re-checked this many times.
CAS_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Result:
    outcome: Outcome
    booking: Booking | None = None


def reminder_job_id(booking: Booking) -> str:
    """Includes the start: a moved booking's reminder is a new job, not one the inbox already saw."""
    return f"reminder:{booking.id}:{booking.start}"


class BookingService:
    def __init__(self, store: Store, clinic: Clinic, scheduler: Scheduler,
                 clock: Callable[[], dt.datetime] | None = None) -> None:
        self.bookings = BookingStore(store)
        self.clinic = clinic
        self.scheduler = scheduler
        self.clock = clock or (lambda: dt.datetime.now(clinic.tz))

    def now(self) -> dt.datetime:
        return self.clock().astimezone(self.clinic.tz)

    # --- what can be offered ---------------------------------------------------------------------------

    async def free_starts(self, day: dt.date | None = None) -> list[dt.datetime]:
        now = self.now()
        taken = await self.bookings.taken(slots.candidate_epochs(self.clinic, now))
        return slots.free_starts(self.clinic, now, taken, day)

    async def free_days(self) -> list[dt.date]:
        return sorted({start.date() for start in await self.free_starts()})

    async def nearest_free(self, wanted: dt.datetime, count: int = 6) -> list[dt.datetime]:
        return slots.nearest(await self.free_starts(), wanted, count)

    # --- a runner's own bookings -----------------------------------------------------------------------

    async def upcoming(self, user_id: str) -> list[Booking]:
        now = slots.epoch(self.now())
        return [b for b in await self.bookings.active_for(user_id) if b.start >= now]

    async def owned(self, user_id: str, booking_id: str) -> Booking | None:
        """The booking, only if it is this runner's: one runner can never touch another's."""
        booking = await self.bookings.get(booking_id)
        return booking if booking is not None and booking.user_id == user_id else None

    def changeable(self, booking: Booking) -> bool:
        """Runners may cancel or move until ``cancel_deadline_hours`` before the start."""
        deadline = dt.timedelta(hours=self.clinic.booking.cancel_deadline_hours)
        return slots.from_epoch(self.clinic, booking.start) - self.now() >= deadline

    # --- changes -------------------------------------------------------------------------------------

    async def reserve(self, user_id: str, start: int, nonce: str, cause: str) -> Result:
        """Book ``start`` for the runner; the same ``nonce`` (one confirm button) books at most once.

        ``cause`` (the event's id) is kept in the history: the same event handled again after a crash gets
        ``ok`` again (and says the same), while a second tap gets ``again``.
        """
        if not slots.is_bookable(self.clinic, self.now(), slots.from_epoch(self.clinic, start)):
            return Result("unavailable")
        at = self.now().timestamp()
        booking = Booking(id=_new_id(), user_id=user_id, start=start, status=CONFIRMED, created_at=at,
                          updated_at=at, history=[{"at": at, "by": "runner", "did": "booked", "start": start,
                                                  "cause": cause}])
        outcome, booking_id = await self.bookings.reserve(booking, capacity=self.clinic.booking.capacity,
                                                          nonce=nonce)
        if outcome == "full":
            return Result("full")
        if outcome == "again":
            prior = await self.bookings.get(booking_id)
            if prior is None or not _caused_by(prior, cause):
                return Result("again", prior)
            booking = prior
        else:
            metrics.BOOKINGS.labels("booked").inc()
        await self._schedule_reminder(booking)
        return Result("ok", booking)

    async def cancel(self, booking_id: str, *, by: Literal["runner", "staff"], cause: str,
                     user_id: str | None = None) -> Result:
        """Cancel; a runner only their own and only before the deadline, staff any time."""
        for _ in range(CAS_ATTEMPTS):
            old = await self._find(booking_id, user_id)
            if old is None:
                return Result("missing")
            if not old.active:
                return Result("ok" if _caused_by(old, cause) else "cancelled", old)
            if by == "runner" and not self.changeable(old):
                return Result("late", old)
            new = self._changed(old, by, "cancelled", cause, status=CANCELLED)
            if await self.bookings.cancel(old, new) == "ok":
                metrics.BOOKINGS.labels("cancelled").inc()
                await self.scheduler.cancel(old.user_id, reminder_job_id(old))
                return Result("ok", new)
        raise RuntimeError("booking kept changing while cancelling")

    async def move(self, booking_id: str, user_id: str, start: int, cause: str) -> Result:
        """Move the runner's booking to ``start``: same id, new time, the old time kept in its history."""
        for _ in range(CAS_ATTEMPTS):
            old = await self._find(booking_id, user_id)
            if old is None:
                return Result("missing")
            if not old.active:
                return Result("cancelled", old)
            if old.start == start:  # the same move tapped twice, or this event handled again
                return Result("ok" if _caused_by(old, cause) else "again", old)
            if not self.changeable(old):
                return Result("late", old)
            if not slots.is_bookable(self.clinic, self.now(), slots.from_epoch(self.clinic, start)):
                return Result("unavailable", old)
            new = self._changed(old, "runner", "moved", cause, start=start,
                                extra={"from": old.start, "to": start})
            written = await self.bookings.move(old, new, capacity=self.clinic.booking.capacity)
            if written == "full":
                return Result("full", old)
            if written == "ok":
                metrics.BOOKINGS.labels("moved").inc()
                await self.scheduler.cancel(old.user_id, reminder_job_id(old))
                await self._schedule_reminder(new)
                return Result("ok", new)
        raise RuntimeError("booking kept changing while moving")

    async def staff_confirm(self, booking_id: str, cause: str) -> Result:
        """Staff have seen and accepted the booking (``staff_checked``); its status stays confirmed."""
        for _ in range(CAS_ATTEMPTS):
            old = await self.bookings.get(booking_id)
            if old is None:
                return Result("missing")
            if not old.active:
                return Result("cancelled", old)
            if old.staff_checked:
                return Result("again", old)
            new = self._changed(old, "staff", "confirmed", cause, staff_checked=True)
            if await self.bookings.replace(old, new) == "ok":
                return Result("ok", new)
        raise RuntimeError("booking kept changing while confirming")

    # --- internals -----------------------------------------------------------------------------------

    async def _find(self, booking_id: str, user_id: str | None) -> Booking | None:
        if user_id is None:
            return await self.bookings.get(booking_id)
        return await self.owned(user_id, booking_id)

    def _changed(self, old: Booking, by: str, did: str, cause: str, *, extra: dict[str, int] | None = None,
                 **fields: object) -> Booking:
        at = self.now().timestamp()
        entry: dict[str, object] = {"at": at, "by": by, "did": did, "cause": cause, **(extra or {})}
        return replace(old, updated_at=at, history=[*old.history, entry], **fields)  # type: ignore[arg-type]

    async def _schedule_reminder(self, booking: Booking) -> None:
        """The day before at ``reminder_hour``; none when that moment has already passed."""
        start = slots.from_epoch(self.clinic, booking.start)
        day_before = start.date() - dt.timedelta(days=1)
        due = dt.datetime.combine(day_before, dt.time(self.clinic.booking.reminder_hour), self.clinic.tz)
        if due <= self.now():
            return
        quiet = self.clinic.quiet_hours.contains(due.time())
        await self.scheduler.schedule(Job(
            id=reminder_job_id(booking), user_id=booking.user_id, kind="reminder", due=due.timestamp(),
            data={"booking_id": booking.id, "start": booking.start}, quiet_hours=quiet,
        ))


def _caused_by(booking: Booking, cause: str) -> bool:
    """Whether the booking's latest change came from this very event (handled again after a crash)."""
    return bool(booking.history) and booking.history[-1].get("cause") == cause


def _new_id() -> str:
    """Short, unguessable, readable over the phone: 「b-7f3k…」."""
    return "b" + secrets.token_hex(6)
