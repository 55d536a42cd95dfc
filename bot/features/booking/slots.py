"""Which times a runner may be offered, from the clinic's settings and which practitioner is busy when.

Pure functions over the clinic file and a ``busy`` map (practitioner -> grid step -> who holds it), so the
rules (opening hours, shifts, days off, notice, how far ahead, menu lengths) are tested without Redis.

A time is named by its start as epoch seconds: the same number in every store key, postback and job. A
booking holds its practitioner for whole grid steps (``cells``) from its start; two bookings overlap
exactly when they share a cell of the same practitioner, whatever their menus' lengths.

A cell's holder is a booking id, or a waitlist hold ``hold|<user>|<until>|<token>``: a freed seat kept for
one waiting runner until ``until``; it counts as free for that runner, and for everyone once it has passed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence

from bot.config.appointments import Menu, Practitioner
from bot.config.clinic import Clinic

WEEKDAY_JA = "月火水木金土日"
HOLD = "hold"
#: practitioner id -> cell (epoch seconds) -> holder
Busy = Mapping[str, Mapping[int, str]]


def hold_value(user_id: str, until: int, token: str) -> str:
    return f"{HOLD}|{user_id}|{until}|{token}"


def cell_free(holder: str | None, now: int, user_id: str = "") -> bool:
    """Free: nobody, a hold that has run out, or a hold kept for this very runner."""
    if not holder:
        return True
    if not holder.startswith(HOLD + "|"):
        return False
    _, held_for, until = [*holder.split("|"), "", ""][:3]
    return (bool(user_id) and held_for == user_id) or int(until or 0) <= now


def grid_starts(clinic: Clinic, day: dt.date, minutes: int | None = None) -> list[dt.datetime]:
    """Every grid start in the day's opening hours that leaves room for ``minutes`` (one step by default)."""
    hours = clinic.opening(day)
    if hours is None:
        return []
    step = dt.timedelta(minutes=clinic.booking.slot_minutes)
    length = dt.timedelta(minutes=minutes or clinic.booking.slot_minutes)
    start = dt.datetime.combine(day, hours.open, clinic.tz)
    close = dt.datetime.combine(day, hours.close, clinic.tz)
    starts = []
    while start + length <= close:
        starts.append(start)
        start += step
    return starts


def cells(clinic: Clinic, start: int, minutes: int) -> list[int]:
    """The grid steps a booking of ``minutes`` from ``start`` holds its practitioner for."""
    step = clinic.booking.slot_minutes * 60
    return [start + i * step for i in range(clinic.booking.steps(minutes))]


def on_shift(clinic: Clinic, practitioner: Practitioner, start: dt.datetime, minutes: int) -> bool:
    """Whether the practitioner works the whole of ``[start, start + minutes)``."""
    local = start.astimezone(clinic.tz)
    shift = practitioner.shift(local.date(), clinic.opening(local.date()))
    if shift is None:
        return False
    end = local + dt.timedelta(minutes=minutes)
    return shift.open <= local.time() and (end.time() <= shift.close and end.date() == local.date())


def free_practitioners(clinic: Clinic, busy: Busy, start: dt.datetime, minutes: int,
                       candidates: Sequence[Practitioner], now: int, user_id: str = "") -> list[Practitioner]:
    """Of ``candidates``, those on shift and free for the whole booking, in the order given."""
    needed = cells(clinic, epoch(start), minutes)
    return [p for p in candidates if on_shift(clinic, p, start, minutes)
            and all(cell_free(busy.get(p.id, {}).get(c), now, user_id) for c in needed)]


def bookable_days(clinic: Clinic, now: dt.datetime) -> Iterator[dt.date]:
    """Today through ``days_ahead`` days from today, in the clinic's time zone."""
    today = now.astimezone(clinic.tz).date()
    for offset in range(clinic.booking.days_ahead + 1):
        yield today + dt.timedelta(days=offset)


def is_bookable(clinic: Clinic, now: dt.datetime, start: dt.datetime, minutes: int | None = None) -> bool:
    """A grid start in opening hours with room for the menu, far enough from now and not too far ahead."""
    local = start.astimezone(clinic.tz)
    return _in_window(clinic, now, start) and local in grid_starts(clinic, local.date(), minutes)


