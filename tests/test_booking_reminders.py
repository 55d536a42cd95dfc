"""The day-before reminder: sent once at the clinic's reminder hour, never for a cancelled or moved booking."""

from __future__ import annotations

import asyncio

from bot.delivery.queue import EventQueue
from bot.features.booking.service import reminder_job_id
from bot.scheduling.scheduler import Scheduler
from bot.store import connect
from tests.booking_support import Clock, at, bot, clock, epoch, handled, service_of
from tests.harness import BotHarness

RUNNER = "U" + "d" * 32


__all__ = ["bot", "clock"]  # the booking tests' fixtures, from tests/booking_support.py


def reminders(bot: BotHarness) -> list[str]:
    return [t for t in bot.line.texts_for(RUNNER) if "明日はご予約の日です" in t]


async def book(bot: BotHarness, day: int, hour: int) -> str:
    result = await service_of(bot).reserve(RUNNER, epoch(at(day, hour)), nonce="n", cause="e")
    assert result.booking is not None
    return result.booking.id


async def test_the_reminder_is_due_the_day_before_at_the_reminder_hour(bot: BotHarness) -> None:
    await book(bot, 6, 10)
    [job] = await bot.runtime.scheduler.jobs_for(RUNNER)
    assert job.kind == "reminder" and job.due == at(5, 18).timestamp()
    assert job.quiet_hours is False  # 18:00 is outside the clinic's quiet hours


async def test_two_workers_racing_send_exactly_one_reminder(bot: BotHarness, redis_url: str) -> None:
    await book(bot, 6, 10)
    due = at(5, 18).timestamp()
    other_store = connect(redis_url)  # a second worker process: its own connection and scheduler
    try:
        clinic = bot.runtime.parts.clinic
        second = Scheduler(other_store, EventQueue(other_store, dedupe_seconds=3600),
                           quiet=clinic.quiet_hours, tz=clinic.tz)
        queued = await asyncio.gather(bot.runtime.scheduler.run_due(now=due), second.run_due(now=due),
                                      bot.runtime.scheduler.run_due(now=due + 1), second.run_due(now=due + 61))
    finally:
        await other_store.close()
    assert sum(queued) >= 1
    await handled(bot, RUNNER)
    assert len(reminders(bot)) == 1
    assert "6/6(木) 10:00〜11:00" in reminders(bot)[0]


async def test_a_cancelled_booking_gets_no_reminder_even_if_its_job_was_already_queued(
        bot: BotHarness) -> None:
    booking_id = await book(bot, 6, 10)
    [job] = await bot.runtime.scheduler.jobs_for(RUNNER)
    stale = job.dumps()
    await service_of(bot).cancel(booking_id, by="runner", cause="c", user_id=RUNNER)
    assert await bot.runtime.scheduler.jobs_for(RUNNER) == []  # the job was cancelled with the booking
    await bot.runtime.scheduler.schedule(type(job).loads(stale))  # a worker had it in hand already
    await bot.runtime.scheduler.run_due(now=at(5, 18).timestamp())
    await handled(bot, RUNNER)
    assert reminders(bot) == []


async def test_a_moved_booking_is_reminded_for_its_new_time_only(bot: BotHarness) -> None:
    booking_id = await book(bot, 6, 10)
    [old_job] = await bot.runtime.scheduler.jobs_for(RUNNER)
    stale = old_job.dumps()
    moved = await service_of(bot).move(booking_id, RUNNER, epoch(at(7, 11)), cause="m")
    assert moved.booking is not None
    [new_job] = await bot.runtime.scheduler.jobs_for(RUNNER)
    assert new_job.id == reminder_job_id(moved.booking) and new_job.due == at(6, 18).timestamp()
    await bot.runtime.scheduler.schedule(type(old_job).loads(stale))  # pretend the old one slipped through
    await bot.runtime.scheduler.run_due(now=at(6, 18).timestamp())
    await handled(bot, RUNNER)
    assert len(reminders(bot)) == 1 and "6/7(金) 11:00〜12:00" in reminders(bot)[0]


async def test_a_booking_made_after_the_reminder_hour_the_day_before_gets_none(bot: BotHarness,
                                                                             clock: Clock) -> None:
    clock.now = at(3, 19)
    await book(bot, 4, 11)
    assert await bot.runtime.scheduler.jobs_for(RUNNER) == []
