"""The bookings page: a week of times with who is booked and why; staff confirm, cancel, move (inside the
runner's deadline too), mark attendance, add callers' bookings and copy the calendar link.

Every change tells a LINE runner and shows in the booking's history under the staff member's name; a
phone-only booking tells no one, and the page does not claim it did. The clinic and clock are the booking
tests' (10:00–13:00, one practitioner, "now" is Monday 2030-06-03 09:00 in Tokyo).
"""

from __future__ import annotations

import re

from tests.admin_helpers import HTML, form_on, hidden, login
from tests.booking_support import Clock, at, book_in_chat, bot, clock, epoch, handled, service_of
from tests.harness import BotHarness, Runner

__all__ = ["bot", "clock"]  # the booking tests' fixtures, from tests/booking_support.py


async def booked_in_chat(bot: BotHarness, day: str = "6/4(火)", time: str = "11:00") -> tuple[Runner, str]:
    runner = bot.runner()
    await runner.follow()
    await runner.tap("1分チェックを始める")
    await runner.tap("膝裏の外側")
    await book_in_chat(runner, day, time, name="山田 太郎", phone="09012345678")
    bookings = await service_of(bot).upcoming(runner.user_id)
    assert len(bookings) == 1
    return runner, bookings[0].id


async def add_by_phone(bot: BotHarness, **fields: str) -> str:
    page = await bot.client.get("/admin/bookings", headers=HTML)
    form = {"csrf": hidden(page.text, "csrf"), "nonce": hidden(page.text, "nonce"), **fields}
    done = await bot.client.post("/admin/bookings", data=form)
    return str(done.headers["location"])


async def test_the_week_shows_who_is_booked_why_and_the_seats_on_shift(bot: BotHarness) -> None:
    runner, booking_id = await booked_in_chat(bot)
    await login(bot)
    page = await bot.client.get("/admin/bookings", headers=HTML)
    assert page.status_code == 200
    assert "6/3(月)" in page.text and "6/5(水)" in page.text and "休診" in page.text  # Wednesday is closed
    assert booking_id in page.text and "未確認" in page.text
    assert "山田 太郎 様" in page.text and "090-1234-5678" in page.text
    assert "痛む場所" in page.text or "膝裏の外側" in page.text  # the answer, in the flow's words
    assert re.search(r"11:00</strong>\s*<span class=\"cap\"[^>]*>1/1</span>", page.text), "the slot is full"
    assert f"/admin/inbox/{runner.user_id}" in page.text


async def test_confirming_tells_the_runner_and_the_history_names_the_staff_member(bot: BotHarness) -> None:
    runner, booking_id = await booked_in_chat(bot)
    await login(bot, name="受付 田中")
    csrf = await form_on(bot, "/admin/bookings")
    before = len(runner.received)
    done = await bot.client.post(f"/admin/bookings/{booking_id}/confirm", data={"csrf": csrf})
    assert "done=confirmed" in done.headers["location"]
    told = await runner.wait_for_messages(before)
    assert "確認いたしました" in runner.texts(told)
    page = await bot.client.get("/admin/bookings", headers=HTML)
    assert "確認済み" in page.text and "受付 田中:確認済み" in page.text


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


async def test_staff_move_with_a_day_and_a_time_even_inside_the_runners_deadline(bot: BotHarness,
                                                                                clock: Clock) -> None:
    runner, booking_id = await booked_in_chat(bot)
    clock.now = at(3, 12)  # 23 hours before 6/4 11:00: the runner can no longer move it in the chat
    await login(bot, name="院長")
    csrf = await form_on(bot, "/admin/bookings")
    before = len(runner.received)
    done = await bot.client.post(f"/admin/bookings/{booking_id}/move",
                                 data={"csrf": csrf, "day": "2030-06-06", "time": "12:00"})
    assert "done=moved" in done.headers["location"]
    told = runner.texts(await runner.wait_for_messages(before))
    assert "6/6(木) 12:00" in told and "リマインドをお送りします" in told
    booking = await service_of(bot).bookings.get(booking_id)
    assert booking is not None and booking.start == epoch(at(6, 12))
    page = await bot.client.get("/admin/bookings?week=2030-06-03", headers=HTML)
    assert "院長:日時変更" in page.text and "6/4(火) 11:00〜12:00 → 6/6(木) 12:00〜13:00" in page.text
    full = await bot.client.post(f"/admin/bookings/{booking_id}/move",
                                 data={"csrf": csrf, "day": "2030-06-06", "time": "10:30"})
    assert "done=unavailable" in full.headers["location"]  # not a start on the clinic's grid


