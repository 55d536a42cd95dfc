"""Graceful shutdown under load: a worker stopped by SIGTERM mid-way loses nothing and repeats nothing.

Two worker processes share one Redis; the web app only accepts (no consumer of its own). LINE answers
slowly, so when the first worker gets SIGTERM it holds runners in flight. It must finish those (or leave
them to be taken over), exit cleanly, and the other worker must handle the rest: every runner greeted
exactly once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config.settings import ROOT
from tests.harness import ADMIN, SECRET, TOKEN, BotHarness, event
from tests.standin_server import StandinServer

RUNNERS = 40


def start_worker(redis_url: str, line: StandinServer, name: str) -> subprocess.Popen[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT),
           "LINE_CHANNEL_SECRET": SECRET, "LINE_CHANNEL_ACCESS_TOKEN": TOKEN, "ADMIN_TOKEN": ADMIN,
           "REDIS_URL": redis_url, "LINE_API_BASE_URL": line.base_url, "RECLAIM_IDLE_MS": "1500",
           "CLINIC_CONFIG": str(ROOT / "clinic.yaml")}
    return subprocess.Popen([sys.executable, "-m", "bot", "worker", "--consumers", "2"], cwd=ROOT, env=env,
                            text=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_started(proc: subprocess.Popen[str], timeout: float = 30.0) -> None:
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line_ = proc.stderr.readline()
        if "worker started" in line_:
            return
        assert line_ or proc.poll() is None, "the worker exited before starting"
    raise AssertionError("the worker did not start")


@pytest.fixture
def workers(redis_url: str, line: StandinServer) -> Iterator[list[subprocess.Popen[str]]]:
    procs = [start_worker(redis_url, line, name) for name in ("a", "b")]
    try:
        for proc in procs:
            wait_started(proc)
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)


async def test_sigterm_mid_load_leaves_every_runner_greeted_exactly_once(
        redis_url: str, line: StandinServer, workers: list[subprocess.Popen[str]], tmp_path: Path) -> None:
    doomed, survivor = workers
    line.set_fault("slow", delay=0.15, paths=("/v2/bot/message",))  # every send takes a while
    async with BotHarness.running(redis_url=redis_url, line=line, inline_consumers=0,
                                  inline_scheduler=False) as bot:
        users = [f"U{i:032x}" for i in range(1, RUNNERS + 1)]
        follows = [event(u, "follow", line.issue_reply_token(u), follow={"isUnblocked": False}) for u in users]
        for batch in range(0, RUNNERS, 10):
            assert (await bot.post_events(follows[batch:batch + 10])).status_code == 200

        def greeted() -> int:
            return sum(1 for u in users if line.messages_for(u))

        while greeted() < 4:
            await asyncio.sleep(0.02)
        doomed.send_signal(signal.SIGTERM)
        at_sigterm = greeted()
        assert at_sigterm < RUNNERS, "everything was done before SIGTERM: the test proves nothing"
        exit_code = await asyncio.to_thread(doomed.wait, 45)
        assert exit_code == 0

        deadline = time.monotonic() + 60
        while greeted() < RUNNERS and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # anything sent twice would arrive now
        assert survivor.poll() is None

        counts = {u: len(line.messages_for(u)) for u in users}
        assert min(counts.values()) > 0, f"{sum(1 for c in counts.values() if not c)} runners never answered"
        # The greeting is the same for everyone: one copy each means the same count for everyone.
        assert len(set(counts.values())) == 1, counts
        # ...and the same messages: one greeting, not a greeting and part of another.
        texts = {tuple(str(m.message.get("text") or m.message.get("altText")) for m in line.messages_for(u))
                 for u in users}
        assert len(texts) == 1
        redis = bot.runtime.store.redis
        assert await redis.xlen("lb:events") == 0, "a notice was left behind"
