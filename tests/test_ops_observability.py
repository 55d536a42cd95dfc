"""What an operator sees: Prometheus metrics that move with the traffic, and JSON logs that never leak.

The log test runs a whole conversation at DEBUG (every library's debug output included) and then looks for
anything private in what was written: the channel secret, the access token, what the runner typed, and
the answers they tapped (labels, stored values, tags, postback data).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.webhook.validation import ULID
from tests.harness import SECRET, TOKEN, BotHarness, event
from tests.standin_server import StandinServer


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text page, keyed by name and sorted labels (parsing proves the format)."""
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def scrape(bot: BotHarness) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await bot.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


async def test_metrics_parse_as_prometheus_text_and_count_what_happened(bot: BotHarness) -> None:
    before = await scrape(bot)
    runner = bot.runner()
    await runner.follow()
    await runner.tap("1分チェックを始める")
    after = await scrape(bot)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert grew("bot_webhook_events_total", type="follow") == 1
    assert grew("bot_webhook_events_total", type="postback") == 1
    assert grew("bot_line_api_calls_total", kind="reply", status="200") == 2
    assert grew("bot_event_handling_seconds_count") == 2
    assert after[("bot_store_up", ())] == 1
    # Read from Redis on scrape: both notices were acknowledged, nothing is pending.
    assert after[("bot_queue_pending", ())] == 0
    assert ("bot_queue_length", ()) in after and ("bot_dead_letters", ()) in after


async def test_queue_gauges_show_notices_waiting_in_redis(bot: BotHarness) -> None:
    """Stop the consumers, send events: the gauges read the shared stream, not this process's memory."""
    runtime = bot.runtime
    runtime.stop.set()
    runtime.queue.wake.set()
    await asyncio.wait(runtime.background, timeout=10)
    users = [f"U{i:032x}" for i in range(3)]
    response = await bot.post_events([event(u, "follow", None, follow={"isUnblocked": False}) for u in users])
    assert response.status_code == 200
    # One consumer reads the notices without acknowledging them, as a worker that is mid-way would.
    await runtime.queue.ensure_group()
    await runtime.store.redis.xreadgroup("handlers", "stalled", {"lb:events": ">"}, count=2)
    page = await scrape(bot)
    assert page[("bot_queue_length", ())] == 3
    assert page[("bot_queue_pending", ())] == 2


async def test_every_http_response_carries_a_request_id_and_a_safe_incoming_one_is_kept(bot: BotHarness) -> None:
    fresh = await bot.client.get("/healthz")
    assert re.fullmatch(r"r-[0-9a-f]{16}", fresh.headers["x-request-id"])
    kept = await bot.client.get("/healthz", headers={"X-Request-Id": "lb-7f3a.42"})
    assert kept.headers["x-request-id"] == "lb-7f3a.42"
    refused = await bot.client.get("/healthz", headers={"X-Request-Id": "not an id <script>"})
    assert refused.headers["x-request-id"].startswith("r-")


async def test_a_whole_conversation_at_debug_leaks_no_secret_text_or_answer(
        redis_url: str, line: StandinServer, capsys: pytest.CaptureFixture[str]) -> None:
    typed = ["膝の裏がずっと痛くて走れません", "料金"]
    tapped: list[dict[str, Any]] = []
    async with BotHarness.running(redis_url=redis_url, line=line, log_level="DEBUG") as bot:
        runner = bot.runner()
        await runner.follow()
        for label in ["1分チェックを始める", "膝裏の外側", "張り", "どれも当てはまらない", "走った後"]:
            tapped.append(runner.find_action(label))
            await runner.tap(label)
        for text in typed:
            await runner.say(text)
        # A forged webhook: refused, and logged without the body.
        forged = await bot.post_events([event(runner.user_id, "message", "x",
                                              message={"id": "1", "type": "text", "text": typed[0]})],
                                       secret="not-the-channel-secret")
        assert forged.status_code == 400
        # A reply token that has expired: the answer still arrives, by push.
        before = len(runner.received)
        token = line.issue_reply_token(runner.user_id, ttl=0.0)
        await asyncio.sleep(0.01)
        late = await bot.post_events([event(runner.user_id, "message", token,
                                            message={"id": "2", "type": "text", "text": typed[0],
                                                     "quoteToken": "q"})])
        assert late.status_code == 200
        await runner.wait_for_messages(before)
        assert len(runner.received) > before
        assert any(r.path.endswith("/push") for r in line.state.requests), "the fallback push was not made"
        stored = await bot.runtime.store.redis.get(f"lb:{{{runner.user_id}}}:state")
        level = logging.getLogger().level
    logs = capsys.readouterr().err
    lines = [line_ for line_ in logs.splitlines() if line_.strip()]
    assert level == logging.DEBUG
    assert len(lines) >= 10, "logging captured too little to mean anything"
    assert all(json.loads(line_) for line_ in lines if line_.startswith("{"))

    answers = json.loads(stored)["answers"] if stored else {}
    assert set(answers) == {"side", "feel", "safety", "timing"}, "the check was not completed"
    private = [SECRET, TOKEN, *typed]
    private += [a["label"] for a in tapped if a["label"] != "1分チェックを始める"]  # a button, not an answer
    private += [a["data"] for a in tapped]
    private += [f"{key}={value}" for key, value in answers.items()]
    private += [value for value in answers.values() if value != "none"]  # "none" is too common a word
    private += [f"side:{answers['side']}", f"feel:{answers['feel']}"]
    for word in private:
        pattern = re.escape(word) if not word.isascii() or len(word) > 12 else rf"\b{re.escape(word)}\b"
        leaked = [ln for ln in lines if re.search(pattern, ln)]
        assert leaked == [], f"{word!r} reached the logs: {leaked[:2]}"

    # The consumer's lines say which event they are about; the webhook's which request.
    handled = [json.loads(ln) for ln in lines if ln.startswith("{") and '"logger": "bot.' in ln]
    assert any(entry.get("msg") == "webhook accepted" and str(entry.get("id", "")).startswith("r-")
               for entry in handled)
    assert any(entry.get("msg") == "reply token refused; pushing instead" and
               ULID.fullmatch(str(entry.get("id", ""))) for entry in handled)
