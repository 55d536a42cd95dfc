"""Replies that arrive: reply tokens, push fallback with retry keys, and LINE being slow, limited or down."""

from __future__ import annotations

import asyncio

import pytest

from bot.delivery import consumer as consumer_module
from bot.delivery.line_client import _proxy_for
from bot.delivery.outbox import retry_key
from bot.store import keys
from tests.harness import BotHarness, event


def sends(bot: BotHarness, path: str) -> list[object]:
    return [r for r in bot.line.state.requests if r.path == path]


async def test_a_fresh_event_is_answered_with_its_reply_token(bot: BotHarness) -> None:
    runner = bot.runner()
    await runner.follow()
    assert len(sends(bot, "/v2/bot/message/reply")) == 1
    assert sends(bot, "/v2/bot/message/push") == []


async def test_an_expired_reply_token_falls_back_to_a_push_with_a_retry_key(bot: BotHarness) -> None:
    runner = bot.runner()
    token = bot.line.issue_reply_token(runner.user_id, ttl=0.0)  # already expired when used
    follow = event(runner.user_id, "follow", token, follow={"isUnblocked": False})
    assert (await bot.post_events([follow])).status_code == 200
    greeting = await runner.wait_for_messages(0)
    assert "友だち追加ありがとうございます" in runner.texts(greeting)
    pushes = sends(bot, "/v2/bot/message/push")
    assert len(pushes) == 1
    assert pushes[0].retry_key == retry_key(str(follow["webhookEventId"]), "reply", "0")  # type: ignore[attr-defined]


async def test_lines_rate_limit_is_waited_out(bot: BotHarness) -> None:
    bot.line.set_fault(mode="status", status=429, count=2, paths=("/v2/bot/message/reply",))
    runner = bot.runner()
    greeting = await runner.follow()
    assert "友だち追加ありがとうございます" in runner.texts(greeting)
    statuses = [r.status for r in bot.line.state.requests if r.path == "/v2/bot/message/reply"]
    assert statuses == [429, 429, 200]


async def test_a_server_error_at_line_is_retried(bot: BotHarness) -> None:
    bot.line.set_fault(mode="status", status=500, count=1, paths=("/v2/bot/message/reply",))
    runner = bot.runner()
    greeting = await runner.follow()
    assert "友だち追加ありがとうございます" in runner.texts(greeting)


async def test_when_line_is_down_the_answer_waits_and_arrives_once_it_is_back(bot: BotHarness) -> None:
    bot.line.set_fault(mode="status", status=503)  # every call fails until cleared
    runner = bot.runner()
    follow = event(runner.user_id, "follow", bot.line.issue_reply_token(runner.user_id),
                   follow={"isUnblocked": False})
    assert (await bot.post_events([follow])).status_code == 200
    await asyncio.sleep(1.0)
    assert runner.received == []
    bot.line.clear_faults()
    greeting = await runner.wait_for_messages(0, timeout=10.0, settle=0.3)
    assert len([m for m in greeting if "友だち追加" in runner.texts([m])]) == 1


async def test_a_runner_whose_answer_is_stuck_does_not_hold_up_other_runners(bot: BotHarness) -> None:
    stuck, other = bot.runner(), bot.runner()
    bot.line.set_fault(mode="slow", delay=2.0, count=1)
    first = event(stuck.user_id, "follow", bot.line.issue_reply_token(stuck.user_id),
                  follow={"isUnblocked": False})
    await bot.post_events([first])
    await asyncio.sleep(0.1)
    greeting = await other.follow()
    assert "友だち追加ありがとうございます" in other.texts(greeting)
    assert stuck.received == []  # still waiting on LINE
    await stuck.wait_for_messages(0, timeout=5.0)
    assert stuck.received


async def test_a_runner_stays_with_one_consumer_while_line_is_slower_than_the_lock_lasts(
        bot: BotHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    """The drain's lock is renewed while the answer waits on LINE, so no other consumer takes the runner over
    (and answers them twice); once answered, the lock is let go and nothing is left renewing it."""
    monkeypatch.setattr(consumer_module, "LOCK_MS", 400)
    monkeypatch.setattr(consumer_module, "LOCK_RENEW_S", 0.1)
    runner = bot.runner()
    bot.line.set_fault(mode="slow", delay=1.5, count=1)
    follow = event(runner.user_id, "follow", bot.line.issue_reply_token(runner.user_id),
                   follow={"isUnblocked": False})
    await bot.post_events([follow])
    await asyncio.sleep(1.0)  # well past the lock's 400 ms lifetime, the reply still at LINE
    redis = bot.runtime.store.redis
    assert runner.received == []
    assert await redis.pttl(keys.lock(runner.user_id)) > 0
    greeting = await runner.wait_for_messages(0, timeout=5.0, settle=0.5)
    assert len([m for m in greeting if "友だち追加" in runner.texts([m])]) == 1
    assert await redis.exists(keys.lock(runner.user_id)) == 0
    assert all(c._renewer is None for c in bot.runtime.consumers)


async def test_a_crash_after_the_reply_was_tried_never_shows_the_answer_twice(bot: BotHarness) -> None:
    """Handling again (as after a crash) sends by push with the same retry key; LINE drops the repeat."""
    runner = bot.runner()
    await runner.follow()
    count = len(runner.received)
    key = retry_key("cause-1", "reply", "0")
    outcome = await bot.runtime.line.push(runner.user_id, [{"type": "text", "text": "一度だけ"}], retry_key=key)
    again = await bot.runtime.line.push(runner.user_id, [{"type": "text", "text": "一度だけ"}], retry_key=key)
    assert outcome.delivered and again.delivered
    assert len(runner.received) == count + 1


async def test_an_event_that_keeps_failing_is_set_aside_and_the_runner_is_not_stuck(bot: BotHarness) -> None:
    runner = bot.runner()
    await runner.follow()

    async def broken(event: object, conv: object) -> None:
        raise RuntimeError("a bug in a handler")

    bot.runtime.router.on("x-broken")(broken)  # type: ignore[arg-type]
    await bot.runtime.queue.enqueue_internal(runner.user_id, "job:broken-1", {"type": "x-broken"}, 0.0)
    apology = await runner.wait_for_messages(len(runner.received), timeout=15.0)
    assert "うまく処理できませんでした" in runner.texts(apology)
    assert await bot.runtime.store.redis.llen("lb:dead") == 1
    after = await runner.say("最初から")  # and the conversation goes on
    assert "どのあたり" in runner.texts(after)


def test_answers_go_through_the_proxy_the_environment_names_for_lines_host(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert _proxy_for("https://api.line.me") is None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.clinic.internal:3128")
    assert _proxy_for("https://api.line.me") == "http://proxy.clinic.internal:3128"
    monkeypatch.setenv("NO_PROXY", "api.line.me")
    assert _proxy_for("https://api.line.me") is None
