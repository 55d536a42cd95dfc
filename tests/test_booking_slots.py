"""Which times a runner may be offered: opening hours, closed days, notice, how far ahead, capacity."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.config.clinic import load_clinic
from bot.features.booking import slots
from tests.booking_support import NOW, at, epoch, write_clinic


def test_slots_are_whole_slots_inside_opening_hours(tmp_path: Path) -> None:
    clinic = load_clinic(write_clinic(tmp_path, slot_minutes=50))
    assert [f"{s:%H:%M}" for s in slots.slot_starts(clinic, dt.date(2030, 6, 4))] == ["10:00", "10:50", "11:40"]
    assert slots.slot_starts(clinic, dt.date(2030, 6, 5)) == []  # Wednesday: closed
    assert slots.slot_starts(clinic, dt.date(2030, 6, 8)) == []  # a closed date


def test_too_soon_too_far_and_full_slots_are_not_free(tmp_path: Path) -> None:
    clinic = load_clinic(write_clinic(tmp_path, capacity=2, days_ahead=3))
    free = slots.free_starts(clinic, NOW, {epoch(at(4, 10)): 2, epoch(at(4, 11)): 1})
    assert at(3, 10) not in free  # under min_notice_hours (2 h) from 09:00
    assert at(3, 11) in free
    assert at(4, 10) not in free and at(4, 11) in free  # full at capacity 2; one seat left
    assert max(free) == at(6, 12)  # today + 3 days is the last bookable day
    assert slots.free_days(clinic, NOW, {}) == [dt.date(2030, 6, d) for d in (3, 4, 6)]


def test_a_start_off_the_grid_is_not_bookable(tmp_path: Path) -> None:
    clinic = load_clinic(write_clinic(tmp_path))
    assert slots.is_bookable(clinic, NOW, at(4, 11))
    assert not slots.is_bookable(clinic, NOW, at(4, 11) + dt.timedelta(minutes=30))
    assert not slots.is_bookable(clinic, NOW, at(4, 13))  # would end after closing


def test_nearest_free_times_are_the_closest_shown_in_order() -> None:
    starts = [at(3, 11), at(4, 10), at(4, 12), at(6, 10)]
    assert slots.nearest(starts, at(4, 11), 3) == [at(3, 11), at(4, 10), at(4, 12)]


def test_labels_fit_a_quick_reply() -> None:
    assert slots.day_label(dt.date(2030, 12, 29)) == "12/29(日)"
    assert len(slots.day_label(dt.date(2030, 12, 29)) + " 10:00") <= 20
