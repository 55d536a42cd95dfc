"""配信: an owner composes a segment message, sees who it reaches and how it looks, then sends or schedules it."""

from __future__ import annotations

import datetime as dt
import json

from bot.features.dashboard import talk
from bot.features.dashboard.talk_copy import TEXTS
from bot.features.followups.broadcasts import Broadcasts
from bot.web.staff_accounts import StaffAccounts
from tests.admin_helpers import HTML, csrf_of, hidden, login
from tests.harness import BotHarness
from tests.test_admin_inbox import wait_until
from tests.test_followups_segments import JST, add_runners, at_local, multicasts


async def test_an_owner_previews_then_sends_to_exactly_the_tagged_runners(bot: BotHarness) -> None:
    outer = await add_runners(bot, 2, ["friend", "side:outer"])
    await add_runners(bot, 1, ["friend", "side:inner"])
    flagged = await add_runners(bot, 1, ["friend", "side:outer", "red_flag"])
    bot.runtime.scheduler.clock = lambda: at_local(12)
    await login(bot, "院長")
    page = await bot.client.get("/admin/broadcasts", headers=HTML)
    form = {"csrf": csrf_of(page.text), "source": "text", "text": "外側がつらいかた向けのストレッチ会を開きます。",
            "tag": "side:outer", "when": "now"}
    shown = await bot.client.post("/admin/broadcasts/preview", data=form)
    assert shown.status_code == 200
    assert "<strong>2 人</strong>" in shown.text and "受診をおすすめした 1 人は除いています" in shown.text
    assert '<div class="msg text">外側がつらいかた向けのストレッチ会を開きます。</div>' in shown.text
    assert multicasts(bot) == [], "a preview sends nothing"

    confirm = {**form, "csrf": hidden(shown.text, "csrf"), "nonce": hidden(shown.text, "nonce")}
    sent = await bot.client.post("/admin/broadcasts/send", data=confirm)
    again = await bot.client.post("/admin/broadcasts/send", data=confirm)  # a double tap
    assert "done=broadcast_sent" in sent.headers["location"] and again.status_code == 303
    assert sorted(multicasts(bot)[0].body["to"]) == sorted(outer) and flagged[0] not in multicasts(bot)[0].body["to"]
    assert len(bot.line.messages_for(outer[0])) == 1
    listing = await bot.client.get("/admin/broadcasts", headers=HTML)
    assert "送信済み" in listing.text and "院長(管理トークン)" in listing.text
    redis = bot.runtime.store.redis
    entries = await talk.timeline(redis, outer[0])
    assert entries[-1]["text"].startswith("[配信] 外側がつらいかた") and entries[-1]["by"] == "院長(管理トークン)"
    # One text for the whole segment: stored once, each runner's talk refers to it.
    stored = [json.loads((await redis.lrange(talk.talk_key(u), -1, -1))[0]) for u in outer]
    assert stored[0][2] == stored[1][2] and isinstance(stored[0][2][0], int)
    assert await redis.hget(TEXTS, str(stored[0][2][0])) == entries[-1]["text"]


async def test_a_message_from_the_flow_is_drawn_as_line_shows_it_and_can_be_scheduled(bot: BotHarness) -> None:
    await add_runners(bot, 3, ["friend", "check_done"])
    bot.runtime.scheduler.clock = lambda: at_local(12)
    await login(bot, "院長")
    page = await bot.client.get("/admin/broadcasts", headers=HTML)
    later = dt.datetime.fromtimestamp(at_local(16), JST).strftime("%Y-%m-%dT%H:%M")
    form = {"csrf": csrf_of(page.text), "source": "step", "step": "knee_back/checkin_first", "tag": "check_done",
            "when": "later", "send_at": later}
    shown = await bot.client.post("/admin/broadcasts/preview", data=form)
    assert shown.status_code == 200 and "<strong>3 人</strong>" in shown.text and 'class="msg' in shown.text
    confirm = {**form, "csrf": hidden(shown.text, "csrf"), "nonce": hidden(shown.text, "nonce")}
    sent = await bot.client.post("/admin/broadcasts/send", data=confirm)
    assert "done=broadcast_scheduled" in sent.headers["location"]
    assert multicasts(bot) == []
    bot.runtime.scheduler.clock = lambda: at_local(16, 1)
    await wait_until(lambda: _sent(bot))
    assert len(multicasts(bot)) == 1 and "quickReply" not in str(multicasts(bot)[0].body["messages"])


async def _sent(bot: BotHarness) -> bool:
    await bot.runtime.parts.need(Broadcasts).run_due()
    return bool(multicasts(bot))


async def test_at_night_the_page_refuses_a_send_and_says_when(bot: BotHarness) -> None:
    await add_runners(bot, 1, ["friend"])
    bot.runtime.scheduler.clock = lambda: at_local(22)
    await login(bot, "院長")
    page = await bot.client.get("/admin/broadcasts", headers=HTML)
    form = {"csrf": csrf_of(page.text), "source": "text", "text": "こんばんは", "when": "now", "nonce": "n1"}
    refused = await bot.client.post("/admin/broadcasts/send", data=form)
    assert refused.status_code == 200 and "配信しない時間帯です" in refused.text and "09:00以降" in refused.text
    assert multicasts(bot) == []


async def test_staff_who_are_not_owners_cannot_broadcast(bot: BotHarness) -> None:
    await bot.runtime.parts.need(StaffAccounts).add("佐藤", "sato-kaigan-2030", "staff", "test")
    await login(bot, "佐藤", "sato-kaigan-2030")
    assert (await bot.client.get("/admin/broadcasts", headers=HTML)).status_code == 403