async def test_a_phone_booking_is_added_once_fills_the_slot_and_is_changed_without_claiming_a_message(
        bot: BotHarness) -> None:
    await login(bot)
    fields = {"day": "2030-06-07", "time": "10:00", "name": "佐藤 花子", "phone": "０９０１２３４５６７８"}
    page = await bot.client.get("/admin/bookings", headers=HTML)
    form = {"csrf": hidden(page.text, "csrf"), "nonce": hidden(page.text, "nonce"), **fields}
    first = await bot.client.post("/admin/bookings", data=form)
    assert "done=added" in first.headers["location"]
    second = await bot.client.post("/admin/bookings", data=form)  # the same form sent twice
    assert "done=already" in second.headers["location"]
    [booking] = await service_of(bot).bookings.between(epoch(at(7, 0)), epoch(at(8, 0)))
    assert booking.name == "佐藤 花子" and booking.phone == "090-1234-5678" and booking.user_id.startswith("tel:")
    week = await bot.client.get("/admin/bookings", headers=HTML)
    assert "佐藤 花子 様" in week.text
    csrf = hidden(week.text, "csrf")
    moved = await bot.client.post(f"/admin/bookings/{booking.id}/move",
                                  data={"csrf": csrf, "day": "2030-06-07", "time": "12:00"})
    assert "done=moved_phone" in moved.headers["location"]
    cancelled = await bot.client.post(f"/admin/bookings/{booking.id}/cancel", data={"csrf": csrf})
    notice = await bot.client.get(cancelled.headers["location"], headers=HTML)
    assert "LINE でのお知らせはありません" in notice.text and "ランナーさんにお知らせしました" not in notice.text


async def test_a_phone_booking_checks_the_number_and_needs_a_name(bot: BotHarness) -> None:
    await login(bot)
    assert "done=bad_phone" in await add_by_phone(bot, day="2030-06-07", time="10:00", name="佐藤",
                                                    phone="12-34")
    assert "done=no_name" in await add_by_phone(bot, day="2030-06-07", time="10:00")
    assert await service_of(bot).bookings.between(epoch(at(7, 0)), epoch(at(8, 0))) == []


async def test_a_phone_booking_for_a_line_friend_keeps_the_callers_name_and_is_told_on_line(
        bot: BotHarness) -> None:
    runner = bot.runner("U" + "a" * 32)
    await runner.follow()
    await login(bot)
    before = len(runner.received)
    await add_by_phone(bot, day="2030-06-07", time="11:00", name="鈴木 一郎", line_user_id=runner.user_id)
    told = runner.texts(await runner.wait_for_messages(before))
    assert "お電話でのご予約を承りました" in told and "6/7(金) 11:00" in told
    [booking] = await service_of(bot).upcoming(runner.user_id)
    assert booking.name == "鈴木 一郎"
    await handled(bot, runner.user_id)


async def test_staff_mark_attendance_once_the_day_has_come(bot: BotHarness, clock: Clock) -> None:
    _runner, booking_id = await booked_in_chat(bot)
    await login(bot, name="受付 田中")
    csrf = await form_on(bot, "/admin/bookings")
    early = await bot.client.post(f"/admin/bookings/{booking_id}/attended", data={"csrf": csrf})
    assert "done=early" in early.headers["location"]
    clock.now = at(4, 12)
    done = await bot.client.post(f"/admin/bookings/{booking_id}/attended", data={"csrf": csrf})
    assert "done=attended" in done.headers["location"]
    booking = await service_of(bot).bookings.get(booking_id)
    assert booking is not None and booking.attendance == "attended"
    page = await bot.client.get("/admin/bookings", headers=HTML)
    assert "受付 田中:来院" in page.text


async def test_the_page_shows_the_calendar_link_to_copy_and_makes_a_new_one(bot: BotHarness) -> None:
    await login(bot)
    page = await bot.client.get("/admin/bookings", headers=HTML)
    found = re.search(r'id="feed-url" class="mono" value="(http://bot/calendar/[0-9a-f]{32}\.ics)"', page.text)
    assert found, "the .ics link is on the page"
    old = found.group(1).removeprefix("http://bot")
    assert (await bot.client.get(old)).status_code == 200
    await bot.client.post("/admin/calendar-feed/rotate", data={"csrf": hidden(page.text, "csrf")})
    assert (await bot.client.get(old)).status_code == 404
    fresh = await bot.client.get("/admin/bookings", headers=HTML)
    new = re.search(r'value="http://bot(/calendar/[0-9a-f]{32}\.ics)"', fresh.text)
    assert new and new.group(1) != old and (await bot.client.get(new.group(1))).status_code == 200
