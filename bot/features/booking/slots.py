"""Which consultation times a runner may be offered, from the clinic's settings and what is already taken.

Pure functions over the clinic file and a ``taken`` count per slot, so the rules (opening hours, closed
dates, notice, how far ahead, capacity) are tested without Redis. A slot is named by its start as epoch
seconds: the same number in every store key, postback and job.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping

from bot.config.clinic import Clinic

WEEKDAY_JA = "月火水木金土日"


def slot_starts(clinic: Clinic, day: dt.date) -> list[dt.datetime]:
    """Every whole slot inside the day's opening hours (none on a closed day)."""
    hours = clinic.opening(day)
    if hours is None:
        return []
    tz = clinic.tz
    length = dt.timedelta(minutes=clinic.booking.slot_minutes)
    start = dt.datetime.combine(day, hours.open, tz)
    close = dt.datetime.combine(day, hours.close, tz)
    starts = []
    while start + length <= close:
        starts.append(start)
        start += length
    return starts


def bookable_days(clinic: Clinic, now: dt.datetime) -> Iterator[dt.date]:
    """Today through ``days_ahead`` days from today, in the clinic's time zone."""
    today = now.astimezone(clinic.tz).date()
    for offset in range(clinic.booking.days_ahead + 1):
        yield today + dt.timedelta(days=offset)


def is_bookable(clinic: Clinic, now: dt.datetime, start: dt.datetime) -> bool:
    """A whole slot in opening hours, far enough from now and not too far ahead (ignores capacity)."""
    local = start.astimezone(clinic.tz)
    if local < now + dt.timedelta(hours=clinic.booking.min_notice_hours):
        return False
    last_day = now.astimezone(clinic.tz).date() + dt.timedelta(days=clinic.booking.days_ahead)
    if local.date() > last_day:
        return False
    return local in slot_starts(clinic, local.date())


def free_starts(clinic: Clinic, now: dt.datetime, taken: Mapping[int, int],
                day: dt.date | None = None) -> list[dt.datetime]:
    """Bookable starts with a practitioner free, soonest first (one ``day``, or every bookable day)."""
    days = [day] if day is not None else list(bookable_days(clinic, now))
    capacity = clinic.booking.capacity
    return [
        start for d in days for start in slot_starts(clinic, d)
        if is_bookable(clinic, now, start) and taken.get(epoch(start), 0) < capacity
    ]


def free_days(clinic: Clinic, now: dt.datetime, taken: Mapping[int, int]) -> list[dt.date]:
    """Days with at least one free slot, soonest first."""
    return sorted({start.date() for start in free_starts(clinic, now, taken)})


def nearest(starts: list[dt.datetime], wanted: dt.datetime, count: int) -> list[dt.datetime]:
    """The ``count`` free starts closest to the one the runner wanted, shown in time order."""
    closest = sorted(starts, key=lambda s: (abs((s - wanted).total_seconds()), s))[:count]
    return sorted(closest)


def candidate_epochs(clinic: Clinic, now: dt.datetime) -> list[int]:
    """Every slot that could be offered now (to read their counts in one round trip)."""
    return [epoch(s) for d in bookable_days(clinic, now) for s in slot_starts(clinic, d)]


def epoch(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def from_epoch(clinic: Clinic, seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, clinic.tz)


def day_label(day: dt.date) -> str:
    """「6/12(金)」: short enough for a quick-reply label."""
    return f"{day.month}/{day.day}({WEEKDAY_JA[day.weekday()]})"


def when_label(clinic: Clinic, start: dt.datetime) -> str:
    """「6/12(金) 10:00〜11:00」, the way a booking is named to a runner."""
    local = start.astimezone(clinic.tz)
    end = local + dt.timedelta(minutes=clinic.booking.slot_minutes)
    return f"{day_label(local.date())} {local:%H:%M}〜{end:%H:%M}"
