"""Housekeeping a clinic never thinks about: nothing of a runner is kept for ever, production shows no API
browser, local mode does not open itself to a network by accident, and the logs never carry a secret."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.app import create_app
from bot.config.settings import ROOT, Settings
from bot.features.dashboard.inbox import OPEN, RECENT
from bot.ops.logs import JsonFormatter
from bot.store import keys
from tests.booking_support import Clock, booking_bot
from tests.harness import ADMIN, STRONG_ADMIN, BotHarness, event, make_settings, walk_to_result
from tests.standin_server import StandinServer


@pytest.fixture
async def bot(redis_url: str, line: StandinServer, tmp_path: Path) -> AsyncIterator[BotHarness]:
    async with booking_bot(redis_url, line, tmp_path, Clock()) as harness:
        yield harness


async def test_every_key_a_runner_leaves_behind_expires(bot: BotHarness) -> None:
    runner = bot.runner()
    await walk_to_result(runner, "膝裏の外側")  # state, tags, a scheduled check-in (the job index)
    await runner.say("予約")
    await runner.tap("6/4(火)")
    await runner.tap("11:00")
    await runner.tap("このお名前で進む")  # the short 問診: the LINE name, no phone number
    await runner.tap("電話番号なしで進む")
    await runner.tap("この内容で予約する")  # the booking indexes
    await runner.say("スタッフ")  # the staff inbox
    bot.line.set_fault("status", status=500)  # LINE down: the answer waits in the outbox
    await bot.post_events([_text_event(bot, runner.user_id, "料金")])
    await _eventually_outbox(bot, runner.user_id)
    bot.line.clear_faults()

    redis = bot.runtime.store.redis
    mine = [k async for k in redis.scan_iter(f"*{runner.user_id}*")]
    kinds = {k.split(":", 2)[-1].split(":")[0] for k in mine}
    assert {"state", "outbox", "jobs", "tagged", "funnel", "admin", "runner"} <= kinds, sorted(mine)
    # -1: kept without an expiry. (-2, gone since the scan, is fine: LINE is back and the outbox drains.)
    forever = [k for k in mine if await redis.ttl(k) == -1]
    assert forever == [], "keys of a runner that would outlive them"


async def test_the_staff_inbox_lists_forget_runners_whose_data_expired(bot: BotHarness) -> None:
    redis = bot.runtime.store.redis
    gone = "U" + "e" * 32
    long_ago = time.time() - bot.runtime.settings.runner_ttl_seconds - 3600
    await redis.zadd(OPEN, {gone: long_ago})
    await redis.zadd(RECENT, {gone: long_ago})
    await bot.runner().say("スタッフ")  # any new entry tidies both lists
    for listed in (OPEN, RECENT):
        assert await _eventually_absent(redis, listed, gone)


async def test_production_serves_no_api_browser(redis_url: str, line: StandinServer) -> None:
    for environment, expected in [("production", 404), ("development", 200)]:
        app = create_app(make_settings(redis_url, line, environment=environment, admin_token=STRONG_ADMIN))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bot") as client:
            for path in ("/docs", "/redoc", "/openapi.json"):
                assert (await client.get(path)).status_code == expected, (environment, path)


def test_the_log_scrubber_hides_the_admin_token_and_short_passwords_but_not_words_containing_them() -> None:
    settings = Settings(line_channel_secret="s" * 32, line_channel_access_token="t" * 40, admin_token=ADMIN,
                        admin_staff_passwords="山田:haru,佐藤:x\"7\\q")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(settings.secrets_for_logs()))
    log = logging.getLogger("test.scrubber")
    log.addHandler(handler)
    try:
        log.warning("token %s, password haru, pass x\"7\\q, the name haruka", ADMIN, extra={"auth": f"Bearer {ADMIN}"})
    finally:
        log.removeHandler(handler)
    line = stream.getvalue()
    assert ADMIN not in line and " haru," not in line and 'x\\"7' not in line, line
    assert line.count("[redacted]") == 4 and "haruka" in line


def _serve(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "bot", "serve", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_local_mode_refuses_a_public_address_unless_told_and_says_where_it_listens(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "REDIS_", "ADMIN_", "HOST", "PORT"))}
    refused = _serve("--host", "0.0.0.0", "--port", "0", env=env)
    _out, err = refused.communicate(timeout=60)
    assert refused.returncode == 2 and "Refusing to listen on 0.0.0.0" in err and "--i-know-this-is-public" in err

    port = _free_port()
    public = _serve("--host", "0.0.0.0", "--port", str(port), "--i-know-this-is-public", env=env)
    try:
        assert public.stdout is not None
        lines = [public.stdout.readline() for _ in range(3)]
        assert f"Listening on 0.0.0.0:{port} (OPEN to the network, as asked)." in "".join(lines), lines
    finally:
        public.kill()
        public.communicate(timeout=30)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _text_event(bot: BotHarness, user_id: str, text: str) -> dict[str, object]:
    return event(user_id, "message", bot.line.issue_reply_token(user_id),
                 message={"id": "m1", "type": "text", "text": text, "quoteToken": "q"})


async def _eventually_outbox(bot: BotHarness, user_id: str) -> None:
    for _ in range(200):
        if await bot.runtime.store.redis.llen(keys.outbox(user_id)):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the answer never reached the outbox")


async def _eventually_absent(redis: object, key: str, member: str) -> bool:
    for _ in range(100):
        if await redis.zscore(key, member) is None:  # type: ignore[attr-defined]
            return True
        await asyncio.sleep(0.05)
    return False

