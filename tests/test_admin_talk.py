"""The 1:1 talk on a friend's page: staff read every line in full, while the clinic's own copy is stored once for
everyone — a runner's talk holds refs to it — and whatever may be personal stays in the runner's own key, gone
with them."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from bot.features.dashboard import inbox, talk
from bot.features.dashboard.talk_copy import TEXTS, SharedCopy
from bot.features.dashboard.talk_entries import MISSING_TEXT, summary
from bot.features.dashboard.views import format_when
from tests.admin_helpers import HTML, hidden, login
from tests.booking_support import Clock, book_in_chat, booking_bot
from tests.harness import BotHarness, Runner
from tests.standin_server import StandinServer
from tests.test_admin_friends import checked_runner
from tests.test_admin_inbox import wait_until

#: A stored runner's talk after the check, in MEMORY USAGE bytes (3,752 in the format before refs).
TALK_BUDGET = 1024


async def talk_on_page(bot: BotHarness, runner: Runner) -> str:
    """The talk column of the runner's friend page, as text a person reads."""
    page = await bot.client.get(f"/admin/friends/{runner.user_id}", headers=HTML)
    assert page.status_code == 200
    column = page.text.split("<h2>トーク</h2>")[1].split("</ol>")[0]
    return html.unescape(re.sub(r"<[^>]+>", " ", column))


async def stored_entries(bot: BotHarness, runner: Runner) -> list[object]:
    return [json.loads(raw) for raw in await bot.runtime.store.redis.lrange(talk.talk_key(runner.user_id), 0, -1)]


def shared_copy(bot: BotHarness) -> SharedCopy:
    return bot.runtime.parts.need(SharedCopy)


async def test_staff_read_every_answer_of_the_bot_in_full_while_the_runner_keeps_only_refs(bot: BotHarness) -> None:
    runner = await checked_runner(bot, "田中 花子")
    await login(bot)
    shown = await talk_on_page(bot, runner)
    for message in runner.received:  # the welcome, each question, the result with its long advice and cards
        assert summary(message) in shown, summary(message)[:40]
    assert "【走った後のケア】" in shown and "[カード] セルフケア動画:膝裏の外側の筋膜リリース" in shown

    bot_lines = [e for e in await stored_entries(bot, runner) if isinstance(e, list) and e[1] == "b"]
    assert bot_lines and all(isinstance(part, int) for entry in bot_lines for part in entry[2]), \
        "the flow's copy is referred to, not repeated"
    used = await bot.runtime.store.redis.memory_usage(talk.talk_key(runner.user_id))
    assert used <= TALK_BUDGET, f"the talk after the check takes {used} bytes"


async def test_lines_stored_in_the_older_format_still_show_as_they_did(bot: BotHarness) -> None:
    runner = await checked_runner(bot, "田中 花子")
    redis = bot.runtime.store.redis
    older = [{"at": 1733200000.25, "from": "bot", "text": "以前の形式で記録した\nボットの返信です。"},
             {"at": 1733200100.5, "from": "staff", "text": "以前の形式のスタッフ返信", "by": "佐藤"}]
    await redis.lpush(talk.talk_key(runner.user_id), *[json.dumps(e, ensure_ascii=False) for e in reversed(older)])
    await login(bot)
    shown = await talk_on_page(bot, runner)
    assert "以前の形式で記録した\nボットの返信です。" in shown and "佐藤 さん" in shown
    assert format_when(older[1]["at"], bot.runtime.parts.clinic.tz) in shown  # type: ignore[arg-type]
    assert shown.index("以前の形式のスタッフ返信") < shown.index("(友だち追加しました)"), "oldest first"
    entries = await talk.timeline(redis, runner.user_id)
    assert entries[:2] == older, "read exactly as before"


async def test_booking_times_names_and_typed_words_never_reach_the_shared_table(redis_url: str, line: StandinServer,
                                                                                tmp_path: Path) -> None:
    async with booking_bot(redis_url, line, tmp_path, Clock()) as bot:
        runner = bot.runner()
        line.state.set_profile(runner.user_id, "山本 太郎")
        await runner.follow()
        await runner.say("山本です。左膝の裏が痛みます")
        await book_in_chat(runner, "6/4(火)", "11:00")
        await login(bot)
        page = await bot.client.get(f"/admin/friends/{runner.user_id}", headers=HTML)
        form = {"csrf": hidden(page.text, "csrf"), "nonce": hidden(page.text, "nonce"), "text": "山本さん、お大事に。"}
        await bot.client.post(f"/admin/friends/{runner.user_id}/message", data=form)
        await wait_until(lambda: _talk_says(bot, runner, "山本さん、お大事に。"))

        shown = await talk_on_page(bot, runner)
        assert "6/4(火) 11:00" in shown and "山本です。左膝の裏が痛みます" in shown, "personal lines show in full"
        table = await bot.runtime.store.redis.hgetall(TEXTS)
        assert table and set(table.values()) <= set(shared_copy(bot).texts.values()), "flow copy only"
        assert not any(word in text for text in table.values() for word in ("11:00", "山本", "左膝"))


async def _talk_says(bot: BotHarness, runner: Runner, text: str) -> bool:
    return any(text in entry["text"] for entry in await talk.timeline(bot.runtime.store.redis, runner.user_id))


async def test_after_data_deletion_nothing_of_the_runner_remains_and_the_table_holds_only_flow_copy(
        bot: BotHarness) -> None:
    runner = await checked_runner(bot, "田中 花子")
    await runner.say("右の膝裏も少し張ります")
    redis = bot.runtime.store.redis
    await runner.say("データ削除")
    await wait_until(lambda: _no_talk(bot, runner))
    left = [key async for key in redis.scan_iter(match=f"lb:{{{runner.user_id}}}:*")]
    # What stays are markers, not their words: event ids against redelivery (48 h), double-tap guards (5 s),
    # and the inbox's note that the runner asked to be deleted.
    data = [k for k in left if not k.split(":", 2)[2].startswith(("evt:", "tap:"))]
    assert data in ([], [inbox.thread_key(runner.user_id)]), data
    marker = " ".join(await redis.lrange(inbox.thread_key(runner.user_id), 0, -1))
    assert "右の膝裏" not in marker and "田中" not in marker
    table = await redis.hgetall(TEXTS)
    assert table and set(table.values()) <= set(shared_copy(bot).texts.values())
    assert not any("右の膝裏も少し張ります" in text or "田中" in text for text in table.values())


async def _no_talk(bot: BotHarness, runner: Runner) -> bool:
    return not await bot.runtime.store.redis.exists(talk.talk_key(runner.user_id))


async def test_a_shared_text_the_table_lost_still_shows_and_an_unknown_one_says_so(bot: BotHarness) -> None:
    runner = await checked_runner(bot, "田中 花子")
    redis = bot.runtime.store.redis
    await redis.delete(TEXTS)
    await redis.rpush(talk.talk_key(runner.user_id), json.dumps([1733200000, "b", [123456789]]))
    await login(bot)
    shown = await talk_on_page(bot, runner)
    assert "【走った後のケア】" in shown, "current copy is read from the flows this process serves"
    assert MISSING_TEXT in shown, "copy neither has: said, not an error"
