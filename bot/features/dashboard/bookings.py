"""The bookings week as the page draws it: each day's slots with capacity, who is booked, and their history.

Kept apart from the routes (``bookings_pages``) because it is the page's model, not its HTTP: a week of
:class:`DayColumn` built from the booking store and the clinic's hours, read-only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from bot.features.booking import slots
from bot.features.booking.service import BookingService
from bot.features.booking.store import Booking

DID_JA = {"booked": "予約", "confirmed": "確認済み", "cancelled": "キャンセル", "moved": "日時変更"}
BY_JA = {"runner": "ランナー(LINE)", "staff": "スタッフ"}


@dataclass(slots=True)
class Slot:
    start: dt.datetime
    bookings: list[Booking] = field(default_factory=list)
    capacity: int = 1
    bookable: bool = False

    @property
    def taken(self) -> int:
        return sum(1 for b in self.bookings if b.active)

    @property
    def free(self) -> int:
        return max(self.capacity - self.taken, 0)


@dataclass(slots=True)
class DayColumn:
    day: dt.date
    slots: list[Slot]


def week_of(day: dt.date) -> list[dt.date]:
    monday = day - dt.timedelta(days=day.weekday())
    return [monday + dt.timedelta(days=i) for i in range(7)]


async def week_columns(service: BookingService, days: list[dt.date]) -> list[DayColumn]:
    clinic = service.clinic
    now = service.now()
    start = dt.datetime.combine(days[0], dt.time(), clinic.tz)
    end = dt.datetime.combine(days[-1] + dt.timedelta(days=1), dt.time(), clinic.tz)
    booked: dict[int, list[Booking]] = {}
    for booking in await service.bookings.between(slots.epoch(start), slots.epoch(end)):
        booked.setdefault(booking.start, []).append(booking)
    columns = []
    for day in days:
        day_slots = [Slot(s, booked.pop(slots.epoch(s), []), clinic.booking.capacity,
                          slots.is_bookable(clinic, now, s)) for s in slots.slot_starts(clinic, day)]
        columns.append(DayColumn(day, day_slots))
    for start_epoch, stray in sorted(booked.items()):  # booked outside today's hours (hours changed since)
        moment = slots.from_epoch(clinic, start_epoch)
        for column in columns:
            if column.day == moment.date():
                column.slots.append(Slot(moment, stray, clinic.booking.capacity, False))
                column.slots.sort(key=lambda s: s.start)
    return columns


def history_lines(service: BookingService, booking: Booking) -> list[str]:
    lines = []
    for entry in booking.history:
        at = slots.from_epoch(service.clinic, int(float(entry.get("at", 0))))
        who = str(entry.get("staff") or BY_JA.get(str(entry.get("by")), entry.get("by", "")))
        did = DID_JA.get(str(entry.get("did")), str(entry.get("did")))
        line = f"{at:%m/%d %H:%M} {who}:{did}"
        if isinstance(entry.get("from"), int) and isinstance(entry.get("to"), int):
            before = slots.when_label(service.clinic, slots.from_epoch(service.clinic, entry["from"]))
            after = slots.when_label(service.clinic, slots.from_epoch(service.clinic, entry["to"]))
            line += f"({before} → {after})"
        lines.append(line)
    return lines
