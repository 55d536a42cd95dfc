"""The last free seat is given exactly once, however many runners confirm it at the same moment."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.features.booking import messages, slots
from bot.features.booking.service import Result
from bot.features.booking.store import busy_key
from tests.booking_support import NOW, Clock, at, booking_bot, epoch, eventually, service_of, team_clinic
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
    [booked] = await service.bookings.between(start, start + 1)
    assert await bot.runtime.store.redis.hgetall(busy_key("seat1", at(4, 11).date())) == {str(start): booked.id}


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


# --- menus of different lengths and practitioners (the team clinic: a 15-minute grid, 60- and 45-minute menus,
# 佐藤 10:00–13:00 and 鈴木 10:00–12:00 on Tuesday) --------------------------------------------------------

Request = tuple[str, int, str, str | None]  # runner, start, menu, 指名


def overlapping_requests(count: int) -> list[Request]:
    """Starts every 15 minutes from 10:00 to 11:45, both menus, 指名なし / 佐藤 / 鈴木 in turn."""
    return [(f"U{i + 1:032x}", epoch(at(4, 10)) + 900 * (i % 8), "first" if i % 2 else "repeat",
             [None, "sato", "suzuki"][i % 3]) for i in range(count)]


async def confirm_all_at_once(bot: BotHarness, count: int) -> list[tuple[Request, Result]]:
    service = service_of(bot)
    requests = overlapping_requests(count)
    results = await asyncio.gather(*[
        service.reserve(user, start, nonce=f"n-{user}", cause=f"e-{user}", menu=menu, practitioner=chosen)
        for user, start, menu, chosen in requests])
    return list(zip(requests, results, strict=True))


async def assert_no_practitioner_overlaps(bot: BotHarness, results: list[tuple[Request, Result]]) -> None:
    """No practitioner holds two bookings at once; a 指名 is kept; a refusal was true; Redis agrees."""
    service = service_of(bot)
    clinic = service.clinic
    booked = [r.booking for _, r in results if r.outcome == "ok" and r.booking is not None]
    held = {b.id: set(slots.cells(clinic, b.start, b.minutes)) for b in booked}
    for first in booked:
        for second in booked:
            if first.id < second.id and first.practitioner == second.practitioner:
                assert not held[first.id] & held[second.id], f"{first.practitioner} double-booked"
    for (_user, start, menu, chosen), result in results:
        if result.outcome == "ok":
            assert result.booking is not None and (chosen is None or result.booking.practitioner == chosen)
            continue
        minutes = {"first": 60, "repeat": 45}[menu]
        wanted = set(slots.cells(clinic, start, minutes))
        on_shift = [p for p in service.candidates(chosen)
                    if slots.on_shift(clinic, p, slots.from_epoch(clinic, start), minutes)]
        assert result.outcome == ("full" if on_shift else "unavailable")
        for practitioner in on_shift:
            taken = any(wanted & held[b.id] for b in booked if b.practitioner == practitioner.id)
            assert taken, "refused although a practitioner was free"
    busy = await service.busy([at(4, 10).date()])
    assert {(p, c): h for p, cells in busy.items() for c, h in cells.items()} == {
        (b.practitioner, c): b.id for b in booked for c in held[b.id]}


async def test_fifty_confirmations_of_overlapping_menus_never_double_book_a_practitioner(
        redis_url: str, line: StandinServer, tmp_path: Path) -> None:
    async with booking_bot(redis_url, line, tmp_path, Clock(NOW), clinic=team_clinic(tmp_path)) as team:
        results = await confirm_all_at_once(team, RUNNERS)
        await assert_no_practitioner_overlaps(team, results)
        outcomes = [r.outcome for _, r in results]
        assert outcomes.count("ok") >= 3 and "full" in outcomes  # both practitioners filled, the rest refused


async def test_a_runner_who_has_visited_is_offered_the_repeat_menu(redis_url: str, line: StandinServer,
                                                                  tmp_path: Path) -> None:
    clock = Clock(NOW)
    async with booking_bot(redis_url, line, tmp_path, clock, clinic=team_clinic(tmp_path)) as team:
        service = service_of(team)
        runner = team.runner()
        assert [m.id for m in await service.menus_for(runner.user_id)] == ["first"]
        done = await service.reserve(runner.user_id, epoch(at(4, 10)), "n1", cause="e1", menu="first")
        assert done.booking is not None and done.booking.practitioner in ("sato", "suzuki")
        clock.now = at(4, 12)
        await service.mark_attendance(done.booking.id, "attended", cause="staff-1", staff="受付")
        assert [m.id for m in await service.menus_for(runner.user_id)] == ["repeat"]
        [visit] = await service.visit_history(runner.user_id)
        assert visit.attendance == "attended"