def _in_window(clinic: Clinic, now: dt.datetime, start: dt.datetime) -> bool:
    """:func:`is_bookable` for a start taken from :func:`grid_starts` (so on the grid already). Why apart:
    checking the grid again rebuilt the day's list for every start — the booking start's main cost."""
    local = start.astimezone(clinic.tz)
    if local < now + dt.timedelta(hours=clinic.booking.min_notice_hours):
        return False
    return local.date() <= now.astimezone(clinic.tz).date() + dt.timedelta(days=clinic.booking.days_ahead)


def free_starts(clinic: Clinic, now: dt.datetime, busy: Busy, menu: Menu, candidates: Sequence[Practitioner],
                day: dt.date | None = None, user_id: str = "") -> list[dt.datetime]:
    """Bookable starts for ``menu`` with one of ``candidates`` free, soonest first."""
    days = [day] if day is not None else list(bookable_days(clinic, now))
    return [start for d in days for start in _free_on(clinic, now, busy, menu, candidates, d, user_id)]


def days_with_free(clinic: Clinic, now: dt.datetime, busy: Busy, menu: Menu, candidates: Sequence[Practitioner],
                   user_id: str = "") -> list[dt.date]:
    """The days of :func:`free_starts`, each found at its first free start (the rest of the day is skipped)."""
    return [d for d in bookable_days(clinic, now)
            if next(_free_on(clinic, now, busy, menu, candidates, d, user_id), None) is not None]


def _free_on(clinic: Clinic, now: dt.datetime, busy: Busy, menu: Menu, candidates: Sequence[Practitioner],
             day: dt.date, user_id: str) -> Iterator[dt.datetime]:
    """The free starts of one day, lazily: a caller that needs only the first stops there."""
    at = epoch(now)
    for start in grid_starts(clinic, day, menu.minutes):
        if _in_window(clinic, now, start) and free_practitioners(clinic, busy, start, menu.minutes, candidates,
                                                                 at, user_id):
            yield start


def days_without(clinic: Clinic, now: dt.datetime, free_days: set[dt.date], menu: Menu) -> list[dt.date]:
    """Open days ahead (a start in the booking window) that are not in ``free_days``: with no free time for the
    menu, what a runner may join the waitlist for."""
    open_days = {d for d in bookable_days(clinic, now)
                 if any(_in_window(clinic, now, s) for s in grid_starts(clinic, d, menu.minutes))}
    return sorted(open_days - free_days)


def seats_at(clinic: Clinic, busy: Busy, cell: dt.datetime) -> tuple[int, int]:
    """(taken, capacity) of one grid step: practitioners busy there, and practitioners on shift."""
    on = [p for p in clinic.booking.staff if on_shift(clinic, p, cell, clinic.booking.slot_minutes)]
    key = epoch(cell)
    taken = sum(1 for p in on if not cell_free(busy.get(p.id, {}).get(key), 0))
    return taken, len(on)


def nearest(starts: list[dt.datetime], wanted: dt.datetime, count: int) -> list[dt.datetime]:
    """The ``count`` free starts closest to the one the runner wanted, shown in time order."""
    closest = sorted(starts, key=lambda s: (abs((s - wanted).total_seconds()), s))[:count]
    return sorted(closest)


def epoch(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def from_epoch(clinic: Clinic, seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, clinic.tz)


def day_label(day: dt.date) -> str:
    """「6/12(金)」: short enough for a quick-reply label."""
    return f"{day.month}/{day.day}({WEEKDAY_JA[day.weekday()]})"


def when_label(clinic: Clinic, start: dt.datetime, minutes: int | None = None) -> str:
    """「6/12(金) 10:00〜11:00」, the way a booking is named to a runner."""
    local = start.astimezone(clinic.tz)
    end = local + dt.timedelta(minutes=minutes or clinic.booking.slot_minutes)
    return f"{day_label(local.date())} {local:%H:%M}〜{end:%H:%M}"
