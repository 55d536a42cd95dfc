"""Shared fixtures: a real Redis the session starts, a local stand-in for LINE's API, a running bot.

Redis: a throwaway ``redis-server`` on a free port (pytest-redis); without the binary, ``REDIS_URL`` is used
and only this project's keys are ever deleted from it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest
import redis
from pytest_redis import factories

from tests.browser_support import launch_chromium
from tests.harness import BotHarness, redis_url_of
from tests.standin_server import StandinServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser

HAVE_REDIS_SERVER = shutil.which("redis-server") is not None

if HAVE_REDIS_SERVER:
    redis_server = factories.redis_proc(port=None)
else:  # pragma: no cover - only on machines without redis-server

    @pytest.fixture(scope="session")
    def redis_server() -> Iterator[None]:
        if not os.environ.get("REDIS_URL"):
            pytest.skip("no redis-server on PATH and no REDIS_URL")
        yield None


@pytest.fixture
def redis_url(redis_server: object) -> Iterator[str]:
    """A clean Redis for each test: FLUSHALL on the server we started, our keys only on anyone else's."""
    url = redis_url_of(redis_server) if redis_server is not None else os.environ["REDIS_URL"]
    client = redis.Redis.from_url(url)
    if redis_server is not None:
        client.flushall()
    else:
        for key in client.scan_iter("lb:*"):
            client.delete(key)
    client.close()
    yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium for the browser tests (skips with the reason when it cannot be had)."""
    yield from launch_chromium()


@pytest.fixture(scope="session")
def standin_session() -> Iterator[StandinServer]:
    with StandinServer() as server:
        yield server


@pytest.fixture
def line(standin_session: StandinServer) -> Iterator[StandinServer]:
    """LINE's API, played locally: it records and validates every request against LINE's OpenAPI spec."""
    standin_session.reset()
    yield standin_session
    assert standin_session.state.invalid_requests == [], "the bot sent a body LINE's spec rejects"


@pytest.fixture
async def bot(redis_url: str, line: StandinServer, tmp_path: object) -> AsyncIterator[BotHarness]:
    async with BotHarness.running(redis_url=redis_url, line=line) as harness:
        yield harness
