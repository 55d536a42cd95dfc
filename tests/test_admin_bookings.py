"""The bookings page: a week of slots with who is booked; staff confirm, cancel, move and add phone bookings.

Every change tells the runner on LINE and shows in the booking's history. The clinic and clock are the
booking tests' (10:00–13:00, one practitioner, "now" is Monday 2030-06-03 09:00 in Tokyo).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.admin_helpers import HTML, form_on, hidden, login
from tests.booking_support import NOW, Clock, at, booking_bot, epoch, handled, service_of
from tests.harness import BotHarness, Runner
from tests.standin_server import StandinServer


@pytest.fixture
async def bot(redis_url: str, line: StandinServer, tmp_path: Path) -> AsyncIterator[BotHarness]:
    async with booking_bot(redis_url, line, tmp_path, Clock(NOW)) as harness:
        yield harness


async def booked_in_chat(bot: BotHarness, day: str = "6/4(火)", time: str = "11:00") -> tuple[Runner, str]:
    runner = bot.runner()
    await runner.follow()
    await runner.say("予約")
    await runner.tap(day)
    await runner.tap(time)
    await runner.tap("この内容で予約する")
    bookings = await service_of(bot).upcoming(runner.user_id)
    assert len(bookings) == 1
    return runner, bookings[0].id


async def test_the_week_shows_slots_capacity_and_a_booking_made_in_the_chat(bot: BotHarness) -> None:
    runner, booking_id = await booked_in_chat(bot)
    await login(bot)
    page = await bot.client.get("/admin/bookings", headers=HTML)
    assert page.status_code == 200
    assert "6/3(月)" in page.text and "6/5(水)" in page.text and "休診" in page.text  # Wednesday is closed
    assert booking_id in page.text and "未確認" in page.text
    assert re.search(r"11:00</strong>\s*<span class=\"cap\">1/1</span>", page.text), "the slot is full"
    assert f"/admin/inbox/{runner.user_id}" in page.text


async def test_confirming_tells_the_runner_and_is_kept_in_the_history(bot: BotHarness) -> None:
    runner, booking_id = await booked_in_chat(bot)
    await login(bot, name="受付 田中")
    csrf = await form_on(bot, "/admin/bookings")
    before = len(runner.received)
    done = await bot.client.post(f"/admin/bookings/{booking_id}/confirm", data={"csrf": csrf})
    assert "done=confirmed" in done.headers["location"]
    told = await runner.wait_for_messages(before)
    assert "確認いたしました" in runner.texts(told)
    page = await bot.client.get("/admin/bookings", headers=HTML)
    assert "確認済み" in page.text and "スタッフ:確認済み" in page.text


async def test_cancelling_frees_the_slot_and_tells_the_runner(bot: BotHarness) -> None:
    runner, booking_id = await booked_in_chat(bot)
    await login(bot)
    csrf = await form_on(bot, "/admin/bookings")
    before = len(runner.received)
    done = await bot.client.post(f"/admin/bookings/{booking_id}/cancel", data={"csrf": csrf})
    assert "done=cancelled" in done.headers["location"]
    assert "キャンセルとなりました" in runner.texts(await runner.wait_for_messages(before))
    booking = await service_of(bot).bookings.get(booking_id)
    assert booking is not None and booking.status == "cancelled"
    assert epoch(at(4, 11)) in [epoch(s) for s in await service_of(bot).free_starts()]


async def test_moving_keeps_the_booking_and_tells_the_runner_the_new_time(bot: BotHarness) -> None:
    runner, booking_id = await booked_in_chat(bot)
    await login(bot)
    csrf = await form_on(bot, "/admin/bookings")
    before = len(runner.received)
    done = await bot.client.post(f"/admin/bookings/{booking_id}/move",
                                 data={"csrf": csrf, "start": str(epoch(at(6, 12)))})
    assert "done=moved" in done.headers["location"]
    assert "6/6(木) 12:00" in runner.texts(await runner.wait_for_messages(before))
    booking = await service_of(bot).bookings.get(booking_id)
    assert booking is not None and booking.start == epoch(at(6, 12))
    page = await bot.client.get("/admin/bookings", headers=HTML)
    assert "日時変更" in page.text and "6/4(火) 11:00〜12:00 → 6/6(木) 12:00〜13:00" in page.text


async def test_a_phone_booking_is_added_once_and_fills_the_slot(bot: BotHarness) -> None:
    await login(bot)
    page = await bot.client.get("/admin/bookings", headers=HTML)
    form = {"csrf": hidden(page.text, "csrf"), "nonce": hidden(page.text, "nonce"),
            "start": str(epoch(at(7, 10))), "caller": "佐藤 090-1234-5678"}
    first = await bot.client.post("/admin/bookings", data=form)
    assert "done=added" in first.headers["location"]
    second = await bot.client.post("/admin/bookings", data=form)  # the same form sent twice
    assert "done=already" in second.headers["location"]
    listed = await service_of(bot).bookings.between(epoch(at(7, 0)), epoch(at(8, 0)))
    assert [b.user_id for b in listed] == ["tel:佐藤 090-1234-5678"]
    week = await bot.client.get("/admin/bookings", headers=HTML)
    assert "佐藤 090-1234-5678(電話)" in week.text


async def test_a_phone_booking_for_a_line_friend_is_told_on_line(bot: BotHarness) -> None:
    runner = bot.runner("U" + "a" * 32)
    await runner.follow()
    await login(bot)
    page = await bot.client.get("/admin/bookings", headers=HTML)
    before = len(runner.received)
    await bot.client.post("/admin/bookings", data={
        "csrf": hidden(page.text, "csrf"), "nonce": hidden(page.text, "nonce"),
        "start": str(epoch(at(7, 11))), "line_user_id": runner.user_id})
    told = await runner.wait_for_messages(before)
    assert "お電話でのご予約を承りました" in runner.texts(told) and "6/7(金) 11:00" in runner.texts(told)
    await handled(bot, runner.user_id)
