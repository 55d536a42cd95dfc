"""The clinic's own settings (``CLINIC_CONFIG``): who they are, when they open, how booking works.

This is configuration, not code: a clinic edits one YAML file. It is checked when the app starts, and a
mistake is reported in plain words (``python -m bot check``) instead of surfacing in front of a runner.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.config.appointments import WEEKDAYS, BookingRules, weekday_names
from bot.config.hours import OpeningHours

#: Re-exported: older code imports these from here.
__all__ = ["WEEKDAYS", "BookingRules", "Clinic", "ConfigError", "OpeningHours", "QuietHours", "load_clinic"]


class ConfigError(ValueError):
    """A settings or content file is wrong; the message names the file and the place."""


class QuietHours(BaseModel):
    """No push in this window (local time); a due message waits for its end."""

    model_config = ConfigDict(extra="forbid")

    start: dt.time = dt.time(21, 0)
    end: dt.time = dt.time(9, 0)

    def contains(self, moment: dt.time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


class Faq(BaseModel):
    """Answers to what runners ask about the clinic, in its own words (opening hours, the map and the
    booking deadline come from the rest of this file). An empty answer hands the question to staff."""

    model_config = ConfigDict(extra="forbid")

    parking: str = Field(default="", max_length=1000, description="駐車場")
    payment: str = Field(default="", max_length=1000, description="支払い方法")
    insurance: str = Field(default="", max_length=1000, description="保険")
    clothing: str = Field(default="", max_length=1000, description="服装・持ち物")
    cancellation: str = Field(default="", max_length=1000, description="キャンセル規定 (after the deadline rule)")

    def answer(self, topic: str) -> str:
        return str(getattr(self, topic)).strip()


class Clinic(BaseModel):
    """Everything about the clinic that the bot says or obeys."""

    model_config = ConfigDict(extra="forbid")

    name: str
    address: str
    phone: str
    access: str = ""
    price: str = ""
    url: str | None = None
    timezone: str = "Asia/Tokyo"
    hours: dict[str, OpeningHours | None] = Field(default_factory=dict)
    closed_dates: list[dt.date] = Field(default_factory=list)
    booking: BookingRules = Field(default_factory=BookingRules)
    quiet_hours: QuietHours = Field(default_factory=QuietHours)
    staff_user_ids: list[str] = Field(default_factory=list)
    default_flow: str = "knee_back"
    faq: Faq = Field(default_factory=Faq)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("hours")
    @classmethod
    def _weekday_names(cls, value: dict[str, OpeningHours | None]) -> dict[str, OpeningHours | None]:
        return weekday_names(value)

    @field_validator("url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must be a web address, https://… (runners open it as the map link)")
        return value

    @field_validator("staff_user_ids")
    @classmethod
    def _line_user_ids(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not (v.startswith("U") and len(v) == 33)]
        if bad:
            raise ValueError(f"not LINE user ids (U + 32 hex): {bad}")
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def opening(self, day: dt.date) -> OpeningHours | None:
        """Opening hours on ``day``, or ``None`` when closed."""
        if day in self.closed_dates:
            return None
        return self.hours.get(WEEKDAYS[day.weekday()])


def load_clinic(path: Path) -> Clinic:
    """Read and check the clinic file; raise ``ConfigError`` naming the file and field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found (set CLINIC_CONFIG)") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return Clinic.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from exc
