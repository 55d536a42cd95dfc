"""The staff side: bookings as JSON behind the admin token, confirm and cancel, and a calendar feed."""

from __future__ import annotations

from pathlib import Path

import pytest
from icalendar import Calendar

from bot.features.booking.calendar import calendar_token
from bot.features.booking.service import Contact
from tests.booking_support import (
    NOW,
    Clock,
    at,
    book_in_chat,
    booking_bot,
    bot,
    clock,
    epoch,
    eventually,
    handled,
    service_of,
    through_intake,
)
from tests.harness import ADMIN, BotHarness, walk_to_result
from tests.standin_server import StandinServer

AUTH = {"Authorization": f"Bearer {ADMIN}"}
RUNNER = "U" + "b" * 32


__all__ = ["bot", "clock"]  # the booking tests' fixtures, from tests/booking_support.py


async def booked(bot: BotHarness, day: int, hour: int, user: str = RUNNER) -> str:
    result = await service_of(bot).reserve(user, epoch(at(day, hour)), nonce=f"{user}{day}{hour}", cause="e")
    assert result.booking is not None
    return result.booking.id


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": ADMIN},
                                     {"Authorization": f"Basic {ADMIN}"}])
async def test_the_staff_api_refuses_without_the_admin_token(bot: BotHarness, headers: dict[str, str]) -> None:
    await booked(bot, 4, 11)
    assert (await bot.client.get("/admin/api/bookings", headers=headers)).status_code == 401
    booking_id = (await service_of(bot).upcoming(RUNNER))[0].id
    refused = await bot.client.post(f"/admin/api/bookings/{booking_id}/cancel", headers=headers)
    assert refused.status_code == 401
    assert (await service_of(bot).upcoming(RUNNER))[0].active


async def test_bookings_are_listed_with_id_user_start_and_status_filtered_by_date(bot: BotHarness) -> None:
    first = await booked(bot, 4, 11)
    second = await booked(bot, 6, 10, user="U" + "c" * 32)
    everything = (await bot.client.get("/admin/api/bookings", headers=AUTH)).json()
    assert [(b["id"], b["start"], b["status"]) for b in everything] == [
        (first, "2030-06-04T11:00:00+09:00", "confirmed"), (second, "2030-06-06T10:00:00+09:00", "confirmed")]
    assert everything[0]["user_id"] == RUNNER and everything[0]["end"] == "2030-06-04T12:00:00+09:00"
    only_6th = await bot.client.get("/admin/api/bookings?from=2030-06-05&to=2030-06-06", headers=AUTH)
    assert [b["id"] for b in only_6th.json()] == [second]
    assert (await bot.client.get("/admin/api/bookings?from=2030-06-07", headers=AUTH)).json() == []


async def test_staff_cancel_frees_the_slot_and_tells_the_runner_once(bot: BotHarness) -> None:
    booking_id = await booked(bot, 4, 11)
    cancelled = await bot.client.post(f"/admin/api/bookings/{booking_id}/cancel", headers=AUTH)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["history"][-1]["by"] == "staff"
    again = await bot.client.post(f"/admin/api/bookings/{booking_id}/cancel", headers=AUTH)
    assert again.json()["status"] == "cancelled"
    await eventually(lambda: bool(bot.line.texts_for(RUNNER)))
    await handled(bot, RUNNER)
    assert len(bot.line.texts_for(RUNNER)) == 1 and "キャンセルとなりました" in bot.line.texts_for(RUNNER)[0]
    assert at(4, 11) in await service_of(bot).free_starts(at(4, 11).date())
    confirm = await bot.client.post(f"/admin/api/bookings/{booking_id}/confirm", headers=AUTH)
    assert confirm.status_code == 409


async def test_staff_confirm_marks_the_booking_checked_and_tells_the_runner(bot: BotHarness) -> None:
    booking_id = await booked(bot, 4, 11)
    confirmed = await bot.client.post(f"/admin/api/bookings/{booking_id}/confirm", headers=AUTH)
    assert confirmed.json()["status"] == "confirmed" and confirmed.json()["staff_checked"] is True
    await eventually(lambda: bool(bot.line.texts_for(RUNNER)))
    assert "確認いたしました" in bot.line.texts_for(RUNNER)[0]
    missing = await bot.client.post("/admin/api/bookings/b-nope/confirm", headers=AUTH)
    assert missing.status_code == 404


async def test_the_calendar_feed_lists_bookings_at_a_secret_url(bot: BotHarness) -> None:
    booking_id = await booked(bot, 4, 11)
    path = (await bot.client.get("/admin/api/calendar-url", headers=AUTH)).json()["path"]
    assert path == f"/calendar/{calendar_token(ADMIN)}.ics" and ADMIN not in path
    feed = await bot.client.get(path)
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    [event] = Calendar.from_ical(feed.content).walk("VEVENT")
    assert str(event["uid"]).startswith(booking_id)
    assert event.decoded("dtstart") == at(4, 11)
    assert str(event["status"]) == "CONFIRMED"
    assert (await bot.client.get("/calendar/guessed-token.ics")).status_code == 404


