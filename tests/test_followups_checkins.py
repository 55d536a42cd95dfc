"""Check-ins a few days after the video: scheduled by the flow, sent once, never at night, never unwanted."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bot.features.booking.service import BookingService
from bot.features.followups.schedule import plan_checkin
from bot.plugins import FEATURES
from bot.runtime import build_runtime
from bot.scheduling.scheduler import Job
from bot.store import keys
from tests.harness import ADMIN, BotHarness, Runner, actions_in, walk_to_result

JST = dt.timezone(dt.timedelta(hours=9))
AUTH = {"Authorization": f"Bearer {ADMIN}"}
CHECKIN_QUESTION = "その後、膝裏の具合は"


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def staff_view(bot: BotHarness, user_id: str) -> dict[str, Any]:
    response = await bot.client.get(f"/admin/api/users/{user_id}", headers=AUTH)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def checkins(bot: BotHarness, runner: Runner) -> list[Job]:
    return [j for j in await bot.runtime.scheduler.jobs_for(runner.user_id) if j.kind == "checkin"]


async def settled(bot: BotHarness, runner: Runner) -> bool:
    """The runner's inbox and outbox are empty: everything queued was handled and sent."""
    redis = bot.runtime.store.redis
    return not await redis.llen(keys.inbox(runner.user_id)) and not await redis.llen(keys.outbox(runner.user_id))


async def make_due(bot: BotHarness, runner: Runner) -> list[dict[str, Any]]:
    """Move time to the check-in's due moment and wait for what the runner receives."""
    [job] = await checkins(bot, runner)
    before = len(runner.received)
    assert await bot.runtime.scheduler.run_due(now=job.due) >= 1
    assert await checkins(bot, runner) == []
    await eventually(lambda: settled(bot, runner))
    return await runner.wait_for_messages(before, timeout=1.0)


async def test_finishing_the_check_shows_a_checkin_to_staff_that_a_block_removes(bot: BotHarness) -> None:
    runner = bot.runner()
    await walk_to_result(runner, "膝裏の外側")
    scheduled = (await staff_view(bot, runner.user_id))["scheduled"]
    assert [s["kind"] for s in scheduled] == ["checkin"]
    due = dt.datetime.fromisoformat(scheduled[0]["due"])
    assert dt.timedelta(days=2) <= due - dt.datetime.now(JST) <= dt.timedelta(days=7)
    assert 9 <= due.astimezone(JST).hour < 21

    await runner.unfollow()
    await eventually(lambda: _gone(bot, runner))
    response = await bot.client.get(f"/admin/api/users/{runner.user_id}", headers=AUTH)
    assert response.status_code == 404
    assert await bot.runtime.scheduler.run_due(now=due.timestamp() + 1) == 0


async def _gone(bot: BotHarness, runner: Runner) -> bool:
    return not await bot.runtime.scheduler.jobs_for(runner.user_id)


async def test_a_due_checkin_is_sent_once_by_push_with_a_retry_key_even_with_two_workers(
        bot: BotHarness) -> None:
    runner = bot.runner()
    await walk_to_result(runner, "膝裏の内側")
    [job] = await checkins(bot, runner)
    worker = await build_runtime(bot.runtime.settings, FEATURES)
    worker.start_consumers(1)
    try:
        before = len(runner.received)
        queued = await asyncio.gather(bot.runtime.scheduler.run_due(now=job.due + 1),
                                      worker.scheduler.run_due(now=job.due + 1))
        assert sorted(queued) == [0, 1]
        await eventually(lambda: settled(bot, runner))
        got = await runner.wait_for_messages(before, timeout=1.0)
    finally:
        await worker.shutdown()
    assert runner.texts(got).count(CHECKIN_QUESTION) == 1
    assert runner.visible_labels()[-3:] == ["良くなった", "変わらない", "悪化した"]
    pushes = [r for r in bot.line.state.requests if r.path.endswith("/message/push")
              and r.body.get("to") == runner.user_id]
    assert len(pushes) == 1 and pushes[0].retry_key
    assert await checkins(bot, runner) == []


async def test_same_after_the_video_gets_a_booking_offer_and_a_second_checkin_later(bot: BotHarness) -> None:
    runner = bot.runner()
    await walk_to_result(runner, "膝裏の外側")
    await make_due(bot, runner)
    answer = await runner.tap("変わらない")
    assert "相談を予約する" in runner.visible_labels()
    assert "必ず" not in runner.texts(answer)
    [second] = await checkins(bot, runner)
    assert second.data["step"] == "checkin_later"
    assert second.due - time.time() >= 6.5 * 86400

    later = await make_due(bot, runner)
    assert "前回「変わらない」" in runner.texts(later)
    assert CHECKIN_QUESTION in runner.texts(later)


