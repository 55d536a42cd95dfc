"""Staff message every runner with some tags: counted first, sent in batches of 500, never at night."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

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
    assert response.json() == {"dry_run": True, "recipients": 3, "batches": 1, "not_before": None}
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
