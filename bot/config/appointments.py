"""The clinic file's ``booking:`` block: rules, menus, practitioners and their shifts.

A clinic that wrote its file before menus and practitioners existed keeps working: without ``menus`` there is
one menu (``first_visit``, ``slot_minutes`` long); without ``practitioners`` there are ``capacity`` unnamed
seats that work the clinic's hours (no 指名 is offered then). With practitioners, how many runners a time
takes is how many practitioners are on shift then, so ``capacity`` must not be given too.

Times: a booking starts on the clinic's grid (every ``slot_minutes`` from opening) and holds its
practitioner for whole grid steps — a 45-minute menu on a 30-minute grid holds them for 60 minutes.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.config.hours import OpeningHours

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: Ids appear in postback data and Redis keys: short, plain.
ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,19}$"
#: A name is a button label: LINE allows 20 characters.
LABEL_MAX = 20


def weekday_names(value: dict[str, OpeningHours | None]) -> dict[str, OpeningHours | None]:
    unknown = sorted(set(value) - set(WEEKDAYS))
    if unknown:
        raise ValueError(f"unknown weekday(s) {unknown}; use {list(WEEKDAYS)}")
    return value


class Menu(BaseModel):
    """What a runner books: its own length and price; ``visits`` says who is offered it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=LABEL_MAX)
    minutes: int = Field(ge=10, le=480)
    price: str = ""
    #: ``first``: runners who have not visited yet; ``repeat``: runners with a past visit; ``any``: everyone.
    visits: Literal["first", "repeat", "any"] = "any"
    description: str = ""


class Practitioner(BaseModel):
    """A practitioner with weekly shifts (clinic hours when omitted; a missing or null day is off)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=LABEL_MAX)
    shifts: dict[str, OpeningHours | None] | None = None
    days_off: list[dt.date] = Field(default_factory=list)

    @field_validator("shifts")
    @classmethod
    def _weekday_names(cls, value: dict[str, OpeningHours | None] | None) -> dict[str, OpeningHours | None] | None:
        return weekday_names(value) if value is not None else None

    def shift(self, day: dt.date, clinic_hours: OpeningHours | None) -> OpeningHours | None:
        """Working hours on ``day``, inside the clinic's opening hours; ``None`` when not working."""
        if clinic_hours is None or day in self.days_off:
            return None
        if self.shifts is None:
            return clinic_hours
        own = self.shifts.get(WEEKDAYS[day.weekday()])
        if own is None:
            return None
        start, end = max(own.open, clinic_hours.open), min(own.close, clinic_hours.close)
        return OpeningHours(open=start, close=end) if start < end else None


class BookingRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slot_minutes: int = Field(default=60, ge=5, le=240, description="the grid bookings start on")
    capacity: int = Field(default=1, ge=1, le=50, description="unnamed seats, when no practitioners are listed")
    days_ahead: int = Field(default=14, ge=1, le=90)
    min_notice_hours: int = Field(default=2, ge=0, le=72, description="how soon a new booking may start")
    cancel_deadline_hours: int = Field(default=24, ge=0, le=168)
    reminder_hour: int = Field(default=18, ge=0, le=23, description="local hour of the day-before reminder")
    first_visit: str = "初回カウンセリング・施術(約60分)"
    menus: list[Menu] = Field(default_factory=list)
    practitioners: list[Practitioner] = Field(default_factory=list)
    #: Staff confirm each booking before the runner is told 「確定」 (until then it is a 仮予約 holding the seat).
    approval: bool = False
    #: Shown in the summary before a runner confirms.
    cancellation_policy: str = ""
    #: What to wear or bring, in the confirmation and the reminder.
    what_to_bring: str = ""
    #: How long a freed seat is kept for the runner at the head of the waitlist before the next is asked.
    waitlist_hold_minutes: int = Field(default=30, ge=5, le=24 * 60)
    #: Whether the calendar feed shows callers' phone numbers (off: names only).
    feed_phone_numbers: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> BookingRules:
        for kind, items in (("menu", self.menus), ("practitioner", self.practitioners)):
            ids = [item.id for item in items]
            twice = sorted({i for i in ids if ids.count(i) > 1})
            if twice:
                raise ValueError(f"{kind} ids used twice: {twice}")
        if self.practitioners and "capacity" in self.model_fields_set:
            raise ValueError("give either capacity or practitioners: with practitioners, a time takes as many "
                             "runners as practitioners are on shift then (remove capacity)")
        if self.menus and not any(m.visits in ("first", "any") for m in self.menus):
            raise ValueError("no menu for a first visit: give one menu with visits: first or any")
        return self

    # --- what the rest of the bot reads -----------------------------------------------------------------

    @cached_property
    def menu_list(self) -> list[Menu]:
        """The menus, or the one menu a clinic file without menus describes."""
        if self.menus:
            return self.menus
        return [Menu(id="visit", name=self.first_visit[:LABEL_MAX], minutes=self.slot_minutes,
                     description=self.first_visit)]

    @cached_property
    def staff(self) -> list[Practitioner]:
        """The practitioners, or ``capacity`` unnamed seats working the clinic's hours."""
        if self.practitioners:
            return self.practitioners
        return [Practitioner(id=f"seat{i}", name=f"施術者{i}") for i in range(1, self.capacity + 1)]

    @property
    def named_practitioners(self) -> bool:
        """Whether practitioners have names runners may pick (指名)."""
        return bool(self.practitioners)

    def menu(self, menu_id: str | None) -> Menu | None:
        return next((m for m in self.menu_list if m.id == menu_id), None)

    def practitioner(self, practitioner_id: str | None) -> Practitioner | None:
        return next((p for p in self.staff if p.id == practitioner_id), None)

    def steps(self, minutes: int) -> int:
        """How many grid steps a booking of ``minutes`` holds its practitioner for."""
        return max(1, math.ceil(minutes / self.slot_minutes))