async def test_worse_with_a_warning_sign_is_sent_to_a_doctor_without_a_sales_push(bot: BotHarness) -> None:
    runner = bot.runner()
    await walk_to_result(runner, "真ん中・全体")
    await make_due(bot, runner)
    screen = await runner.tap("悪化した")
    assert "腫れ" in runner.texts(screen) and "しびれ" in runner.texts(screen)
    doctor = await runner.tap("当てはまるものがある")
    assert "整形外科" in runner.texts(doctor)
    assert not [a for m in doctor for a in actions_in(m)]  # no booking button, no sales push
    view = await staff_view(bot, runner.user_id)
    assert "red_flag" in view["tags"] and view["answer_values"]["checkin"] == "worse"


async def test_worse_without_warning_signs_gets_gentler_care_and_a_booking_offer(bot: BotHarness) -> None:
    runner = bot.runner()
    await walk_to_result(runner, "膝裏の外側")
    await make_due(bot, runner)
    await runner.tap("悪化した")
    care = await runner.tap("どれも当てはまらない")
    assert "痛気持ちいい" in runner.texts(care)
    assert "相談を予約する" in runner.visible_labels()


async def test_better_gets_encouragement_and_the_running_form_points(bot: BotHarness) -> None:
    runner = bot.runner()
    await walk_to_result(runner, "膝裏の外側")
    await make_due(bot, runner)
    better = await runner.tap("良くなった")
    text = runner.texts(better)
    assert "うれしい" in text and "上半身をまっすぐ" in text and "体の真下" in text
    assert await checkins(bot, runner) == []


async def test_a_checkin_due_at_night_waits_for_the_morning(bot: BotHarness) -> None:
    runner = bot.runner()
    await walk_to_result(runner, "膝裏の外側")
    follow_up = bot.runtime.parts.flows.flows["knee_back"].flow.follow_ups[0]
    scheduler = bot.runtime.scheduler

    def days_before(moment: dt.datetime) -> dt.datetime:
        return moment - dt.timedelta(seconds=follow_up.delay_seconds)

    late = await plan_checkin(scheduler, runner.user_id, "knee_back", follow_up,
                              days_before(dt.datetime(2030, 5, 10, 23, 0, tzinfo=JST)))
    assert dt.datetime.fromtimestamp(late.due, JST) == dt.datetime(2030, 5, 11, 9, 0, tzinfo=JST)

    # Due at 20:30, but nothing ran until 23:30 (workers down): it waits for 9:00 instead of going now.
    job = await plan_checkin(scheduler, runner.user_id, "knee_back", follow_up,
                             days_before(dt.datetime(2030, 5, 10, 20, 30, tzinfo=JST)))
    before = len(runner.received)
    night = dt.datetime(2030, 5, 10, 23, 30, tzinfo=JST).timestamp()
    assert await scheduler.run_due(now=night) == 0
    morning = dt.datetime(2030, 5, 11, 9, 0, tzinfo=JST).timestamp()
    assert await bot.runtime.store.redis.zscore("lb:{sched}:due", job.id) == morning
    assert await scheduler.run_due(now=morning - 1) == 0
    assert len(runner.received) == before

    assert await scheduler.run_due(now=morning) == 1
    got = await runner.wait_for_messages(before)
    assert CHECKIN_QUESTION in runner.texts(got)


async def test_stop_holds_checkins_and_resume_lets_them_come_again(bot: BotHarness) -> None:
    quiet, chatty = bot.runner(), bot.runner()
    await walk_to_result(quiet, "膝裏の外側")
    stopped = await quiet.say("配信停止")
    assert "停止しました" in quiet.texts(stopped) and "配信再開" in quiet.texts(stopped)
    assert (await staff_view(bot, quiet.user_id))["scheduled"][0]["held"] is True
    assert await make_due(bot, quiet) == []
    assert (await staff_view(bot, quiet.user_id))["scheduled"] == []

    await walk_to_result(chatty, "膝裏の外側")
    await chatty.say("配信停止")
    resumed = await chatty.say("配信再開")
    assert "再開しました" in chatty.texts(resumed)
    assert (await staff_view(bot, chatty.user_id))["scheduled"][0]["held"] is False
    assert CHECKIN_QUESTION in chatty.texts(await make_due(bot, chatty))


async def test_a_runner_with_an_upcoming_booking_is_not_chased(bot: BotHarness) -> None:
    runner = bot.runner()
    await walk_to_result(runner, "膝裏の外側")
    booking = bot.runtime.parts.need(BookingService)
    start = (await booking.free_starts())[0]
    result = await booking.reserve(runner.user_id, int(start.timestamp()), "nonce-1", "staff-test")
    assert result.outcome == "ok"
    assert CHECKIN_QUESTION not in runner.texts(await make_due(bot, runner))
