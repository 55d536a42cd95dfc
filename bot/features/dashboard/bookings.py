"""The bookings week as the page draws it: each day's times with seats taken of seats on shift, who is booked
(name, phone, menu, practitioner, answers), and their history.

Kept apart from the routes (``bookings_pages``) because it is the page's model, not its HTTP: a week of
:class:`DayColumn` built from the booking service and the clinic's hours and shifts, read-only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from bot.extension import Parts
from bot.features.booking import slots
from bot.features.booking.service import BookingService
from bot.features.booking.staff_view import latest_answers
from bot.features.booking.store import Booking

DID_JA = {"booked": "予約", "confirmed": "確認済み", "cancelled": "キャンセル", "moved": "日時変更",
          "attended": "来院", "no_show": "無断キャンセル"}
BY_JA = {"runner": "ランナー(LINE)", "staff": "スタッフ"}
STATUS_JA = {"confirmed": "予約", "pending": "仮予約(要確認)", "cancelled": "キャンセル"}


@dataclass(slots=True)
class Card:
    """One booking as staff see it."""

    booking: Booking
    start: dt.datetime
    when: str
    menu: str
    practitioner: str | None
    answers: dict[str, str]
    history: list[str]
    markable: bool  # its day has come: 来院 / 無断キャンセル may be marked

    @property
    def who(self) -> str:
        return self.booking.name or ("LINEのお客様" if self.booking.on_line else "お名前未入力")


@dataclass(slots=True)
class Row:
    start: dt.datetime
    taken: int
    capacity: int
    cards: list[Card] = field(default_factory=list)

    @property
    def free(self) -> int:
        return max(self.capacity - self.taken, 0)


@dataclass(slots=True)
class DayColumn:
    day: dt.date
    rows: list[Row]


def week_of(day: dt.date) -> list[dt.date]:
    monday = day - dt.timedelta(days=day.weekday())
    return [monday + dt.timedelta(days=i) for i in range(7)]


async def week_columns(parts: Parts, service: BookingService, days: list[dt.date]) -> list[DayColumn]:
    clinic = service.clinic
    start = dt.datetime.combine(days[0], dt.time(), clinic.tz)
    end = dt.datetime.combine(days[-1] + dt.timedelta(days=1), dt.time(), clinic.tz)
    found = await service.bookings.between(slots.epoch(start), slots.epoch(end))
    answers = await latest_answers(parts, {b.user_id for b in found})
    busy = await service.busy(days)
    booked: dict[int, list[Card]] = {}
    for booking in found:
        booked.setdefault(booking.start, []).append(card(service, booking, answers.get(booking.user_id, {})))
    columns = []
    for day in days:
        rows = []
        for moment in slots.grid_starts(clinic, day):
            taken, capacity = slots.seats_at(clinic, busy, moment)
            rows.append(Row(moment, taken, capacity, booked.pop(slots.epoch(moment), [])))
        columns.append(DayColumn(day, rows))
    for start_epoch, stray in sorted(booked.items()):  # outside today's hours or grid (the file changed since)
        moment = slots.from_epoch(clinic, start_epoch)
        for column in columns:
            if column.day == moment.date():
                column.rows.append(Row(moment, len(stray), len(stray), stray))
                column.rows.sort(key=lambda r: r.start)
    return columns


def card(service: BookingService, booking: Booking, answers: dict[str, str]) -> Card:
    menu = service.menu_of(booking)
    start = slots.from_epoch(service.clinic, booking.start)
    when = slots.when_label(service.clinic, start, menu.minutes)
    markable = booking.active and service.day_of(booking.start) <= service.now().date()
    return Card(booking, start, when, menu.name, service.practitioner_name(booking), answers,
                history_lines(service, booking), markable)


def history_lines(service: BookingService, booking: Booking) -> list[str]:
    lines = []
    minutes = service.minutes_of(booking)
    for entry in booking.history:
        at = slots.from_epoch(service.clinic, int(float(entry.get("at", 0))))
        who = str(entry.get("staff") or BY_JA.get(str(entry.get("by")), entry.get("by", "")))
        did = DID_JA.get(str(entry.get("did")), str(entry.get("did")))
        line = f"{at:%m/%d %H:%M} {who}:{did}"
        if isinstance(entry.get("from"), int) and isinstance(entry.get("to"), int):
            before = slots.when_label(service.clinic, slots.from_epoch(service.clinic, entry["from"]), minutes)
            after = slots.when_label(service.clinic, slots.from_epoch(service.clinic, entry["to"]), minutes)
            line += f"({before} → {after})"
        lines.append(line)
    return lines


def picker(service: BookingService, first: dt.date, days: int = 28) -> dict[str, Any]:
    """The day + time picker's choices: open days ahead, and every grid time of the clinic's week."""
    clinic = service.clinic
    open_days = [d for d in (first + dt.timedelta(days=i) for i in range(days)) if clinic.opening(d) is not None]
    times = sorted({s.time() for d in open_days[:7] for s in slots.grid_starts(clinic, d)})
    return {"days": open_days, "times": [t.strftime("%H:%M") for t in times]}
