"""Redis stalls (the process paused with SIGSTOP: it holds its connections but answers nothing).

While it stalls, LINE must hear back fast — a 503 within a second, so it redelivers rather than counting a
timeout — and a load balancer's ``/readyz`` must not hang. When Redis resumes, every event LINE sent is
handled exactly once: the redeliveries of what got a 503, and anything a timed-out write had in fact stored.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.procs import RedisServer
from tests.harness import BotHarness, Runner, event
from tests.standin_server import StandinServer

#: The promise to LINE and to a load balancer while Redis stalls.
ANSWER_WITHIN_S = 1.0


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path).start()
    try:
        yield server
    finally:
        if server.proc is not None:
            server.proc.send_signal(signal.SIGCONT)  # a paused server would ignore SIGTERM until killed
        server.stop()


class Paused:
    """SIGSTOP the redis-server for the ``with`` block (SIGCONT however the block ends)."""

    def __init__(self, server: RedisServer) -> None:
        assert server.proc is not None
        self.pid = server.proc.pid

    def __enter__(self) -> Paused:
        os.kill(self.pid, signal.SIGSTOP)
        return self

    def __exit__(self, *_exc: object) -> None:
        os.kill(self.pid, signal.SIGCONT)


async def timed(call: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = await call
    return result, time.perf_counter() - started


async def redeliver_until_accepted(bot: BotHarness, e: dict[str, Any], timeout: float = 20.0) -> None:
    """What LINE does with a non-200 answer: send the same event again (same webhookEventId)."""
    again = {**e, "deliveryContext": {"isRedelivery": True}}
    deadline = time.monotonic() + timeout
    while (await bot.post_events([again])).status_code != 200:
        assert time.monotonic() < deadline, "the webhook never recovered"
        await asyncio.sleep(0.2)


def answers(runner: Runner) -> int:
    """How many LINE requests delivered something to this runner (one answer = one request)."""
    return len({m.request_id for m in runner.bot.line.messages_for(runner.user_id)})


async def test_a_stalled_redis_gets_line_a_503_within_a_second_and_every_event_is_handled_once_after(
        own_redis: RedisServer, line: StandinServer) -> None:
    async with BotHarness.running(redis_url=own_redis.url, line=line, reclaim_idle_ms=1000) as bot:
        runners = [bot.runner() for _ in range(4)]
        for runner in runners:
            assert await runner.follow()
        taps = [event(r.user_id, "postback", line.issue_reply_token(r.user_id),
                      postback={"data": r.find_action("1分チェックを始める")["data"]}) for r in runners]
        with Paused(own_redis):
            for tap in taps:
                response, took = await timed(bot.post_events([tap]))
                assert response.status_code == 503, response.text
                assert took < ANSWER_WITHIN_S, f"the webhook took {took:.2f}s while Redis stalled"
            ready, took = await timed(bot.client.get("/readyz"))
            assert ready.status_code == 503
            assert took < ANSWER_WITHIN_S, f"/readyz took {took:.2f}s while Redis stalled"
        for tap in taps:
            await redeliver_until_accepted(bot, tap)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not all(answers(r) >= 2 for r in runners):
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.5)  # long enough for a duplicate to show up, were there one
        for runner in runners:
            assert answers(runner) == 2, runner.texts()  # the greeting, then the first question: once each
            assert runner.texts().count("どのあたり") == 1
        assert (await bot.client.get("/readyz")).status_code == 200
