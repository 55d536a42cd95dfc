"""キャンセル待ち: a runner waits for a full day; when a seat frees, the first waiting runner is offered it by
push with a hold only they can use, then — when they pass or the hold runs out — the next.

The clinic and clock are the booking tests' (10:00–13:00, one practitioner, "now" is Monday 2030-06-03 09:00);
Tuesday 6/4 is made full by three other bookings. Scheduled sends are run by hand at the test's clock.
"""

from __future__ import annotations

import datetime as dt

from bot.features.booking.waitlist import Waitlist
from tests.booking_support import (
    Clock,
    at,
    bot,
    clock,
    epoch,
    handled,
    service_of,
    through_intake,
)
from tests.harness import BotHarness, Runner

FULL_DAY = "6/4(火)"


__all__ = ["bot", "clock"]  # the booking tests' fixtures, from tests/booking_support.py


async def fill_tuesday(bot: BotHarness) -> dict[int, str]:
    """Three other people take 10:00, 11:00 and 12:00 on Tuesday; returns hour -> booking id."""
    taken = {}
    for hour in (10, 11, 12):
        result = await service_of(bot).reserve(f"U{hour:032x}", epoch(at(4, hour)), f"fill-{hour}", cause="e")
        assert result.booking is not None
        taken[hour] = result.booking.id
    return taken


async def wait_for(runner: Runner, time: str) -> list[dict[str, object]]:
    await runner.follow()
    days = await runner.say("予約")
    assert FULL_DAY not in runner.visible_labels() and "キャンセル待ち" in runner.visible_labels(), days
    await runner.tap("キャンセル待ち")
    await runner.tap(FULL_DAY)
    return await runner.tap(time)


async def run_scheduled(bot: BotHarness, clock: Clock, *runners: Runner) -> None:
    await bot.runtime.scheduler.run_due(now=clock.now.timestamp())
    for runner in runners:
        await handled(bot, runner.user_id)


async def test_a_freed_seat_is_offered_to_the_first_waiting_runner_and_held_for_them(
        bot: BotHarness, clock: Clock) -> None:
    taken = await fill_tuesday(bot)
    first, second = bot.runner(), bot.runner()
    joined = await wait_for(first, "11:00")
    assert "キャンセル待ちに\n登録しました" in first.texts(joined) and "6/4(火) 11:00" in first.texts(joined)
    await wait_for(second, "この日ならいつでも")
    await service_of(bot).cancel(taken[11], by="staff", cause="staff-cancel")
    before = len(first.received)
    await run_scheduled(bot, clock, first, second)
    offer = first.texts(first.received[before:])
    assert "キャンセル待ちの\nお知らせです" in offer and "6/4(火) 11:00〜12:00" in offer and "09:30まで" in offer
    assert not any("キャンセル待ちの\nお知らせです" in t for t in bot.line.texts_for(second.user_id))
    # The seat is held: nobody else is offered it meanwhile, however they ask.
    assert at(4, 11) not in await service_of(bot).free_starts(at(4, 11).date(), user_id=second.user_id)
    assert at(4, 11) in await service_of(bot).free_starts(at(4, 11).date(), user_id=first.user_id)
    await first.tap("この日時で予約する")
    await through_intake(first)
    done = await first.tap("この内容で予約する")
    assert "ご予約を承りました" in first.texts(done)
    [booking] = await service_of(bot).upcoming(first.user_id)
    assert booking.start == epoch(at(4, 11))
    clock.now = at(3, 9) + dt.timedelta(minutes=31)
    await run_scheduled(bot, clock, first, second)  # the hold's end: it was used, nobody else is asked
    assert not any("キャンセル待ちの\nお知らせです" in t for t in bot.line.texts_for(second.user_id))


async def test_when_the_first_passes_or_lets_the_hold_run_out_the_next_is_offered(
        bot: BotHarness, clock: Clock) -> None:
    taken = await fill_tuesday(bot)
    first, second, third = bot.runner(), bot.runner(), bot.runner()
    await wait_for(first, "この日ならいつでも")
    await wait_for(second, "この日ならいつでも")
    await wait_for(third, "12:00")  # wants another time: not offered 10:00
    await service_of(bot).cancel(taken[10], by="staff", cause="staff-cancel")
    await run_scheduled(bot, clock, first)
    passed = await first.tap("今回は見送る")
    assert "承知しました" in first.texts(passed)
    await run_scheduled(bot, clock, second)
    offers = [t for t in bot.line.texts_for(second.user_id) if "キャンセル待ちの\nお知らせです" in t]
    assert len(offers) == 1 and "6/4(火) 10:00〜11:00" in offers[0]
    clock.now = at(3, 9) + dt.timedelta(minutes=31)  # second says nothing; the 30-minute hold runs out
    await run_scheduled(bot, clock, second, third)
    assert not any("キャンセル待ちの\nお知らせです" in t for t in bot.line.texts_for(third.user_id))
    assert at(4, 10) in await service_of(bot).free_starts(at(4, 10).date(), user_id=third.user_id)


async def test_a_runner_sees_and_stops_their_waiting_in_yoyaku_kakunin(bot: BotHarness) -> None:
    await fill_tuesday(bot)
    runner = bot.runner()
    await wait_for(runner, "12:00")
    listed = await runner.say("予約確認")
    assert "キャンセル待ち:\n6/4(火) 12:00" in runner.texts(listed)
    stopped = await runner.tap("キャンセル待ちをやめる")
    assert "やめました" in runner.texts(stopped)
    assert await bot.runtime.parts.need(Waitlist).entries_for(runner.user_id) == []
