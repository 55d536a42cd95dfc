"""The knee-back check, as a runner experiences it: tap by tap, reading what comes back."""

from __future__ import annotations

import json

from bot.config.settings import ROOT
from bot.store import keys
from tests.harness import BotHarness, actions_in, video_links, walk_to_result

NO_CURE_PROMISES = ("必ず治", "絶対に治", "完治します", "100%")


async def test_a_new_friend_is_greeted_with_the_check_and_a_booking_button(bot: BotHarness) -> None:
    runner = bot.runner()
    greeting = await runner.follow()
    assert "友だち追加ありがとうございます" in runner.texts(greeting)
    assert "ひざうら整体院" in runner.texts(greeting)
    assert {"1分チェックを始める", "相談を予約する"} <= set(runner.visible_labels())


async def test_a_runner_who_unblocks_is_welcomed_back(bot: BotHarness) -> None:
    runner = bot.runner()
    greeting = await runner.follow(unblocked=True)
    assert "おかえりなさい" in runner.texts(greeting)


async def test_the_check_asks_where_then_how_it_feels_then_safety_then_when(bot: BotHarness) -> None:
    runner = bot.runner()
    await runner.follow()
    where = await runner.tap("1分チェックを始める")
    assert "どのあたり" in runner.texts(where)
    assert runner.visible_labels()[-4:] == ["膝裏の外側", "膝裏の内側", "真ん中・全体", "わからない"]
    feel = await runner.tap("膝裏の外側")
    assert [a["label"] for a in actions_in(feel[-1])] == ["痛み", "張り", "だるさ"]
    safety = await runner.tap("痛み")
    assert "安全のための確認" in runner.texts(safety)
    assert "どれも当てはまらない" in runner.visible_labels()
    timing = await runner.tap("どれも当てはまらない")
    assert [a["label"] for a in actions_in(timing[-1])] == ["走っている時", "走った後", "朝起きた時"]


async def test_outer_pain_gets_the_outer_muscles_and_the_outer_video(bot: BotHarness) -> None:
    runner = bot.runner()
    result = await walk_to_result(runner, "膝裏の外側")
    text = runner.texts(result)
    assert len(result) <= 5
    assert "大腿二頭筋" in text and "腓腹筋(ふくらはぎの外側)" in text
    assert "半腱様筋" not in text
    assert any("knee-back-outer" in link for link in video_links(result))
    assert not any("knee-back-inner" in link for link in video_links(result))
    assert "5分" in text and "2〜3日に1回" in text  # the article's dose
    assert "2〜3分" in text and "痛気持ちいい" in text and "30〜60秒" in text  # massage and stretch
    assert "上半身をまっすぐ" in text and "体の真下" in text and "足裏全体" in text  # running form
    assert "相談を予約する" in runner.visible_labels()
    assert not any(p in text for p in NO_CURE_PROMISES)


async def test_inner_pain_gets_the_inner_muscles_and_the_inner_video(bot: BotHarness) -> None:
    runner = bot.runner()
    result = await walk_to_result(runner, "膝裏の内側", timing="朝起きた時")
    text = runner.texts(result)
    assert "半腱様筋・半膜様筋" in text and "腓腹筋(ふくらはぎの内側)" in text
    assert "大腿二頭筋" not in text
    links = video_links(result)
    assert any("knee-back-inner" in link for link in links)
    assert not any("knee-back-outer" in link for link in links)
    assert "朝に出る方" in text


async def test_unsure_runners_get_all_four_muscles_and_both_videos(bot: BotHarness) -> None:
    runner = bot.runner()
    result = await walk_to_result(runner, "わからない", timing="走っている時")
    text = runner.texts(result)
    for muscle in ("大腿二頭筋", "半腱様筋・半膜様筋", "腓腹筋(ふくらはぎの外側)", "腓腹筋(ふくらはぎの内側)"):
        assert muscle in text
    links = " ".join(video_links(result))
    assert "knee-back-outer" in links and "knee-back-inner" in links
    assert "走る前と後" in text


async def test_a_red_flag_sends_the_runner_to_a_doctor_without_video_or_sales(bot: BotHarness) -> None:
    for flag, reason in [("膝裏が腫れている", "ベーカー嚢腫"), ("深く曲げた時だけ痛い", "半月板"),
                         ("軟骨のすり減りがある", "変形性膝関節症"), ("脚にしびれがある", "神経"),
                         ("転んだ・ひねった後から", "ケガ"), ("夜や安静時も痛む", "炎症"),
                         ("熱っぽい・赤みがある", "炎症"), ("膝がロックする・ガクッとなる", "半月板"),
                         ("ふくらはぎが腫れて痛む", "血栓")]:
        runner = bot.runner()
        await runner.follow()
        await runner.tap("1分チェックを始める")
        await runner.tap("膝裏の内側")
        await runner.tap("痛み")
        which = await runner.tap("当てはまるものがある")
        assert "いちばん近いもの" in runner.texts(which)
        answer = await runner.tap(flag)
        text = runner.texts(answer)
        assert "整形外科" in text and reason in text, flag
        assert video_links(answer) == [], flag
        assert "予約" not in text and "相談を予約する" not in [a.get("label") for m in answer for a in actions_in(m)]
        again = await runner.say("動画")
        assert "整形外科" in runner.texts(again) and video_links(again) == []


