"""A clinic upgrading keeps its bookings: records written before menus and practitioners are given a
practitioner's time at start-up, so the seat they hold is not given again, and read as before."""

from __future__ import annotations

import json
from pathlib import Path

import redis

from bot.features.booking.migrate import LEGACY_TAKEN, SCHEMA
from bot.features.booking.store import BY_START, RECORDS, busy_key, runner_index
from tests.booking_support import NOW, Clock, at, booking_bot, epoch, service_of
from tests.harness import ADMIN
from tests.standin_server import StandinServer

RUNNER = "U" + "e" * 32


def write_old_booking(url: str, booking_id: str, hour: int) -> None:
    """A booking as the previous version stored it: no menu, no practitioner, a per-start seat counter."""
    start = epoch(at(4, hour))
    record = {"id": booking_id, "user_id": RUNNER, "start": start, "status": "confirmed", "created_at": 1.0,
              "updated_at": 1.0, "staff_checked": False,
              "history": [{"at": 1.0, "by": "runner", "did": "booked", "start": start, "cause": "e"}]}
    client = redis.Redis.from_url(url, decode_responses=True)
    client.hset(RECORDS, booking_id, json.dumps(record, ensure_ascii=False, separators=(",", ":"), sort_keys=True))
    client.zadd(BY_START, {booking_id: start})
    client.zadd(runner_index(RUNNER), {booking_id: start})
    client.hincrby(LEGACY_TAKEN, str(start), 1)
    client.close()


async def test_old_bookings_keep_their_seat_after_the_upgrade(redis_url: str, line: StandinServer,
                                                              tmp_path: Path) -> None:
    write_old_booking(redis_url, "bold11", 11)
    async with booking_bot(redis_url, line, tmp_path, Clock(NOW)) as bot:
        service = service_of(bot)
        store = bot.runtime.store.redis
        assert await store.hgetall(busy_key("seat1", at(4, 11).date())) == {str(epoch(at(4, 11))): "bold11"}
        assert await store.get(SCHEMA) == "2" and not await store.exists(LEGACY_TAKEN)
        assert at(4, 11) not in await service.free_starts(at(4, 11).date())
        taken = await service.reserve("U" + "f" * 32, epoch(at(4, 11)), "late", cause="e2")
        assert taken.outcome == "full"
        [listed] = (await bot.client.get("/admin/api/bookings",
                                         headers={"Authorization": f"Bearer {ADMIN}"})).json()
        assert listed["id"] == "bold11" and listed["menu"] == "初回カウンセリング・施術(約60分)"
        assert listed["name"] is None and listed["practitioner"] is None
        assert [b.id for b in await service.bookings_of(RUNNER)] == ["bold11"]
        cancelled = await service.cancel("bold11", by="runner", cause="e3", user_id=RUNNER)
        assert cancelled.outcome == "ok" and at(4, 11) in await service.free_starts(at(4, 11).date())
