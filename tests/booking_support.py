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

import yaml

from bot.features.booking.service import BookingService
from bot.store import keys
from tests.harness import BotHarness, event
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


def write_clinic(folder: Path, **booking: Any) -> Path:
    hours = {day: {"open": "10:00", "close": "13:00"} for day in ("mon", "tue", "thu", "fri", "sat", "sun")}
    config = {
        "name": "テスト整体院", "address": "東京都テスト区1-2-3", "phone": "03-1111-2222",
        "timezone": "Asia/Tokyo", "hours": {**hours, "wed": None}, "closed_dates": ["2030-06-08"],
        "booking": {"slot_minutes": 60, "capacity": 1, "days_ahead": 14, "min_notice_hours": 2,
                    "cancel_deadline_hours": 24, "reminder_hour": 18, **booking},
        "staff_user_ids": [STAFF],
    }
    path = folder / "clinic.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


@asynccontextmanager
async def booking_bot(redis_url: str, line: StandinServer, folder: Path, clock: Clock,
                      **booking: Any) -> AsyncIterator[BotHarness]:
    async with BotHarness.running(redis_url=redis_url, line=line, clinic_config=write_clinic(folder, **booking),
                                  inline_scheduler=False) as bot:
        service_of(bot).clock = clock
        yield bot


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
