"""Which times a runner may be offered: opening hours, shifts and days off, notice, how far ahead, menu
lengths, and who is busy — as pure rules over the clinic file, without Redis."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.config.clinic import ConfigError, load_clinic
from bot.features.booking import slots
from tests.booking_support import NOW, at, epoch, team_clinic, write_clinic


def test_times_are_whole_steps_inside_opening_hours(tmp_path: Path) -> None:
    clinic = load_clinic(write_clinic(tmp_path, slot_minutes=50))
    assert [f"{s:%H:%M}" for s in slots.grid_starts(clinic, dt.date(2030, 6, 4))] == ["10:00", "10:50", "11:40"]
    assert slots.grid_starts(clinic, dt.date(2030, 6, 5)) == []  # Wednesday: closed
    assert slots.grid_starts(clinic, dt.date(2030, 6, 8)) == []  # a closed date


def test_a_clinic_file_without_menus_or_practitioners_keeps_its_capacity(tmp_path: Path) -> None:
    clinic = load_clinic(write_clinic(tmp_path, capacity=2, days_ahead=3))
    [menu] = clinic.booking.menu_list
    assert menu.minutes == 60 and not clinic.booking.named_practitioners
    busy = {"seat1": {epoch(at(4, 10)): "b1", epoch(at(4, 11)): "b2"}, "seat2": {epoch(at(4, 10)): "b3"}}
    free = slots.free_starts(clinic, NOW, busy, menu, clinic.booking.staff)
    assert at(3, 10) not in free  # under min_notice_hours (2 h) from 09:00
    assert at(3, 11) in free
    assert at(4, 10) not in free and at(4, 11) in free  # both seats taken at 10:00; one left at 11:00
    assert max(free) == at(6, 12)  # today + 3 days is the last bookable day
    assert slots.seats_at(clinic, busy, at(4, 10)) == (2, 2)


def test_capacity_is_the_practitioners_on_shift(tmp_path: Path) -> None:
    clinic = load_clinic(team_clinic(tmp_path))
    assert slots.seats_at(clinic, {}, at(4, 10)) == (0, 2)  # Tuesday morning: 佐藤 and 鈴木
    assert slots.seats_at(clinic, {}, at(4, 12)) == (0, 1)  # 鈴木's shift ends at 12:00
    assert slots.seats_at(clinic, {}, at(11, 10)) == (0, 1)  # 鈴木's day off
    suzuki = clinic.booking.practitioner("suzuki")
    assert suzuki is not None
    assert slots.on_shift(clinic, suzuki, at(4, 11), 60)
    assert not slots.on_shift(clinic, suzuki, at(4, 11) + dt.timedelta(minutes=15), 60)  # ends after 12:00


def test_menus_of_different_lengths_overlap_on_the_same_practitioner(tmp_path: Path) -> None:
    clinic = load_clinic(team_clinic(tmp_path))
    first, repeat = clinic.booking.menu_list
    ten = epoch(at(6, 10))
    busy = {"sato": {c: "b-long" for c in slots.cells(clinic, ten, first.minutes)}}  # 10:00–11:00
    assert len(slots.cells(clinic, ten, repeat.minutes)) == 3  # 45 minutes: three 15-minute steps
    free = slots.free_starts(clinic, NOW, busy, repeat, clinic.booking.staff, dt.date(2030, 6, 6))
    assert at(6, 10) + dt.timedelta(minutes=45) not in free  # would overlap 10:45–11:00
    assert at(6, 11) in free
    assert at(6, 12) + dt.timedelta(minutes=15) in free and at(6, 12) + dt.timedelta(minutes=30) not in free


def test_a_hold_is_free_only_for_its_runner_and_once_it_has_run_out() -> None:
    held = slots.hold_value("Ua", until=1000, token="w1")
    assert not slots.cell_free(held, now=999, user_id="Ub")
    assert slots.cell_free(held, now=999, user_id="Ua")
    assert slots.cell_free(held, now=1000, user_id="Ub")
    assert not slots.cell_free("b123", now=10**10, user_id="Ua")


def test_a_start_off_the_grid_is_not_bookable(tmp_path: Path) -> None:
    clinic = load_clinic(write_clinic(tmp_path))
    assert slots.is_bookable(clinic, NOW, at(4, 11))
    assert not slots.is_bookable(clinic, NOW, at(4, 11) + dt.timedelta(minutes=30))
    assert not slots.is_bookable(clinic, NOW, at(4, 13))  # would end after closing


@pytest.mark.parametrize(("booking", "says"), [
    ({"capacity": 2, "practitioners": [{"id": "a", "name": "A"}]}, "either capacity or practitioners"),
    ({"menus": [{"id": "x", "name": "X", "minutes": 30, "visits": "repeat"}]}, "no menu for a first visit"),
    ({"practitioners": [{"id": "a", "name": "A"}, {"id": "a", "name": "B"}]}, "used twice"),
    ({"practitioners": [{"id": "a", "name": "A", "shifts": {"monday": None}}]}, "unknown weekday"),
])
def test_a_wrong_booking_block_is_refused_at_start_up(tmp_path: Path, booking: dict[str, object],
                                                      says: str) -> None:
    path = write_clinic(tmp_path, **booking)
    with pytest.raises(ConfigError, match=says):
        load_clinic(path)


def test_nearest_free_times_are_the_closest_shown_in_order() -> None:
    starts = [at(3, 11), at(4, 10), at(4, 12), at(6, 10)]
    assert slots.nearest(starts, at(4, 11), 3) == [at(3, 11), at(4, 10), at(4, 12)]


def test_labels_fit_a_quick_reply() -> None:
    assert slots.day_label(dt.date(2030, 12, 29)) == "12/29(日)"
    assert len(slots.day_label(dt.date(2030, 12, 29)) + " 10:00") <= 20