async def test_typed_words_work_at_any_point(bot: BotHarness) -> None:
    runner = bot.runner()
    await runner.follow()
    await runner.tap("1分チェックを始める")
    await runner.tap("膝裏の外側")
    restarted = await runner.say("最初から")
    assert "どのあたり" in runner.texts(restarted)
    video = await runner.say("動画が見たいです")
    assert "1分チェック" in runner.texts(video) and "どのあたり" in runner.texts(video)
    helped = await runner.say("ヘルプ")
    assert "ご用件をお選びください" in runner.texts(helped)
    info = await runner.say("料金を教えてください")
    assert "6,600円" in runner.texts(info) and "03-0000-0000" in runner.texts(info)


async def test_anything_not_understood_gets_short_help_and_the_open_question_stays(bot: BotHarness) -> None:
    runner = bot.runner()
    await runner.follow()
    await runner.tap("1分チェックを始める")
    answer = await runner.say("あいうえお")
    assert "読み取れませんでした" in runner.texts(answer) and "メニュー" in runner.texts(answer)
    assert "膝裏の外側" in runner.visible_labels()  # the pending question can still be answered
    await runner.tap("膝裏の外側")
    await runner.tap("痛み")
    await runner.tap("どれも当てはまらない")
    await runner.tap("走った後")
    after = await runner.say("あいうえお")  # nothing open: the help menu
    assert "ご用件をお選びください" in runner.texts(after)


async def test_greetings_thanks_and_stickers_get_a_short_human_answer(bot: BotHarness) -> None:
    runner = bot.runner()
    await runner.follow()
    await runner.tap("1分チェックを始める")
    hello = await runner.say("こんにちは、よろしくお願いします")
    assert "こんにちは" in runner.texts(hello) and "ご用件をお選びください" not in runner.texts(hello)
    assert "膝裏の外側" in runner.visible_labels()  # the open question stays open
    for thanks in ("ありがとうございました!", "👍", "了解です"):
        reply = await runner.say(thanks)
        assert "ありがとうございます" in runner.texts(reply), thanks
    sticker = await runner._act("message", message={"id": "1", "type": "sticker", "packageId": "1",
                                                    "stickerId": "1", "stickerResourceType": "STATIC"})
    assert "スタンプありがとうございます" in runner.texts(sticker)
    assert "膝裏の外側" in runner.visible_labels()


async def test_typing_a_choice_label_answers_the_question(bot: BotHarness) -> None:
    runner = bot.runner()
    await runner.follow()
    await runner.tap("1分チェックを始める")
    feel = await runner.say("膝裏の内側")
    assert "どんな感じ" in runner.texts(feel)


async def test_the_video_keyword_after_the_check_resends_the_matching_video(bot: BotHarness) -> None:
    runner = bot.runner()
    await walk_to_result(runner, "膝裏の外側")
    again = await runner.say("動画")
    links = video_links(again)
    assert links and all("knee-back-outer" in link for link in links)


async def test_tapping_an_answer_twice_advances_the_conversation_once(bot: BotHarness) -> None:
    runner = bot.runner()
    await runner.follow()
    await runner.tap("1分チェックを始める")
    data = runner.find_action("膝裏の外側")["data"]
    first = await runner.tap_data(data)
    second = await runner.tap_data(data)
    assert "どんな感じ" in runner.texts(first)
    assert second == []  # the second tap of a double tap is silent
    state = json.loads(await bot.runtime.store.redis.get(keys.state(runner.user_id)))
    assert state["step"] == "feel" and state["answers"] == {"side": "outer"}


async def test_an_old_question_tapped_later_is_answered_kindly(bot: BotHarness) -> None:
    runner = bot.runner()
    await runner.follow()
    await runner.tap("1分チェックを始める")
    old = runner.find_action("膝裏の外側")["data"]
    await runner.tap("膝裏の内側")
    await bot.runtime.store.redis.delete(keys.tap_guard(runner.user_id, old))
    late = await runner.tap_data(old)
    assert "すでにお答えいただいています" in runner.texts(late)
    assert "痛み" in runner.visible_labels()  # and the current question is offered again


async def test_data_deletion_forgets_the_runner(bot: BotHarness) -> None:
    runner = bot.runner()
    await walk_to_result(runner, "膝裏の外側")
    assert await bot.runtime.store.redis.exists(keys.state(runner.user_id))
    done = await runner.say("データ削除")
    assert "削除しました" in runner.texts(done)
    assert not await bot.runtime.store.redis.exists(keys.state(runner.user_id))


async def test_blocking_the_account_deletes_the_runners_answers(bot: BotHarness) -> None:
    runner = bot.runner()
    await walk_to_result(runner, "膝裏の内側")
    await runner.unfollow()
    for _ in range(100):
        if not await bot.runtime.store.redis.exists(keys.state(runner.user_id)):
            break
        await __import__("asyncio").sleep(0.02)
    assert not await bot.runtime.store.redis.exists(keys.state(runner.user_id))


