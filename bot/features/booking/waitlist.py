"""キャンセル待ち: runners waiting for a full day (or one time of it), offered a freed seat in turn.

When a seat is given back (a cancel, or the old time of a move), the first runner waiting for that day whose
wish now fits is taken off the list and sent an offer — through the scheduler, so it waits for the morning
when the seat frees at night and goes into the runner's own inbox like every push. Sending it puts a *hold*
on the practitioner's cells for ``waitlist_hold_minutes`` (only that runner may book them meanwhile; see
:mod:`slots`). When the hold ends unused, or the runner taps 「今回は見送る」, the cells are let go and the
next waiting runner is offered the seat.

Storage (the ``{bookings}`` slot): ``waiting`` hash id -> entry JSON; ``wait:<YYYY-MM-DD>`` zset id -> when
their turn (first come, first offered), expiring after the day; ``waitof:<U…>`` the runner's entry ids.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import asdict, dataclass

from bot.features.booking import slots
from bot.features.booking.service import BookingService
from bot.features.booking.store import TAG, Booking
from bot.scheduling.scheduler import Job, Scheduler

WAITING = f"{TAG}:waiting"
SEQUENCE = f"{TAG}:wait_seq"
OFFER_KIND = "booking-offer"
OFFER_END_KIND = "booking-offer-end"
#: A runner waits for at most this many days or times at once.
MAX_ENTRIES = 3


def day_key(day: dt.date) -> str:
    return f"{TAG}:wait:{day.isoformat()}"


def runner_key(user_id: str) -> str:
    return f"{TAG}:waitof:{user_id}"


@dataclass(slots=True)
class Entry:
    id: str
    user_id: str
    day: str  # YYYY-MM-DD
    start: int  # 0: any time that day
    menu: str
    practitioner: str  # "" for 指名なし
    joined: float
    order: int = 0  # place in line: a counter, so two runners who join in the same second keep their turns

    def dumps(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def loads(cls, raw: str) -> Entry:
        return cls(**json.loads(raw))

    @property
    def date(self) -> dt.date:
        return dt.date.fromisoformat(self.day)


@dataclass(frozen=True, slots=True)
class Hold:
    """A seat kept for one waiting runner until ``until`` (epoch seconds)."""

    value: str
    practitioner: str
    day: str
    cells: list[int]
    start: int
    until: int


class Waitlist:
    def __init__(self, service: BookingService, scheduler: Scheduler) -> None:
        self.service = service
        self.scheduler = scheduler
        self.redis = service.bookings.redis

    # --- runners ---------------------------------------------------------------------------------------

    async def join(self, user_id: str, day: dt.date, start: int, menu: str, practitioner: str) -> Entry | None:
        """Wait for ``day`` (``start`` 0: any time); the same wish twice is one entry; ``None`` past the limit."""
        mine = await self.entries_for(user_id)
        for entry in mine:
            if (entry.day, entry.start, entry.menu, entry.practitioner) == (day.isoformat(), start, menu,
                                                                             practitioner):
                return entry
        if len(mine) >= MAX_ENTRIES:
            return None
        entry = Entry(id="w" + secrets.token_hex(6), user_id=user_id, day=day.isoformat(), start=start, menu=menu,
                      practitioner=practitioner, joined=self.service.now().timestamp(),
                      order=int(await self.redis.incr(SEQUENCE)))
        await self._store(entry)
        return entry

    async def requeue(self, entry: Entry) -> None:
        """An offer whose seat was gone by the time it was sent: the runner keeps their place in line."""
        if entry.date >= self.service.now().date():
            await self._store(entry)

    async def entries_for(self, user_id: str) -> list[Entry]:
        """The runner's entries still ahead (past ones are dropped as they are found)."""
        ids = sorted(await self.redis.smembers(runner_key(user_id)))
        raws = await self.redis.hmget(WAITING, ids) if ids else []
        today = self.service.now().date()
        entries = []
        for entry_id, raw in zip(ids, raws, strict=True):
            entry = Entry.loads(raw) if raw else None
            if entry is None or entry.date < today:
                await self._drop(user_id, entry_id, entry)
            else:
                entries.append(entry)
        return sorted(entries, key=lambda e: (e.day, e.start))

    async def leave(self, user_id: str, day: dt.date | None = None) -> int:
        """Stop waiting (for ``day``, or for everything); returns how many entries went."""
        gone = [e for e in await self.entries_for(user_id) if day is None or e.date == day]
        for entry in gone:
            await self._drop(user_id, entry.id, entry)
        return len(gone)

    def label(self, entry: Entry) -> str:
        day = slots.day_label(entry.date)
        if entry.start:
            return f"{day} {slots.from_epoch(self.service.clinic, entry.start):%H:%M}"
        return f"{day} 終日"

    # --- seats freed, offers and holds -----------------------------------------------------------------

    async def seat_freed(self, booking: Booking) -> None:
        """The service's ``on_freed`` listener: offer the day's seat to the first runner it fits."""
        await self.offer_next(self.service.day_of(booking.start))

    async def offer_next(self, day: dt.date) -> Entry | None:
        """Take the first waiting runner whose wish fits a free time now off the list; schedule their offer."""
        for entry_id in await self.redis.zrange(day_key(day), 0, -1):
            raw = await self.redis.hget(WAITING, entry_id)
            entry = Entry.loads(raw) if raw else None
            if entry is None or await self.fitting_start(entry) is None:
                continue
            if not await self.redis.zrem(day_key(day), entry_id):
                continue  # another process offered it meanwhile
            await self._drop(entry.user_id, entry.id, entry)
            now = self.service.now().timestamp()
            # The time in the id: an entry offered again later (its seat was gone) is a new event, not a repeat.
            await self.scheduler.schedule(Job(id=f"{OFFER_KIND}:{entry.id}:{int(now)}", user_id=entry.user_id,
                                              kind=OFFER_KIND, due=now, data=json.loads(entry.dumps()),
                                              quiet_hours=True))
            return entry
        return None

    async def fitting_start(self, entry: Entry) -> dt.datetime | None:
        menu = self.service.clinic.booking.menu(entry.menu) or self.service.default_menu
        free = await self.service.free_starts(entry.date, menu=menu, practitioner=entry.practitioner or None,
                                              user_id=entry.user_id)
        if entry.start:
            return next((s for s in free if slots.epoch(s) == entry.start), None)
        return free[0] if free else None

    async def hold_for(self, entry: Entry) -> Hold | None:
        """Keep a fitting seat for the entry's runner (when one is still free), and schedule the hold's end."""
        start = await self.fitting_start(entry)
        if start is None:
            return None
        service = self.service
        menu = service.clinic.booking.menu(entry.menu) or service.default_menu
        order = await service.ordered_candidates(start, menu, entry.practitioner or None)
        now = slots.epoch(service.now())
        until = now + service.clinic.booking.waitlist_hold_minutes * 60
        cells = slots.cells(service.clinic, slots.epoch(start), menu.minutes)
        value = slots.hold_value(entry.user_id, until, entry.id)
        held = await service.bookings.hold([p.id for p in order], start.date(), cells, value, now=now)
        if held is None:
            return None
        hold = Hold(value=value, practitioner=held, day=entry.day, cells=cells, start=slots.epoch(start), until=until)
        await self.scheduler.schedule(Job(id=_end_job_id(hold), user_id=entry.user_id,
                                          kind=OFFER_END_KIND, due=until, data=asdict(hold), quiet_hours=False))
        return hold

    async def end_hold(self, user_id: str, hold: Hold) -> bool:
        """Let go of a hold the runner did not use and offer the seat to the next; False if they booked it."""
        day = dt.date.fromisoformat(hold.day)
        freed = await self.service.bookings.release(hold.practitioner, day, list(hold.cells), hold.value)
        await self.scheduler.cancel(user_id, _end_job_id(hold))
        if freed:
            await self.offer_next(day)
        return bool(freed)

    async def pass_offer(self, user_id: str, entry_id: str) -> bool:
        """The runner said no to the offer for ``entry_id``: end its hold now (False if there was none)."""
        prefix = f"{OFFER_END_KIND}:{entry_id}:"
        job = next((j for j in await self.scheduler.jobs_for(user_id) if j.id.startswith(prefix)), None)
        if job is None:
            return False
        return await self.end_hold(user_id, Hold(**job.data))

    async def forget(self, user_id: str) -> None:
        """A runner who blocked the account or asked to be forgotten waits for nothing."""
        await self.leave(user_id)

    async def _store(self, entry: Entry) -> None:
        day = entry.date
        end_of_day = slots.epoch(dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), self.service.clinic.tz))
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hset(WAITING, entry.id, entry.dumps())
            pipe.zadd(day_key(day), {entry.id: entry.order})
            pipe.expireat(day_key(day), end_of_day)
            pipe.sadd(runner_key(entry.user_id), entry.id)
            # The runner's index goes with their last wish's day (NX for a new key, GT to only lengthen).
            pipe.expireat(runner_key(entry.user_id), end_of_day, nx=True)
            pipe.expireat(runner_key(entry.user_id), end_of_day, gt=True)
            await pipe.execute()

    async def _drop(self, user_id: str, entry_id: str, entry: Entry | None) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hdel(WAITING, entry_id)
            pipe.srem(runner_key(user_id), entry_id)
            if entry is not None:
                pipe.zrem(day_key(entry.date), entry_id)
            await pipe.execute()


def _end_job_id(hold: Hold) -> str:
    """One per hold: the entry (the hold's last part) and when the hold ends."""
    return f"{OFFER_END_KIND}:{hold.value.rsplit('|', 1)[-1]}:{hold.until}"
