"""The last free seat is given exactly once, however many runners confirm it at the same moment."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.features.booking import messages
from bot.features.booking.store import TAKEN
from tests.booking_support import NOW, Clock, at, booking_bot, epoch, eventually, service_of
from tests.harness import BotHarness, event
from tests.standin_server import StandinServer

RUNNERS = 50


@pytest.fixture
async def bot(redis_url: str, line: StandinServer, tmp_path: Path) -> AsyncIterator[BotHarness]:
    async with booking_bot(redis_url, line, tmp_path, Clock(NOW), capacity=1) as harness:
        yield harness


async def test_fifty_concurrent_confirmations_for_one_seat_make_one_booking(bot: BotHarness) -> None:
    service = service_of(bot)
    start = epoch(at(4, 11))
    results = await asyncio.gather(*[
        service.reserve(f"U{i:032x}", start, nonce=f"summary-{i}", cause=f"event-{i}") for i in range(RUNNERS)
    ])
    assert sorted(r.outcome for r in results).count("ok") == 1
    assert {r.outcome for r in results} == {"ok", "full"}
    assert len(await service.bookings.between(start, start + 1)) == 1
    assert await bot.runtime.store.redis.hget(TAKEN, str(start)) == "1"


async def test_two_seats_go_to_exactly_two_of_fifty(redis_url: str, line: StandinServer, tmp_path: Path) -> None:
    async with booking_bot(redis_url, line, tmp_path, Clock(NOW), capacity=2) as two_seats:
        service = service_of(two_seats)
        start = epoch(at(4, 11))
        results = await asyncio.gather(*[
            service.reserve(f"U{i:032x}", start, nonce=f"s-{i}", cause=f"e-{i}") for i in range(RUNNERS)
        ])
        assert [r.outcome for r in results].count("ok") == 2


async def test_one_confirm_button_tapped_many_times_at_once_books_once(bot: BotHarness) -> None:
    service = service_of(bot)
    runner = "U" + "a" * 32
    results = await asyncio.gather(*[
        service.reserve(runner, epoch(at(4, 11)), nonce="one-summary", cause=f"tap-{i}") for i in range(20)
    ])
    assert [r.outcome for r in results].count("ok") == 1
    assert {r.booking.id for r in results if r.booking} == {(await service.upcoming(runner))[0].id}


async def test_fifty_runners_confirming_through_webhooks_get_one_booking_and_49_kind_apologies(
        bot: BotHarness) -> None:
    start = epoch(at(4, 11))
    runners = [f"U{i:032x}" for i in range(1, RUNNERS + 1)]
    deliveries = [
        bot.post_events([event(user, "postback", bot.line.issue_reply_token(user),
                               postback={"data": messages.data("booking.confirm", s=start, r=f"n{i}")})])
        for i, user in enumerate(runners)
    ]
    responses = await asyncio.gather(*deliveries)
    assert {r.status_code for r in responses} == {200}
    await eventually(lambda: all(bot.line.texts_for(u) for u in runners), timeout=30)
    texts = [bot.line.texts_for(u)[0] for u in runners]
    assert sum("ご予約を承りました" in t for t in texts) == 1
    assert sum("たった今" in t for t in texts) == RUNNERS - 1
    listed = await bot.client.get("/admin/api/bookings", headers={"Authorization": "Bearer test-admin-token"})
    assert [b["start"] for b in listed.json()] == ["2030-06-04T11:00:00+09:00"]
