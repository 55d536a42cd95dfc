"""The webhook as LINE sees it: signatures, bad input, every event type, redelivery, speed."""

from __future__ import annotations

import asyncio
import copy
import json
import time

from bench.mix import ulid
from bot.config.settings import ROOT
from tests.harness import BotHarness, event, sign

SAMPLES = [ROOT.parent / "shared" / "line-samples" / "webhook.json", ROOT / "tests" / "data" / "webhook.json"]


def sample_events() -> list[dict[str, object]]:
    path = next(p for p in SAMPLES if p.exists())
    events: list[dict[str, object]] = json.loads(path.read_text(encoding="utf-8"))["events"]
    return events


async def test_a_bad_signature_is_refused_and_nothing_is_handled(bot: BotHarness) -> None:
    runner = bot.runner()
    response = await bot.post_events([event(runner.user_id, "follow", "t", follow={"isUnblocked": False})],
                                     secret="not-the-channel-secret")
    assert response.status_code == 400
    await asyncio.sleep(0.2)
    assert runner.received == []


async def test_a_missing_signature_is_refused(bot: BotHarness) -> None:
    response = await bot.client.post("/callback", content=b'{"events": []}')
    assert response.status_code == 400


async def test_malformed_json_is_a_clear_400(bot: BotHarness) -> None:
    body = b'{"events": [ this is not json'
    response = await bot.client.post("/callback", content=body, headers={"X-Line-Signature": sign(body)})
    assert response.status_code == 400
    assert response.json()["message"] == "malformed JSON"


async def test_an_oversized_body_is_413(bot: BotHarness) -> None:
    body = b'{"events": []}' + b" " * (1024 * 1024 + 1)
    response = await bot.client.post("/callback", content=body, headers={"X-Line-Signature": sign(body)})
    assert response.status_code == 413


async def test_lines_url_verification_with_no_events_is_200(bot: BotHarness) -> None:
    response = await bot.post_events([])
    assert response.status_code == 200


async def test_every_sample_event_type_is_accepted_and_the_text_gets_an_answer(bot: BotHarness) -> None:
    events = sample_events()
    for e in events:  # the samples share one id and are from 2016; give each its own ULID and today's time
        e["webhookEventId"] = ulid()
        e["timestamp"] = int(time.time() * 1000)
        if "replyToken" in e and isinstance(e.get("source"), dict):
            source = e["source"]
            assert isinstance(source, dict)
            chat = source.get("userId") or source.get("groupId") or source.get("roomId")
            e["replyToken"] = bot.line.issue_reply_token(str(chat))
    response = await bot.post_events(events)
    assert response.status_code == 200
    user = "U206d25c2ea6bd87c17655609a1c37cb8"
    runner = bot.runner(user)
    await runner.wait_for_messages(0, settle=0.3)
    assert any("ご用件をお選びください" in runner.texts([m]) for m in runner.received)


async def test_an_unknown_event_type_is_200_and_ignored(bot: BotHarness) -> None:
    runner = bot.runner()
    response = await bot.post_events([event(runner.user_id, "somethingLineAddsNextYear", "tok")])
    assert response.status_code == 200
    await asyncio.sleep(0.2)
    assert runner.received == []


async def test_a_redelivered_event_is_handled_once(bot: BotHarness) -> None:
    runner = bot.runner()
    follow = event(runner.user_id, "follow", bot.line.issue_reply_token(runner.user_id),
                   follow={"isUnblocked": False})
    assert (await bot.post_events([follow])).status_code == 200
    first = await runner.wait_for_messages(0)
    again = copy.deepcopy(follow)
    again["deliveryContext"] = {"isRedelivery": True}
    for _ in range(3):
        assert (await bot.post_events([again])).status_code == 200
    await asyncio.sleep(0.3)
    assert len(runner.received) == len(first)


async def test_events_of_one_runner_are_handled_in_order(bot: BotHarness) -> None:
    runner = bot.runner()
    await runner.follow()
    start = runner.find_action("1分チェックを始める")["data"]
    taps = [event(runner.user_id, "postback", bot.line.issue_reply_token(runner.user_id),
                  postback={"data": start})]
    taps.append(event(runner.user_id, "message", bot.line.issue_reply_token(runner.user_id),
                      message={"id": "m1", "type": "text", "text": "膝裏の内側", "quoteToken": "q"}))
    taps.append(event(runner.user_id, "message", bot.line.issue_reply_token(runner.user_id),
                      message={"id": "m2", "type": "text", "text": "だるさ", "quoteToken": "q"}))
    before = len(runner.received)
    assert (await bot.post_events(taps)).status_code == 200  # three events in one delivery
    for _ in range(200):
        if "安全のための確認" in runner.texts(runner.received[before:]):
            break
        await asyncio.sleep(0.02)
    text = runner.texts(runner.received[before:])
    assert text.index("どのあたり") < text.index("どんな感じ") < text.index("安全のための確認")


async def test_the_webhook_answers_fast_while_lines_api_stalls(bot: BotHarness) -> None:
    bot.line.set_fault(mode="slow", delay=3.0)
    runner = bot.runner()
    started = time.perf_counter()
    response = await bot.post_events([event(runner.user_id, "follow", bot.line.issue_reply_token(runner.user_id),
                                             follow={"isUnblocked": False})])
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert elapsed < 0.5, f"webhook took {elapsed:.2f}s while LINE stalled"
    bot.line.clear_faults()


async def test_health_and_readiness(bot: BotHarness) -> None:
    assert (await bot.client.get("/healthz")).status_code == 200
    assert (await bot.client.get("/readyz")).status_code == 200


async def test_readiness_is_503_when_the_store_is_down(line: object) -> None:
    from tests.harness import BotHarness as Harness

    async with Harness.running(redis_url="redis://127.0.0.1:1/0", line=line) as down:  # type: ignore[arg-type]
        response = await down.client.get("/readyz")
        assert response.status_code == 503
        webhook = await down.post_events([event("U" + "0" * 32, "follow", "tok", follow={"isUnblocked": False})])
        assert webhook.status_code == 503  # not acknowledged: LINE will redeliver

