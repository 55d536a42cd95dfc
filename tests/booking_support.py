"""What the booking tests share: a small clinic with known hours, a settable clock, and waiting helpers.

The clinic opens 10:00–13:00 (three 60-minute slots), closed on Wednesdays and on Saturday 2030-06-08;
"now" starts on Monday 2030-06-03 at 09:00 in Tokyo, far from the real clock, so the web process's own
scheduler never fires these bookings' reminders on its own.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.features.booking.service import BookingService
from bot.store import keys
from tests.harness import BotHarness, Runner, event
from tests.standin_server import StandinServer

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = dt.datetime(2030, 6, 3, 9, 0, tzinfo=TOKYO)
STAFF = "U" + "5" * 32


def at(day: int, hour: int, month: int = 6) -> dt.datetime:
    return dt.datetime(2030, month, day, hour, 0, tzinfo=TOKYO)


def epoch(moment: dt.datetime) -> int:
    return int(moment.timestamp())


class Clock:
    """The booking service's clock; tests move it instead of waiting."""

    def __init__(self, now: dt.datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


#: A clinic with menus and practitioners: a 15-minute grid, 60- and 45-minute menus; 佐藤 works every open day,
#: 鈴木 only Tuesday mornings (10:00–12:00) and not on 6/11.
MENUS = [{"id": "first", "name": "初回カウンセリング+施術", "minutes": 60, "price": "6,600円", "visits": "first"},
         {"id": "repeat", "name": "2回目以降", "minutes": 45, "price": "5,500円", "visits": "repeat"}]
PRACTITIONERS = [{"id": "sato", "name": "佐藤"},
                 {"id": "suzuki", "name": "鈴木", "shifts": {"tue": {"open": "10:00", "close": "12:00"}},
                  "days_off": ["2030-06-11"]}]


def team_clinic(folder: Path, **booking: Any) -> Path:
    return write_clinic(folder, slot_minutes=15, menus=MENUS, practitioners=PRACTITIONERS, **booking)


def write_clinic(folder: Path, **booking: Any) -> Path:
    hours = {day: {"open": "10:00", "close": "13:00"} for day in ("mon", "tue", "thu", "fri", "sat", "sun")}
    config = {
        "name": "テスト整体院", "address": "東京都テスト区1-2-3", "phone": "03-1111-2222",
        "timezone": "Asia/Tokyo", "hours": {**hours, "wed": None}, "closed_dates": ["2030-06-08"],
        "booking": {"slot_minutes": 60, "days_ahead": 14, "min_notice_hours": 2, "cancel_deadline_hours": 24,
                    "reminder_hour": 18, **({} if "practitioners" in booking else {"capacity": 1}), **booking},
        "staff_user_ids": [STAFF],
    }
    path = folder / "clinic.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


@asynccontextmanager
async def booking_bot(redis_url: str, line: StandinServer, folder: Path, clock: Clock, *,
                      clinic: Path | None = None, **booking: Any) -> AsyncIterator[BotHarness]:
    """A bot on the tests' clinic (or ``clinic``, a file written by :func:`team_clinic`) at ``clock``."""
    config = clinic or write_clinic(folder, **booking)
    async with BotHarness.running(redis_url=redis_url, line=line, clinic_config=config,
                                  inline_scheduler=False) as bot:
        service_of(bot).clock = clock
        yield bot


@pytest.fixture
def clock() -> Clock:
    """The booking tests' clock (a fixture: import it, with :func:`bot`, into a test module)."""
    return Clock(NOW)


@pytest.fixture
async def bot(redis_url: str, line: StandinServer, tmp_path: Path, clock: Clock) -> AsyncIterator[BotHarness]:
    """A bot on the booking tests' clinic, at ``clock``."""
    async with booking_bot(redis_url, line, tmp_path, clock) as harness:
        yield harness


def service_of(bot: BotHarness) -> BookingService:
    return bot.runtime.parts.need(BookingService)


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.01)


async def handled(bot: BotHarness, user_id: str, timeout: float = 5.0) -> None:
    """Wait until everything queued for this runner has been handled and sent."""
    redis = bot.runtime.store.redis
    deadline = time.monotonic() + timeout
    while await redis.llen(keys.inbox(user_id)) or await redis.llen(keys.outbox(user_id)) \
            or await redis.exists(keys.lock(user_id)):
        assert time.monotonic() < deadline, "the runner's events were not handled in time"
        await asyncio.sleep(0.01)


async def post_tap(bot: BotHarness, user_id: str, data: str) -> None:
    """A tap whose answer we do not wait for (a double tap may rightly get none)."""
    token = bot.line.issue_reply_token(user_id)
    response = await bot.post_events([event(user_id, "postback", token, postback={"data": data})])
    assert response.status_code == 200


def staff_texts(bot: BotHarness) -> list[str]:
    return bot.line.texts_for(STAFF)


async def through_intake(runner: Runner, *, name: str | None = None, phone: str | None = None
                         ) -> list[dict[str, Any]]:
    """The 問診 after choosing a time, as a first-time runner answers it: the LINE name (or a typed one), then
    a phone number or none. A runner who booked before goes straight to the summary."""
    labels = runner.visible_labels()
    if "このお名前で進む" not in labels and "やめる" not in labels:
        return runner.received[-1:]
    if name is None:
        await runner.tap("このお名前で進む")
    else:
        await runner.say(name)
    if phone is None:
        return await runner.tap("電話番号なしで進む")
    return await runner.say(phone)


async def book_in_chat(runner: Runner, day: str = "6/4(火)", time: str = "11:00", **intake: Any
                       ) -> list[dict[str, Any]]:
    await runner.say("予約")
    await runner.tap(day)
    await runner.tap(time)
    await through_intake(runner, **intake)
    return await runner.tap("この内容で予約する")
