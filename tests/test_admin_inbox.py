"""The staff inbox: who the bot could not help, who asked for a person, and answering them by hand."""

from __future__ import annotations

import asyncio
import time

from bot.features.dashboard import handoff, inbox
from bot.store import keys
from tests.admin_helpers import HTML, form_on, hidden, login
from tests.harness import BotHarness, Runner, event


async def wait_until(check: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def answered_runner(bot: BotHarness) -> Runner:
    runner = bot.runner()
    await runner.follow()
    await runner.tap("1分チェックを始める")
    await runner.tap("膝裏の外側")
    return runner


async def test_words_the_bot_did_not_understand_appear_with_answers_and_tags(bot: BotHarness) -> None:
    runner = await answered_runner(bot)
    help_reply = await runner.say("右膝の裏がランニング後にズキズキします")
    assert help_reply, "the runner still gets the bot's short help"
    await wait_until(lambda: inbox.is_open(bot.runtime, runner.user_id))

    await login(bot)
    listing = await bot.client.get("/admin/inbox", headers=HTML)
    assert "右膝の裏がランニング後にズキズキします" in listing.text
    assert f"/admin/inbox/{runner.user_id}" in listing.text
    detail = await bot.client.get(f"/admin/inbox/{runner.user_id}", headers=HTML)
    # Answers and tags in the flow's own Japanese, never the codes the bot keeps.
    assert "<dt>痛む場所</dt><dd>膝裏の外側</dd>" in detail.text
    assert "痛む場所: 膝裏の外側" in detail.text and "チェック開始" in detail.text
    for code in ("side:outer", "check_started", ">side<", ">outer<", "friend<"):
        assert code not in detail.text and code not in listing.text, code


async def test_asking_for_staff_puts_the_runner_in_the_inbox(bot: BotHarness) -> None:
    runner = bot.runner()
    await runner.follow()
    reply = await runner.say("スタッフ")
    assert "スタッフにお伝えしました" in runner.texts(reply)
    await wait_until(lambda: inbox.is_open(bot.runtime, runner.user_id))
    await login(bot)
    listing = await bot.client.get("/admin/inbox", headers=HTML)
    assert "スタッフ希望" in listing.text


async def test_a_staff_reply_reaches_the_runner_by_push_with_a_retry_key_and_silences_the_bot(
        bot: BotHarness) -> None:
    runner = await answered_runner(bot)
    await runner.say("来週のレース、出ても大丈夫でしょうか")
    await wait_until(lambda: inbox.is_open(bot.runtime, runner.user_id))
    await login(bot, name="佐藤")
    page = await bot.client.get(f"/admin/inbox/{runner.user_id}", headers=HTML)
    form = {"csrf": hidden(page.text, "csrf"), "nonce": hidden(page.text, "nonce"),
            "text": "佐藤です。痛みが強ければ無理せず、一度ご来院ください。"}
    before = len(runner.received)
    sent = await bot.client.post(f"/admin/inbox/{runner.user_id}/reply", data=form)
    assert sent.status_code == 303 and "done=sent" in sent.headers["location"]
    arrived = await runner.wait_for_messages(before)
    assert runner.texts(arrived) == "佐藤です。痛みが強ければ無理せず、一度ご来院ください。"
    pushes = [r for r in bot.line.state.requests if r.path.endswith("/message/push")
              and r.body.get("to") == runner.user_id]
    assert pushes and pushes[-1].retry_key, "a staff reply is pushed with an X-Line-Retry-Key"

    again = await bot.client.post(f"/admin/inbox/{runner.user_id}/reply", data=form)  # the same form twice
    assert "done=again" in again.headers["location"]

    # while staff handle the runner, the bot says nothing — but staff see what the runner writes
    count = len(runner.received)
    token = bot.line.issue_reply_token(runner.user_id)
    await bot.post_events([event(runner.user_id, "message", token, message={"id": "m1", "type": "text",
                                                                             "text": "ありがとうございます"})])
    await wait_until(lambda: _thread_has(bot, runner.user_id, "ありがとうございます"))
    await asyncio.sleep(0.2)
    assert len(runner.received) == count, "the bot stayed quiet during the hand-off"
    detail = await bot.client.get(f"/admin/inbox/{runner.user_id}", headers=HTML)
    assert "佐藤 さんが対応中" in detail.text and "ありがとうございます" in detail.text


async def _thread_has(bot: BotHarness, user_id: str, text: str) -> bool:
    item = await inbox.load_item(bot.runtime, user_id)
    return any(e.get("text") == text for e in item.thread)


async def test_handing_back_lets_the_bot_answer_again(bot: BotHarness) -> None:
    runner = await answered_runner(bot)
    await login(bot)
    csrf = await form_on(bot, f"/admin/inbox/{runner.user_id}")
    await bot.client.post(f"/admin/inbox/{runner.user_id}/take", data={"csrf": csrf})
    status = await handoff.status(bot.runtime.store.redis, runner.user_id)
    assert status is not None and status["by"] == "山田"
    assert 0 < status["ttl"] <= bot.runtime.settings.admin_handoff_minutes * 60

    closed = await bot.client.post(f"/admin/inbox/{runner.user_id}/close", data={"csrf": csrf})
    assert "done=closed" in closed.headers["location"]
    reply = await runner.say("動画")
    assert reply, "after hand-back the bot answers again"
    assert not await inbox.is_open(bot.runtime, runner.user_id)


async def test_the_bot_resumes_by_itself_when_the_hand_off_times_out(bot: BotHarness) -> None:
    runner = await answered_runner(bot)
    redis = bot.runtime.store.redis
    await handoff.start(redis, runner.user_id, "山田", seconds=60)
    count = len(runner.received)
    token = bot.line.issue_reply_token(runner.user_id)
    await bot.post_events([event(runner.user_id, "message", token, message={"id": "m2", "type": "text",
                                                                             "text": "まだですか"})])
    await wait_until(lambda: _thread_has(bot, runner.user_id, "まだですか"))
    assert len(runner.received) == count
    await redis.pexpire(handoff.handoff_key(runner.user_id), 1)  # the timeout passes
    await asyncio.sleep(0.05)
    assert await runner.say("料金"), "the bot answers once the hand-off has expired"


async def test_a_runner_who_blocks_leaves_a_marker_with_the_time_and_nothing_they_said(bot: BotHarness) -> None:
    runner = await answered_runner(bot)
    await runner.say("スタッフ")
    await runner.say("右膝の裏が痛くて相談したいです")
    await wait_until(lambda: inbox.is_open(bot.runtime, runner.user_id))
    blocked_at = time.time()
    await runner.unfollow()
    await wait_until(lambda: _marked(bot, runner.user_id, "gone"))

    item = await inbox.load_item(bot.runtime, runner.user_id)
    [marker] = item.thread  # the words and the request are gone (privacy); only the marker stays
    assert marker["gone"] == "blocked" and abs(marker["at"] - blocked_at) < 5
    assert item.state.answers == {} and item.state.tags == []
    assert await inbox.is_open(bot.runtime, runner.user_id), "the unanswered request is still on the list"

    await login(bot)
    listing = await bot.client.get("/admin/inbox", headers=HTML)
    row = listing.text[listing.text.index(f"/admin/inbox/{runner.user_id}"):]
    assert "ブロック " in row[:600] and "右膝の裏" not in listing.text
    detail = await bot.client.get(f"/admin/inbox/{runner.user_id}", headers=HTML)
    assert "ブロックされました" in detail.text and "LINE でのお返事は送れません" in detail.text
    assert "LINE で返信する" not in detail.text and "回答はまだありません" in detail.text
    assert "右膝の裏" not in detail.text and "膝裏の外側" not in detail.text


async def test_a_runner_who_unblocks_is_marked_back_and_can_be_answered(bot: BotHarness) -> None:
    runner = await answered_runner(bot)
    await runner.say("スタッフ")
    await runner.unfollow()
    await wait_until(lambda: _marked(bot, runner.user_id, "gone"))
    await runner.follow(unblocked=True)
    await wait_until(lambda: _marked(bot, runner.user_id, "back"))
    item = await inbox.load_item(bot.runtime, runner.user_id)
    assert [("gone" in e, "back" in e) for e in item.thread] == [(True, False), (False, True)]
    assert item.gone is None
    await login(bot)
    detail = await bot.client.get(f"/admin/inbox/{runner.user_id}", headers=HTML)
    assert "ブロックが解除され" in detail.text and "LINE で返信する" in detail.text


async def test_a_runner_who_deletes_their_data_leaves_a_deleted_marker(bot: BotHarness) -> None:
    runner = await answered_runner(bot)
    await runner.say("あいうえお")
    await wait_until(lambda: inbox.is_open(bot.runtime, runner.user_id))
    await runner.say("データ削除")
    await wait_until(lambda: _marked(bot, runner.user_id, "gone"))
    [marker] = (await inbox.load_item(bot.runtime, runner.user_id)).thread
    assert marker["gone"] == "deleted" and "あいうえお" not in str(marker)


async def test_a_runner_never_in_the_inbox_leaves_no_trace_when_blocking(bot: BotHarness) -> None:
    runner = await answered_runner(bot)
    await runner.unfollow()
    redis = bot.runtime.store.redis
    assert await redis.exists(keys.state(runner.user_id)) == 1
    await wait_until(lambda: _forgotten(redis, runner.user_id))
    assert await redis.zscore(inbox.RECENT, runner.user_id) is None
    assert await redis.exists(inbox.thread_key(runner.user_id)) == 0


async def _marked(bot: BotHarness, user_id: str, kind: str) -> bool:
    item = await inbox.load_item(bot.runtime, user_id)
    return any(kind in e for e in item.thread)


async def _forgotten(redis: object, user_id: str) -> bool:
    """The runner's state is gone and the block note taken: the forget hooks have run."""
    left = await redis.exists(keys.state(user_id), inbox.block_note_key(user_id))  # type: ignore[attr-defined]
    return bool(left == 0)


async def test_asking_to_delete_data_is_honoured_even_while_staff_are_answering(bot: BotHarness) -> None:
    runner = await answered_runner(bot)
    await handoff.start(bot.runtime.store.redis, runner.user_id, "山田", seconds=600)
    done = await runner.say("データ削除")
    assert "削除しました" in runner.texts(done)
