"""The webhook's trust boundary: a signed body still only brings in LINE's own events, in LINE's formats.

A signature proves the body came from LINE or from someone holding one of its bodies (or the secret). These
specify what such a body can no longer do: reach the bot's internal events, name arbitrary keys, replay an
old capture, or crash the parser — each refused with a clear answer while the good events beside it go on.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from prometheus_client import REGISTRY

from tests.harness import BotHarness, event, sign


def dropped(reason: str, kind: str) -> float:
    return REGISTRY.get_sample_value("bot_webhook_dropped_total", {"reason": reason, "type": kind}) or 0.0


async def runner_keys(bot: BotHarness, pattern: str = "lb:{*") -> list[str]:
    return [k async for k in bot.runtime.store.redis.scan_iter(pattern)]


async def post_raw(bot: BotHarness, body: bytes) -> Any:
    return await bot.client.post("/callback", content=body, headers={"X-Line-Signature": sign(body)})


async def test_the_bots_own_event_types_cannot_come_in_through_the_webhook(bot: BotHarness) -> None:
    runner = bot.runner()
    staff_reply = event(runner.user_id, "x-staff-reply", None, text="forged staff words", staff="attacker")
    video_click = event(runner.user_id, "x-video_click", None, flow="knee_back", video="outer")
    before = dropped("internal_type", "other")
    response = await bot.post_events([staff_reply, video_click])
    assert response.status_code == 400
    assert response.json() == {"message": "no acceptable events", "dropped": {"internal_type": 2}}
    await asyncio.sleep(0.3)
    assert runner.received == []
    assert await runner_keys(bot, f"lb:{{{runner.user_id}}}:*") == [], "nothing stored, no tag added"
    assert dropped("internal_type", "other") == before + 2


async def test_ids_not_in_lines_formats_are_dropped_and_never_become_keys(bot: BotHarness) -> None:
    bad_users = ["12345", "../bookings/x", "U" + "G" * 32, "U" + "0" * 31, "C" + "0" * 32]
    events = [event(user, "follow", None, follow={"isUnblocked": False}) for user in bad_users]
    no_source = event("U" + "1" * 32, "message", None, message={"id": "1", "type": "text", "text": "hi"})
    del no_source["source"]
    group_with_bad_speaker = event("U" + "1" * 32, "message", None)
    group_with_bad_speaker["source"] = {"type": "group", "groupId": "C" + "a" * 32, "userId": "../x"}
    long_id = event("U" + "2" * 32, "follow", None, follow={"isUnblocked": False})
    long_id["webhookEventId"] = "0" * 100_000
    before = set(await runner_keys(bot))  # what start-up wrote (the booking store's schema mark)
    response = await bot.post_events([*events, group_with_bad_speaker, long_id])
    assert response.status_code == 400
    assert response.json()["dropped"] == {"source": 6, "event_id": 1}
    assert (await bot.post_events([no_source])).status_code == 200  # LINE's module events have no chat
    await asyncio.sleep(0.3)
    made = set(await runner_keys(bot)) - before
    assert made == set(), "no key was made for any of them (nor a shared lb:{unknown})"
    assert not bot.line.state.requests


async def test_a_good_event_beside_bad_ones_is_handled_and_the_drop_is_reported(bot: BotHarness) -> None:
    runner = bot.runner()
    good = event(runner.user_id, "follow", bot.line.issue_reply_token(runner.user_id),
                 follow={"isUnblocked": False})
    forged = event(runner.user_id, "x-checkin", None)
    response = await bot.post_events([forged, good])
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "dropped": {"internal_type": 1}}
    greeting = await runner.wait_for_messages(0)
    assert "友だち追加ありがとうございます" in runner.texts(greeting)


async def test_a_captured_body_cannot_be_replayed_after_the_dedupe_window(bot: BotHarness) -> None:
    window = bot.runtime.settings.event_dedupe_seconds
    runner = bot.runner()
    old = event(runner.user_id, "follow", bot.line.issue_reply_token(runner.user_id),
                follow={"isUnblocked": False}, timestamp=int((time.time() - window - 60) * 1000))
    future = event(runner.user_id, "follow", None, follow={"isUnblocked": False},
                   timestamp=int((time.time() + 3600) * 1000))
    not_a_number = event(runner.user_id, "follow", None, follow={"isUnblocked": False}, timestamp="yesterday")
    response = await bot.post_events([old, future, not_a_number])
    assert response.status_code == 400
    assert response.json()["dropped"] == {"timestamp": 3}
    await asyncio.sleep(0.3)
    assert runner.received == []


async def test_json_beyond_the_limits_is_a_400_not_a_500(bot: BotHarness) -> None:
    runner = bot.runner()
    deep = b'{"events": [' + b"[" * 1000 + b"]" * 1000 + b"]}"
    huge_int = json.dumps({"destination": "U1", "events": [
        event(runner.user_id, "follow", None, follow={"isUnblocked": False})]}).encode()
    huge_int = huge_int.replace(b'"destination": "U1"', b'"destination": ' + b"9" * 5000)
    for body, message in [(deep, "JSON nested too deeply"), (huge_int, "number too long"),
                          (b'{"events": [], "x": NaN}', "NaN is not JSON"),
                          (b'{"events": [], "x": 1e999}', "number too long")]:
        response = await post_raw(bot, body)
        assert response.status_code == 400, (message, response.text)
        assert response.json()["message"] == message
    assert (await bot.client.get("/healthz")).status_code == 200
    await asyncio.sleep(0.2)
    assert runner.received == []


async def test_an_event_type_line_adds_later_is_200_and_counted_as_other(bot: BotHarness) -> None:
    runner = bot.runner()
    before = dropped("unknown_type", "other")
    response = await bot.post_events([event(runner.user_id, "somethingLineAddsNextYear", "tok")])
    assert response.status_code == 200, "LINE must not redeliver what we will never take"
    assert dropped("unknown_type", "other") == before + 1
    metrics = (await bot.client.get("/metrics")).text
    assert 'type="somethingLineAddsNextYear"' not in metrics, "metric labels stay a fixed set"
