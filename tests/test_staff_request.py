"""「スタッフ」 starts the hand-off: the runner's next typed message goes to staff, and the bot says when staff
will reply (the clinic's hours from clinic.yaml; at night, tomorrow). Photos and unrecognised words reach the
inbox too; a sticker gets a short thank-you."""

from __future__ import annotations

import datetime as dt

from bot.config.clinic import Clinic
from bot.features.dashboard import inbox
from handlers.clinic_answers import reply_when
from tests.harness import BotHarness, Runner, actions_in, event
from tests.test_admin_inbox import wait_until


async def asked_for_staff(bot: BotHarness) -> Runner:
    runner = bot.runner()
    await runner.follow()
    invited = await runner.say("スタッフ")
    assert "このまま文字で" in runner.texts(invited) and "お返事します" in runner.texts(invited)
    return runner


def reply_times(bot: BotHarness) -> set[str]:
    """What the bot may say about the reply time right now (either side of a minute's edge)."""
    clinic = bot.runtime.parts.clinic
    now = dt.datetime.now(clinic.tz)
    return {reply_when(clinic, now - dt.timedelta(seconds=5)), reply_when(clinic, now + dt.timedelta(seconds=5))}


async def thread_texts(bot: BotHarness, runner: Runner) -> list[str]:
    item = await inbox.load_item(bot.runtime, runner.user_id)
    return [str(e.get("text")) for e in item.thread]


async def test_the_message_after_staff_goes_to_staff_with_the_reply_hours(bot: BotHarness) -> None:
    runner = await asked_for_staff(bot)
    question = "来週のハーフマラソンに出ても大丈夫でしょうか"
    reply = await runner.say(question)
    text = runner.texts(reply)
    assert "ご用件をお選びください" not in text, "not the generic menu"
    assert "メッセージをスタッフに" in text and any(when in text for when in reply_times(bot))
    assert bot.runtime.parts.clinic.phone in text
    await wait_until(lambda: inbox.is_open(bot.runtime, runner.user_id))
    assert question in await thread_texts(bot, runner)

    count = len(runner.received)
    await bot.post_events([event(runner.user_id, "message", bot.line.issue_reply_token(runner.user_id),
                                 message={"id": "m2", "type": "text", "text": "10kmくらいです"})])

    async def noted() -> bool:
        return "10kmくらいです" in await thread_texts(bot, runner)

    await wait_until(noted)
    assert len(runner.received) == count, "more words for staff are kept quietly, not answered with a menu"


async def test_a_rich_menu_word_or_a_warning_sign_after_staff_is_still_answered(bot: BotHarness) -> None:
    runner = await asked_for_staff(bot)
    calendar = await runner.say("予約")
    assert any(a.get("data", "").startswith("a=booking.day") for m in calendar for a in actions_in(m))
    doctor = await runner.say("膝裏が腫れてきました")
    assert "整形外科" in runner.texts(doctor)
    sticker = await runner._act("message", message={"id": "s", "type": "sticker", "packageId": "1",
                                                    "stickerId": "1", "stickerResourceType": "STATIC"})
    assert "スタンプありがとうございます" in runner.texts(sticker)
    question = await runner.say("駐車場の近くにコンビニはありますか?")
    assert "メッセージをスタッフに" in runner.texts(question), "the question is still the one for staff"


async def test_a_photo_reaches_the_staff_inbox_and_is_acknowledged(bot: BotHarness) -> None:
    runner = bot.runner()
    await runner.follow()
    photo = await runner._act("message", message={"id": "p", "type": "image",
                                                  "contentProvider": {"type": "line"}})
    assert "お送りいただき" in runner.texts(photo) and any(w in runner.texts(photo) for w in reply_times(bot))
    await wait_until(lambda: inbox.is_open(bot.runtime, runner.user_id))
    assert "(画像)" in await thread_texts(bot, runner)


async def test_a_sticker_is_kept_for_staff_without_asking_for_anyone(bot: BotHarness) -> None:
    runner = bot.runner()
    await runner.follow()
    await runner._act("message", message={"id": "s", "type": "sticker", "packageId": "1", "stickerId": "1",
                                          "stickerResourceType": "STATIC"})

    async def kept() -> bool:
        return "(スタンプ)" in await thread_texts(bot, runner)

    await wait_until(kept)
    assert not await inbox.is_open(bot.runtime, runner.user_id)


def at(clinic: Clinic, text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=clinic.tz)


def test_staff_reply_hours_follow_the_clinic_file() -> None:
    from bot.config.clinic import load_clinic
    from bot.config.settings import ROOT

    clinic = load_clinic(ROOT / "clinic.yaml")  # mon–tue, thu–fri 10–20; sat 9–17; sun 9–15; wed closed
    assert reply_when(clinic, at(clinic, "2030-05-13T12:00")) == "本日の営業時間内(20:00まで)に\n順番にお返事します。"
    assert reply_when(clinic, at(clinic, "2030-05-13T07:30")) == "本日の営業時間(10:00〜)に\nお返事します。"
    night = reply_when(clinic, at(clinic, "2030-05-13T22:00"))  # Monday night: Tuesday opens
    assert night.startswith("明日の営業時間にお返事します。") and "10:00" in night
    assert reply_when(clinic, at(clinic, "2030-05-14T21:00")) == "5月16日(木)の\n営業時間にお返事します。"
    assert reply_when(clinic, at(clinic, "2026-12-30T22:00")) == "1月3日(日)の\n営業時間にお返事します。"