async def test_a_deploy_that_changed_the_question_restarts_the_runner_politely(bot: BotHarness) -> None:
    runner = bot.runner()
    await runner.follow()
    await runner.tap("1分チェックを始める")
    data = runner.find_action("膝裏の外側")["data"]
    key = keys.state(runner.user_id)
    state = json.loads(await bot.runtime.store.redis.get(key))
    state.update(version="0-old", step_hash="a-question-that-no-longer-exists")
    await bot.runtime.store.redis.set(key, json.dumps(state))
    answer = await runner.tap_data(data)
    assert "内容を新しくしました" in runner.texts(answer)
    assert "どのあたり" in runner.texts(answer)


async def test_state_names_the_flow_and_its_version(bot: BotHarness) -> None:
    runner = bot.runner()
    await runner.follow()
    await runner.tap("1分チェックを始める")
    state = json.loads(await bot.runtime.store.redis.get(keys.state(runner.user_id)))
    assert state["flow"] == "knee_back" and state["version"].startswith("2-")
    assert await bot.runtime.store.redis.ttl(keys.state(runner.user_id)) > 0


async def finish(bot: BotHarness, side: str, feel: str, timing: str) -> tuple[list[dict[str, object]], str]:
    runner = bot.runner()
    await runner.follow()
    await runner.tap("1分チェックを始める")
    await runner.tap(side)
    await runner.tap(feel)
    asked = await runner.tap("どれも当てはまらない")
    result = await runner.tap(timing)
    return result, runner.texts(asked)


async def test_the_safety_question_fits_a_phone_and_its_labels_match_the_list(bot: BotHarness) -> None:
    runner = bot.runner()
    await runner.follow()
    await runner.tap("1分チェックを始める")
    await runner.tap("膝裏の外側")
    screen = await runner.tap("痛み")
    assert [a["label"] for a in actions_in(screen[-1])] == ["どれも当てはまらない", "当てはまるものがある"]
    listed = [line[1:] for line in runner.texts(screen).splitlines() if line.startswith("・")]
    which = await runner.tap("当てはまるものがある")
    assert [a["label"] for a in actions_in(which[-1])] == listed  # the same words, in the same order
    assert "膝がロックする・ガクッとなる" in listed and "ふくらはぎが腫れて痛む" in listed


async def test_every_answer_changes_the_advice(bot: BotHarness) -> None:
    feel_texts, timing_texts = {}, {}
    for feel in ("痛み", "張り", "だるさ"):
        result, asked = await finish(bot, "膝裏の外側", feel, "走った後")
        feel_texts[feel] = str(result[2].get("text"))
        assert {"痛み": "痛みが出やすい", "張り": "張りを感じやすい", "だるさ": "だるさを感じやすい"}[feel] in asked
    assert len(set(feel_texts.values())) == 3
    for timing in ("走っている時", "走った後", "朝起きた時"):
        result, _ = await finish(bot, "膝裏の内側", "張り", timing)
        timing_texts[timing] = set(str(result[3].get("text")).splitlines())
    for one in timing_texts:
        for other in timing_texts:
            if one != other:
                assert len(timing_texts[one] - timing_texts[other]) > 3, (one, other)
    assert "走る前" in " ".join(timing_texts["走っている時"])
    assert "朝のルーティン" in " ".join(timing_texts["朝起きた時"])


async def test_the_copy_says_what_the_article_says_in_the_clinics_voice(bot: BotHarness) -> None:
    result, _ = await finish(bot, "わからない", "だるさ", "朝起きた時")
    text = "\n".join(str(m.get("text", "")) for m in result) + str(result)
    assert "真ん中や全体がつらい" not in text  # わからない is not told it is the centre
    assert "しっかり5分ほぐす場合は2〜3日に1回" in text  # the article's fascia-release dose
    assert "【マッサージ】" in text and "お風呂の後など" in text
    assert "筋膜をほぐす方法" in text  # the video card frames fascia release
    flow_file = (ROOT / "flows" / "knee_back.yaml").read_text(encoding="utf-8")
    assert "腓腹筋(外側)" not in flow_file and "腓腹筋(内側)" not in flow_file  # one name: 腓腹筋(ふくらはぎの外側)
    assert "のことがあります" not in flow_file and "メッセージください" not in flow_file
    assert not any(p in flow_file for p in NO_CURE_PROMISES)


async def test_more_detail_from_the_result_follows_the_article(bot: BotHarness) -> None:
    runner = bot.runner()
    await walk_to_result(runner, "膝裏の外側")
    basics = await runner.tap("もっと詳しく")
    assert "9割" in runner.texts(basics) and "筋肉痛のような" in runner.texts(basics)
    fascia = await runner.tap("次へ(筋膜のつながり)")
    for part in ("足の裏", "ふくらはぎ", "もも裏", "お尻", "腰", "拳", "テニスボール"):
        assert part in runner.texts(fascia), part
    causes = await runner.tap("次へ(原因と走り方)")
    for part in ("同じ姿勢", "使いすぎ", "過去のケガ", "太ももの前"):
        assert part in runner.texts(causes), part