async def test_each_booking_says_who_is_coming_and_why(bot: BotHarness) -> None:
    runner = bot.runner()
    await walk_to_result(runner, "膝裏の外側")
    await book_in_chat(runner, "6/4(火)", "11:00", name="山田 花子", phone="080-1111-2222")
    await service_of(bot).reserve("tel:caller1", epoch(at(6, 10)), "phone-1", cause="staff-1",
                                  contact=Contact(name="佐藤"), by="staff", staff="受付")
    listed = (await bot.client.get("/admin/api/bookings", headers=AUTH)).json()
    assert {"id", "user_id", "start", "status", "name", "phone", "menu", "practitioner", "answers"} <= set(listed[0])
    mine, caller = listed
    assert (mine["name"], mine["phone"], mine["menu"], mine["practitioner"]) == (
        "山田 花子", "080-1111-2222", "初回カウンセリング・施術(約60分)", None)
    assert "膝裏の外側" in mine["answers"].values() and "張り" in mine["answers"].values()
    assert all(not key.isascii() for key in mine["answers"])  # question titles in Japanese, not codes
    assert (caller["name"], caller["phone"], caller["answers"]) == ("佐藤", None, {})
    assert caller["history"][0]["staff"] == "受付"


async def test_the_feed_leaves_phone_numbers_out_and_its_url_can_be_renewed_alone(bot: BotHarness) -> None:
    await service_of(bot).reserve("tel:c", epoch(at(4, 11)), "p", cause="s", by="staff",
                                  contact=Contact(name="佐藤", phone="090-1234-5678"))
    path = (await bot.client.get("/admin/api/calendar-url", headers=AUTH)).json()["path"]
    feed = (await bot.client.get(path)).content.decode()
    assert "佐藤" in feed and "090-1234-5678" not in feed
    renewed = (await bot.client.post("/admin/api/calendar-url/rotate", headers=AUTH)).json()["path"]
    assert renewed != path
    assert (await bot.client.get(path)).status_code == 404 and (await bot.client.get(renewed)).status_code == 200


async def test_the_feed_shows_phone_numbers_when_the_clinic_says_so(redis_url: str, line: StandinServer,
                                                                   tmp_path: Path) -> None:
    async with booking_bot(redis_url, line, tmp_path, Clock(NOW), feed_phone_numbers=True) as shown:
        await service_of(shown).reserve("tel:c", epoch(at(4, 11)), "p", cause="s", by="staff",
                                        contact=Contact(name="佐藤", phone="090-1234-5678"))
        path = (await shown.client.get("/admin/api/calendar-url", headers=AUTH)).json()["path"]
        assert "090-1234-5678" in (await shown.client.get(path)).content.decode()


async def test_attendance_is_marked_from_the_bookings_day(bot: BotHarness, clock: Clock) -> None:
    booking_id = await booked(bot, 4, 11)
    early = await bot.client.post(f"/admin/api/bookings/{booking_id}/no-show", headers=AUTH)
    assert early.status_code == 409
    clock.now = at(4, 13)
    marked = await bot.client.post(f"/admin/api/bookings/{booking_id}/no-show", headers=AUTH)
    assert marked.status_code == 200 and marked.json()["attendance"] == "no_show"
    assert marked.json()["history"][-1]["did"] == "no_show"


async def test_in_approval_mode_the_runner_is_told_kept_only_once_staff_confirm(
        redis_url: str, line: StandinServer, tmp_path: Path) -> None:
    async with booking_bot(redis_url, line, tmp_path, Clock(NOW), approval=True,
                           cancellation_policy="当日のキャンセルは料金の50%を頂きます。") as approving:
        runner = approving.runner()
        await runner.say("予約")
        await runner.tap("6/4(火)")
        await runner.tap("11:00")
        summary = await through_intake(runner)
        assert "当日のキャンセルは料金の50%" in runner.texts(summary)
        done = await runner.tap("この内容で予約する")
        assert "仮予約を承りました" in runner.texts(done) and "ご予約を承りました" not in runner.texts(done)
        [booking] = await service_of(approving).upcoming(runner.user_id)
        assert booking.status == "pending"
        before = len(runner.received)
        confirmed = await approving.client.post(f"/admin/api/bookings/{booking.id}/confirm", headers=AUTH)
        assert confirmed.json()["status"] == "confirmed"
        assert "確定しました" in runner.texts(await runner.wait_for_messages(before))
