"""Booking from the chat, as a runner does it: a day, a time, a summary, confirm — then list, move, cancel."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.features.booking import messages
from bot.store import keys
from flows.state import ConversationState
from tests.booking_support import (
    Clock,
    at,
    book_in_chat,
    booking_bot,
    bot,
    clock,
    epoch,
    eventually,
    handled,
    post_tap,
    service_of,
    staff_texts,
    through_intake,
)
from tests.harness import BotHarness, Runner, actions_in
from tests.standin_server import StandinServer

__all__ = ["bot", "clock"]  # the booking tests' fixtures, from tests/booking_support.py


def labels(message: dict[str, object]) -> list[str]:
    return [str(a.get("label")) for a in actions_in(message)]


async def book(runner: Runner, day: str = "6/4(火)", time: str = "11:00") -> list[dict[str, object]]:
    return await book_in_chat(runner, day, time)


async def test_from_the_greeting_a_runner_books_a_day_a_time_and_confirms(bot: BotHarness) -> None:
    runner = bot.runner()
    await runner.follow()
    days = await runner.tap("相談を予約する")
    assert labels(days[-1])[:4] == ["6/3(月)", "6/4(火)", "6/6(木)", "6/7(金)"]  # Wednesday is closed
    assert "6/8(土)" not in labels(days[-1])  # a closed date
    times = await runner.tap("6/3(月)")
    assert labels(times[-1]) == ["11:00", "12:00", "別の日を選ぶ"]  # 10:00 is under two hours away
    await runner.tap("12:00")
    summary = await through_intake(runner)
    text = runner.texts(summary)
    assert "6/3(月) 12:00〜13:00" in text and "初回カウンセリング" in text
    done = await runner.tap("この内容で予約する")
    assert "ご予約を承りました" in runner.texts(done)
    bookings = await service_of(bot).upcoming(runner.user_id)
    assert [b.start for b in bookings] == [epoch(at(3, 12))]
    await eventually(lambda: any("【新規予約】" in t for t in staff_texts(bot)))
    assert "6/3(月) 12:00〜13:00" in staff_texts(bot)[0]


async def test_typing_yoyaku_starts_booking_and_later_dates_page_on(redis_url: str, line: StandinServer,
                                                                     tmp_path: Path, clock: Clock) -> None:
    async with booking_bot(redis_url, line, tmp_path, clock, days_ahead=30) as far:
        runner = far.runner()
        first = await runner.say("予約したいです")
        shown = labels(first[-1])
        assert len(shown) == 12 and shown[-1] == "もっと先の日"
        more = await runner.tap("もっと先の日")
        assert labels(more[-1])[0] == "6/17(月)"  # continues after the last day shown


async def test_a_full_slot_is_never_offered(bot: BotHarness) -> None:
    await service_of(bot).reserve("U" + "1" * 32, epoch(at(4, 11)), "someone-else", cause="e1")
    runner = bot.runner()
    await runner.say("予約")
    times = await runner.tap("6/4(火)")
    assert labels(times[-1]) == ["10:00", "12:00", "別の日を選ぶ"]


async def test_a_slot_taken_while_choosing_gets_the_nearest_free_times(bot: BotHarness) -> None:
    runner = bot.runner()
    await runner.say("予約")
    await runner.tap("6/4(火)")
    await runner.tap("11:00")
    await through_intake(runner)
    await service_of(bot).reserve("U" + "1" * 32, epoch(at(4, 11)), "faster-runner", cause="e1")
    answer = await runner.tap("この内容で予約する")
    assert "たった今" in runner.texts(answer)
    nearest = labels(answer[-1])
    assert nearest[:4] == ["6/3(月) 11:00", "6/3(月) 12:00", "6/4(火) 10:00", "6/4(火) 12:00"]
    assert "6/4(火) 11:00" not in nearest and nearest[-1] == "別の日を選ぶ"
    assert await service_of(bot).upcoming(runner.user_id) == []
    retry = await runner.tap("6/4(火) 12:00")
    assert "6/4(火) 12:00〜13:00" in runner.texts(retry)  # told before: straight to the summary


async def test_tapping_confirm_twice_books_once(bot: BotHarness) -> None:
    runner = bot.runner()
    await runner.say("予約")
    await runner.tap("6/4(火)")
    await runner.tap("11:00")
    await through_intake(runner)
    confirm = runner.find_action("この内容で予約する")["data"]
    await post_tap(bot, runner.user_id, confirm)
    await post_tap(bot, runner.user_id, confirm)  # within a second: the same tap
    await handled(bot, runner.user_id)
    await bot.runtime.store.redis.delete(keys.tap_guard(runner.user_id, confirm))  # minutes later
    again = await runner.tap_data(confirm)
    assert "すでに" in runner.texts(again)
    assert len(await service_of(bot).upcoming(runner.user_id)) == 1
    assert runner.texts().count("ご予約を承りました") == 1
    await eventually(lambda: len(staff_texts(bot)) >= 1)
    assert sum("【新規予約】" in t for t in staff_texts(bot)) == 1


async def test_yoyaku_kakunin_lists_upcoming_bookings_with_change_and_cancel(bot: BotHarness) -> None:
    runner = bot.runner()
    empty = await runner.say("予約確認")
    assert "ご予約はありません" in runner.texts(empty)
    await book(runner)
    listed = await runner.say("予約確認")
    assert "6/4(火) 11:00〜12:00" in runner.texts(listed)
    assert {"日時を変更する", "キャンセルする"} <= set(runner.visible_labels())


async def test_a_runner_cancels_within_the_deadline_and_the_slot_is_free_again(bot: BotHarness) -> None:
    runner = bot.runner()
    await book(runner)
    await runner.say("予約確認")
    ask = await runner.tap("キャンセルする")
    assert "キャンセルしますか" in runner.texts(ask)
    done = await runner.tap("はい、キャンセルする")
    assert "キャンセルしました" in runner.texts(done)
    assert await service_of(bot).upcoming(runner.user_id) == []
    assert at(4, 11) in await service_of(bot).free_starts(dt.date(2030, 6, 4))
    await eventually(lambda: any("【キャンセル】" in t for t in staff_texts(bot)))


async def test_a_runner_with_nothing_booked_any_more_loses_the_booked_tag(bot: BotHarness) -> None:
    """The tag the booked rich menu and the check-ins follow means "has an upcoming booking"."""
    runner = bot.runner()
    await book(runner)
    assert "booked" in await tags_of(bot, runner.user_id)
    await runner.say("予約確認")
    await runner.tap("キャンセルする")
    await runner.tap("はい、キャンセルする")
    assert "booked" not in await tags_of(bot, runner.user_id)


async def tags_of(bot: BotHarness, user_id: str) -> list[str]:
    return ConversationState.from_json(await bot.runtime.store.redis.get(keys.state(user_id))).tags


async def test_a_runner_moves_a_booking_and_keeps_the_same_booking(bot: BotHarness) -> None:
    runner = bot.runner()
    await book(runner)
    original = (await service_of(bot).upcoming(runner.user_id))[0]
    await runner.say("予約変更")
    await runner.tap("日時を変更する")
    await runner.tap("6/6(木)")
    summary = await runner.tap("10:00")
    assert "変更後の日時の確認" in runner.texts(summary)
    done = await runner.tap("この日時に変更する")
    assert "日時を変更しました" in runner.texts(done) and "6/6(木) 10:00〜11:00" in runner.texts(done)
    [moved] = await service_of(bot).upcoming(runner.user_id)
    assert moved.id == original.id and moved.start == epoch(at(6, 10))
    assert [h["did"] for h in moved.history] == ["booked", "moved"]
    assert at(4, 11) in await service_of(bot).free_starts(dt.date(2030, 6, 4))
    await eventually(lambda: any("【予約変更】" in t for t in staff_texts(bot)))


async def test_after_the_deadline_the_runner_is_told_to_call(bot: BotHarness, clock: Clock) -> None:
    runner = bot.runner()
    await book(runner)
    await runner.say("予約確認")
    cancel_data = runner.find_action("キャンセルする")["data"]
    clock.now = at(3, 12)  # 23 hours before the 6/4 11:00 booking; the deadline is 24 hours
    listed = await runner.say("予約確認")
    assert "24時間前を過ぎた" in runner.texts(listed)
    assert "キャンセルする" not in labels(listed[-1])
    refused = await runner.tap_data(cancel_data)  # an old button from before the deadline
    assert "03-1111-2222" in runner.texts(refused)
    sure = messages.data("booking.cancel", id=(await service_of(bot).upcoming(runner.user_id))[0].id, ok=1)
    await runner.tap_data(sure)
    assert len(await service_of(bot).upcoming(runner.user_id)) == 1


async def test_one_runner_cannot_cancel_or_move_another_runners_booking(bot: BotHarness) -> None:
    owner, other = bot.runner(), bot.runner()
    await book(owner)
    [booking] = await service_of(bot).upcoming(owner.user_id)
    cancel = await other.tap_data(messages.data("booking.cancel", id=booking.id, ok=1))
    assert "見つかりませんでした" in other.texts(cancel)
    move = await other.tap_data(messages.data("booking.move", id=booking.id, s=epoch(at(6, 10))))
    assert "見つかりませんでした" in other.texts(move)
    [still] = await service_of(bot).upcoming(owner.user_id)
    assert still.start == booking.start and still.active
    assert not any("【キャンセル】" in t or "【予約変更】" in t for t in staff_texts(bot))


async def test_a_confirmation_promises_only_what_is_true_for_that_booking(bot: BotHarness) -> None:
    runner = bot.runner()
    same_day = runner.texts(await book(runner, "6/3(月)", "12:00"))  # three hours away
    assert "リマインドはお送りしません" in same_day and "リマインドをお送りします" not in same_day
    assert "お電話で" in same_day and "03-1111-2222" in same_day and "「予約確認」からどうぞ" not in same_day
    later = runner.texts(await book(runner, "6/6(木)", "10:00"))
    assert "6/5 18時ごろに\nリマインドをお送りします" in later and "「予約確認」からどうぞ" in later


async def test_the_intake_asks_a_first_timer_for_a_name_and_a_phone_number_once(bot: BotHarness) -> None:
    runner = bot.runner()
    await runner.say("予約")
    await runner.tap("6/4(火)")
    asked = await runner.tap("11:00")
    assert "お名前" in runner.texts(asked) and "このお名前で進む" in runner.visible_labels()
    await runner.say("山田　花子")
    wrong = await runner.say("0312")
    assert "電話番号として読み取れ" in runner.texts(wrong)
    summary = await runner.say("０９０ー１２３４ー５６７８")
    assert "お名前:山田 花子 様" in runner.texts(summary) and "お電話:090-1234-5678" in runner.texts(summary)
    await runner.tap("この内容で予約する")
    [booking] = await service_of(bot).upcoming(runner.user_id)
    assert (booking.name, booking.phone) == ("山田 花子", "090-1234-5678")
    await runner.say("予約")
    await runner.tap("6/6(木)")
    again = await runner.tap("10:00")  # booked before: straight to the summary
    assert "ご予約内容の確認" in runner.texts(again) and "お名前:山田 花子 様" in runner.texts(again)


async def test_typed_words_reach_the_bot_again_once_the_runner_taps_elsewhere(bot: BotHarness) -> None:
    runner = bot.runner()
    await runner.follow()
    await runner.say("予約")
    await runner.tap("6/4(火)")
    await runner.tap("11:00")
    await runner.tap("1分チェックを始める")  # a tap outside booking ends the 問診
    answer = await runner.say("アクセス")
    assert "徒歩" in runner.texts(answer) or "東京都テスト区" in runner.texts(answer)


async def test_data_deletion_forgets_the_name_and_number_told(bot: BotHarness) -> None:
    runner = bot.runner()
    await book(runner)
    await runner.say("データ削除")
    await runner.say("予約")
    await runner.tap("6/6(木)")
    asked = await runner.tap("10:00")
    assert "ご予約のお名前" in runner.texts(asked)
