"""What a runner types, end to end (signed webhook in, LINE stand-in out): the issue's walks, one by one."""

from __future__ import annotations

from bot.features.dashboard import inbox
from tests.harness import BotHarness, Runner, actions_in, video_links, walk_to_result
from tests.test_admin_inbox import wait_until


def labels(messages: list[dict[str, object]]) -> list[str]:
    return [str(a.get("label")) for m in messages for a in actions_in(m)]


async def flagged(bot: BotHarness, side: str = "膝裏の外側") -> Runner:
    runner = bot.runner()
    await runner.follow()
    await runner.tap("1分チェックを始める")
    await runner.tap(side)
    await runner.tap("痛み")
    await runner.tap("当てはまるものがある")
    await runner.tap("膝裏が腫れている")
    return runner


async def test_a_restart_asks_the_safety_question_again_before_any_video(bot: BotHarness) -> None:
    runner = bot.runner()
    await walk_to_result(runner, "膝裏の外側")  # ends with どれも当てはまらない and the video
    await runner.say("最初から")
    await runner.tap("膝裏の外側")
    video = await runner.say("動画")
    assert video_links(video) == [], "no video until the new check's safety question is answered"
    assert "1分チェック" in runner.texts(video) and "どのあたり" in runner.texts(video)


async def test_a_red_flag_sticks_through_a_redo_on_every_entry_point(bot: BotHarness) -> None:
    runner = await flagged(bot)
    await runner.say("最初から")
    await runner.tap("膝裏の外側")
    await runner.tap("張り")
    await runner.tap("どれも当てはまらない")
    result = await runner.tap("走った後")
    for reply in (result, await runner.say("動画"), await runner.say("動画が見たいです"),
                  await runner.tap_data("f=knee_back&g=video_again")):
        assert "整形外科" in runner.texts(reply) and video_links(reply) == []
        assert "相談を予約する" not in labels(reply)
    booking = await runner.say("予約")
    assert "整形外科" in runner.texts(booking) and "ご希望の日" not in runner.texts(booking)
    menu = await runner.say("メニュー")
    assert "相談を予約する" not in labels(menu), "no sales button after a warning sign"


async def test_a_doctors_all_clear_brings_self_care_back_with_a_reminder(bot: BotHarness) -> None:
    runner = await flagged(bot, "膝裏の内側")
    cleared = await runner.say("医師にセルフケアの許可をもらった")
    assert "医師" in runner.texts(cleared) and "アドバイス" in runner.texts(cleared)
    assert any("knee-back-inner" in link for link in video_links(cleared))
    again = await runner.say("受診しました")
    assert video_links(again)
    assert "相談を予約する" in labels(await runner.say("メニュー"))


async def test_warning_signs_typed_in_words_get_a_calm_doctor_message(bot: BotHarness) -> None:
    for text in ("膝裏が腫れています", "しびれがあります", "夜も痛くて眠れない", "熱があります", "膝が赤い",
                 "転んでから痛い", "膝がロックする", "ガクッとなる", "ふくらはぎが腫れています", "痛みが強くなった",
                 "病院に行った方がいいですか"):
        runner = bot.runner()
        await walk_to_result(runner, "膝裏の外側")
        reply = await runner.say(text)
        assert "整形外科" in runner.texts(reply) and "ご用件をお選びください" not in runner.texts(reply), text
        assert video_links(reply) == [] and labels(reply) == [], text  # no video, no sales, no menu
        assert "整形外科" in runner.texts(await runner.say("動画")), text


async def test_a_typed_warning_sign_reaches_the_staff_inbox(bot: BotHarness) -> None:
    runner = bot.runner()
    await runner.follow()
    await runner.say("膝の裏が腫れてきました")
    await wait_until(lambda: inbox.is_open(bot.runtime, runner.user_id))
    item = await inbox.load_item(bot.runtime, runner.user_id)
    assert any(e.get("text") == "膝の裏が腫れてきました" for e in item.thread)


async def test_the_collisions_the_issue_found(bot: BotHarness) -> None:
    runner = bot.runner()
    await runner.follow()
    later = await runner.say("予約はまだ大丈夫です")
    assert "承知しました" in runner.texts(later) and "ご希望の日" not in runner.texts(later)
    waitlist = await runner.say("キャンセル待ちはできますか")
    assert "キャンセル" not in " ".join(labels(waitlist)) and "ご予約はありません" not in runner.texts(waitlist)
    await wait_until(lambda: inbox.is_open(bot.runtime, runner.user_id))  # a person will answer it
    checked = await runner.say("チェックしました")
    assert "どのあたり" not in runner.texts(checked)
    await runner.tap("1分チェックを始める")
    side = await runner.say("痛い場所は外側です")
    assert "どんな感じ" in runner.texts(side), "the side question is answered"
    feel = await runner.say("張っている感じです")
    assert "安全のための確認" in runner.texts(feel)


async def test_answers_typed_in_words_carry_the_check_to_the_end(bot: BotHarness) -> None:
    runner = bot.runner()
    await runner.follow()
    await runner.say("チェックしたいです")
    await runner.say("内側です")
    await runner.say("だるいです")
    await runner.say("特にないです")
    result = await runner.say("朝起きた時が多いです")
    assert any("knee-back-inner" in link for link in video_links(result))
    assert "だるさがある方へ" in runner.texts(result) and "朝のルーティン" in runner.texts(result)


async def test_clinic_questions_are_answered_from_the_clinic_file(bot: BotHarness) -> None:
    runner = bot.runner()
    await runner.follow()
    await runner.tap("1分チェックを始める")
    expected = {"営業時間を教えてください": "10:00〜20:00", "駐車場はありますか": "コインパーキング",
                "支払い方法は?": "PayPay", "保険は使えますか": "健康保険", "服装は?": "動きやすい服装",
                "キャンセル料はかかりますか": "24時間前まで"}
    for question, answer in expected.items():
        reply = await runner.say(question)
        assert answer in runner.texts(reply), question
        assert "膝裏の外側" in labels(reply), "the open question stays open"
    where = await runner.say("地図")
    assert any(a.get("uri") == "https://example.com/clinic" for a in (a for m in where for a in actions_in(m)))
