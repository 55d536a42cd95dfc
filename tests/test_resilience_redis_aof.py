"""Redis restarted mid-conversation (AOF on, ``appendfsync everysec``): the conversation carries on.

A runner is half-way through the check when Redis goes away and comes back; what LINE sent meanwhile got a
503 and is redelivered (as LINE does), and the runner still reaches the result for the side they chose.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.procs import RedisServer
from tests.harness import BotHarness, Runner, event
from tests.standin_server import StandinServer


@pytest.fixture
def aof_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path, aof=True).start()
    try:
        yield server
    finally:
        server.stop()


async def act(runner: Runner, kind: str, timeout: float = 15.0, **fields: Any) -> list[dict[str, Any]]:
    """Send one event the way LINE does: a non-200 answer means LINE redelivers it (same webhookEventId)."""
    before = len(runner.received)
    token = runner.bot.line.issue_reply_token(runner.user_id)
    e = event(runner.user_id, kind, token, **fields)
    deadline = time.monotonic() + timeout
    while (await runner.bot.post_events([e])).status_code != 200:
        assert time.monotonic() < deadline, "the webhook never recovered"
        e = {**e, "deliveryContext": {"isRedelivery": True}}
        await asyncio.sleep(0.2)
    return await runner.wait_for_messages(before, timeout=timeout)


async def tap(runner: Runner, label: str) -> list[dict[str, Any]]:
    return await act(runner, "postback", postback={"data": runner.find_action(label)["data"]})


async def test_a_redis_restart_with_aof_mid_conversation_loses_neither_state_nor_answers(
        aof_redis: RedisServer, line: StandinServer) -> None:
    async with BotHarness.running(redis_url=aof_redis.url, line=line, reclaim_idle_ms=1000) as bot:
        runner = bot.runner()
        assert await act(runner, "follow", follow={"isUnblocked": False})
        assert await tap(runner, "1分チェックを始める")
        assert await tap(runner, "膝裏の内側")
        await asyncio.sleep(1.2)  # everysec: let the last writes reach the AOF, as a calm restart would
        aof_redis.stop(signal.SIGTERM)
        aof_redis.start()
        assert await tap(runner, "張り")
        assert await tap(runner, "どれも当てはまらない")
        result = await tap(runner, "走った後")
        text = runner.texts(result)
        assert "半腱様筋" in text, "the side chosen before the restart was remembered"
        sends = {m.request_id for m in line.messages_for(runner.user_id)}
        assert len(sends) == 6, "one answer per event, none repeated"
