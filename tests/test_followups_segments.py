"""Staff message every runner with some tags: counted first, sent in batches of 500, never at night."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from typing import Any

from bot.features.followups.broadcasts import Broadcasts
from bot.features.followups.tags import TagIndex
from bot.store import keys
from tests.harness import ADMIN, BotHarness

JST = dt.timezone(dt.timedelta(hours=9))
AUTH = {"Authorization": f"Bearer {ADMIN}"}
MULTICAST = "/v2/bot/message/multicast"


def at_local(hour: int, minute: int = 0) -> float:
    today = dt.datetime.now(JST).date()
    return dt.datetime(today.year, today.month, today.day, hour, minute, tzinfo=JST).timestamp()


async def add_runners(bot: BotHarness, count: int, tags: list[str]) -> list[str]:
    """Runners who answered the check earlier (their state and tags, as the bot keeps them)."""
    index = TagIndex(bot.runtime.store, ttl_seconds=3600)
    ids = ["U" + uuid.uuid4().hex for _ in range(count)]
    redis = bot.runtime.store.redis
    for user_id in ids:
        await redis.set(keys.state(user_id), json.dumps({"flow": "knee_back", "tags": tags}))
        await index.sync(user_id, tags)
    return ids


async def post(bot: BotHarness, body: dict[str, Any], *, hour: int = 12) -> Any:
    bot.runtime.scheduler.clock = lambda: at_local(hour)
    return await bot.client.post("/admin/api/messages", json=body, headers=AUTH)


def multicasts(bot: BotHarness) -> list[Any]:
    return [r for r in bot.line.state.requests if r.path == MULTICAST]


async def test_a_dry_run_counts_the_runners_and_sends_nothing(bot: BotHarness) -> None:
    await add_runners(bot, 3, ["side:outer", "check_done"])
    await add_runners(bot, 2, ["side:inner", "check_done"])
    response = await post(bot, {"tags": ["check_done"], "exclude_tags": ["side:inner"], "text": "こんにちは",
                                "dry_run": True})
    assert response.status_code == 200
    assert response.json() == {"dry_run": True, "recipients": 3, "batches": 1, "not_before": None,
                               "red_flag_left_out": 0}
    assert multicasts(bot) == []


async def test_a_segment_goes_out_in_batches_of_500_each_with_its_own_retry_key(bot: BotHarness) -> None:
    ids = await add_runners(bot, 1001, ["side:outer"])
    body = {"tags": ["side:outer"], "text": "今週末は臨時休業です。", "request_id": "weekend-closure"}
    response = await post(bot, body)
    assert response.status_code == 200, response.text
    assert response.json()["recipients"] == 1001 and response.json()["sent_batches"] == 3
    sent = multicasts(bot)
    assert [len(r.body["to"]) for r in sent] == [500, 500, 1]
    assert sorted(u for r in sent for u in r.body["to"]) == sorted(ids)
    assert len({r.retry_key for r in sent}) == 3 and all(r.retry_key for r in sent)

    again = await post(bot, body)  # staff pressed send twice: LINE recognises every batch
    assert again.json()["sent_batches"] == 3
    assert len(bot.line.messages_for(ids[0])) == 1
    assert [r.status for r in multicasts(bot)[3:]] == [409, 409, 409]


async def test_runners_who_asked_to_stop_are_left_out(bot: BotHarness) -> None:
    runner = bot.runner()
    await runner.follow()
    await runner.tap("1分チェックを始める")
    await runner.tap("膝裏の外側")
    others = await add_runners(bot, 2, ["side:outer"])
    await runner.say("配信停止")
    response = await post(bot, {"tags": ["side:outer"], "text": "ストレッチ会のお知らせです。"})
    assert response.json()["recipients"] == 2
    assert sorted(multicasts(bot)[0].body["to"]) == sorted(others)


async def test_at_night_nothing_is_sent_and_staff_are_told_when_it_may_go(bot: BotHarness) -> None:
    await add_runners(bot, 2, ["check_done"])
    response = await post(bot, {"tags": ["check_done"], "text": "こんばんは"}, hour=22)
    assert response.status_code == 409
    detail = response.json()["detail"]
    assert detail["error"] == "quiet_hours"
    assert dt.datetime.fromisoformat(detail["not_before"]).astimezone(JST).hour == 9
    assert multicasts(bot) == []
    dry = await post(bot, {"tags": ["check_done"], "text": "こんばんは", "dry_run": True}, hour=22)
    assert dry.json()["recipients"] == 2 and dry.json()["not_before"] == detail["not_before"]


async def test_a_send_needs_the_staff_token_and_a_message(bot: BotHarness) -> None:
    no_token = await bot.client.post("/admin/api/messages", json={"tags": ["x"], "text": "a"})
    assert no_token.status_code == 401
    assert (await post(bot, {"tags": ["x"]})).status_code == 422
    assert (await post(bot, {"tags": [], "text": "a"})).status_code == 422


async def test_runners_told_to_see_a_doctor_are_left_out_unless_staff_include_them(bot: BotHarness) -> None:
    well = await add_runners(bot, 3, ["check_done"])
    flagged = await add_runners(bot, 2, ["check_done", "red_flag"])
    dry = await post(bot, {"tags": ["check_done"], "text": "ストレッチ会のお知らせ", "dry_run": True})
    assert dry.json()["recipients"] == 3 and dry.json()["red_flag_left_out"] == 2
    sent = await post(bot, {"tags": ["check_done"], "text": "ストレッチ会のお知らせ"})
    assert sent.status_code == 200 and sent.json()["recipients"] == 3
    assert sorted(multicasts(bot)[0].body["to"]) == sorted(well)

    included = await post(bot, {"tags": ["check_done"], "text": "受診はお済みですか", "include_red_flag": True})
    assert included.json()["recipients"] == 5
    asked_for = await post(bot, {"tags": ["red_flag"], "text": "受診はお済みですか", "dry_run": True})
    assert asked_for.json()["recipients"] == 2, "naming red_flag among the tags is including them explicitly"
    assert sorted(flagged) == sorted(set(multicasts(bot)[1].body["to"]) - set(well))


async def test_a_scheduled_broadcast_goes_at_its_time_to_the_runners_tagged_then(bot: BotHarness) -> None:
    await add_runners(bot, 2, ["side:outer"])
    send_at = dt.datetime.fromtimestamp(at_local(15), JST)
    body = {"tags": ["side:outer"], "text": "明日は臨時休業です。", "send_at": send_at.isoformat(),
            "request_id": "closed-tomorrow"}
    response = await post(bot, body)  # at noon
    assert response.status_code == 200 and response.json()["status"] == "scheduled"
    assert multicasts(bot) == []
    late = await add_runners(bot, 1, ["side:outer"])  # tagged before it goes: included
    broadcasts = bot.runtime.parts.need(Broadcasts)
    assert await broadcasts.run_due() == 0  # 15:00 has not come
    bot.runtime.scheduler.clock = lambda: at_local(15, 1)
    for _ in range(100):  # this call or the web process's own worker loop sends it, whichever comes first
        if await broadcasts.run_due() or multicasts(bot):
            break
        await asyncio.sleep(0.05)
    [sent] = multicasts(bot)
    assert late[0] in sent.body["to"] and len(sent.body["to"]) == 3
    for _ in range(100):  # the record is saved just after the last batch
        [shown] = (await bot.client.get("/admin/api/messages", headers=AUTH)).json()["broadcasts"]
        if shown["status"] == "sent":
            break
        await asyncio.sleep(0.05)
    assert shown["status"] == "sent" and shown["sent_to"] == 3 and shown["created_by"] == "API(管理トークン)"
    assert await broadcasts.run_due() == 0 and len(multicasts(bot)) == 1, "sent once"


async def test_a_schedule_in_the_quiet_hours_is_refused_and_one_can_be_taken_back(bot: BotHarness) -> None:
    await add_runners(bot, 1, ["check_done"])
    night = dt.datetime.fromtimestamp(at_local(22), JST)
    refused = await post(bot, {"tags": ["check_done"], "text": "a", "send_at": night.isoformat()})
    assert refused.status_code == 409 and refused.json()["detail"]["error"] == "quiet_hours"
    later = dt.datetime.fromtimestamp(at_local(16), JST)
    kept = await post(bot, {"tags": ["check_done"], "text": "a", "send_at": later.isoformat(), "request_id": "r1"})
    assert kept.status_code == 200
    cancelled = await bot.client.delete("/admin/api/messages/r1", headers=AUTH)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    bot.runtime.scheduler.clock = lambda: at_local(17)
    assert await bot.runtime.parts.need(Broadcasts).run_due() == 0 and multicasts(bot) == []


async def test_taps_on_a_broadcasts_links_are_counted(redis_url: str, line: Any) -> None:
    async with BotHarness.running(redis_url=redis_url, line=line, public_url="https://bot.example") as bot:
        await add_runners(bot, 2, ["check_done"])
        body = {"tags": ["check_done"], "text": "詳しくはこちら https://clinic.example/event", "request_id": "ev1"}
        assert (await post(bot, body)).status_code == 200
        sent_text = multicasts(bot)[0].body["messages"][0]["text"]
        assert "https://clinic.example" not in sent_text and "https://bot.example/b/ev1/0" in sent_text
        for _ in range(3):
            tapped = await bot.client.get("/b/ev1/0")
            assert tapped.status_code == 302 and tapped.headers["location"] == "https://clinic.example/event"
        assert (await bot.client.get("/b/ev1/7")).status_code == 404
        listed = await bot.client.get("/admin/api/messages", headers=AUTH)
        assert listed.json()["broadcasts"][0]["link_taps"] == 3
