"""Property-based fuzzing of ``POST /callback`` (hypothesis; the strategies live in ``bench/fuzz.py``).

A few hundred cases here so a regression fails CI; ``python -m bench --only fuzz`` runs 10,000. The bot runs
as a real ``uvicorn bot.app:app`` subprocess, so a crash of its consumer cannot hide behind the test's loop.
Properties: never a 5xx; nothing unsigned ever reaches LINE; after everything, a real runner still gets an
answer (the consumer survived whatever the signed bodies held).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings

from bench import fuzz
from bench.procs import App
from tests.harness import SECRET, event, sign
from tests.standin_server import StandinServer
from tests.test_resilience_kill import bot_env, post

EXAMPLES = 120
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture
def client(redis_url: str, line: StandinServer, tmp_path: Path) -> Iterator[tuple[App, httpx.Client]]:
    app = App("bot.app:app", bot_env(redis_url, line), tmp_path, name="bot")
    app.start()
    try:
        with httpx.Client(base_url=app.url, timeout=10) as http:
            yield app, http
    finally:
        app.stop()


def assert_still_answers(app: App, line: StandinServer) -> None:
    assert app.proc is not None and app.proc.poll() is None, "the bot process died"
    user = "U" + "f" * 32
    assert post(app, [event(user, "follow", line.issue_reply_token(user), follow={"isUnblocked": False})]) == 200
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not line.messages_for(user):
        time.sleep(0.05)
    assert line.messages_for(user), "the consumer no longer answers"


def test_unsigned_or_badly_signed_bodies_are_refused_and_never_reach_line(
        client: tuple[App, httpx.Client], line: StandinServer) -> None:
    app, http = client
    statuses: set[int] = set()

    @SETTINGS
    @given(fuzz.cases(signed=False, secret=SECRET))
    def unsigned(case: tuple[str, bytes, dict[str, str]]) -> None:
        _kind, body, headers = case
        status = fuzz.post(http, body, headers)
        statuses.add(status)
        assert status < 500
        assert status != 200 or body == b"", "an unsigned body was accepted"

    unsigned()
    time.sleep(1.0)  # a consumer would have sent by now, had anything been queued
    assert line.state.requests == [], "an unsigned body made the bot call LINE"
    assert statuses <= {400, 413, 422}, statuses
    assert_still_answers(app, line)


def test_signed_bodies_of_any_shape_never_cause_a_5xx_nor_stop_the_consumer(
        client: tuple[App, httpx.Client], line: StandinServer) -> None:
    app, http = client
    line.state.validate = False  # odd but signed events may make the bot send odd (yet harmless) bodies

    @SETTINGS
    @given(fuzz.cases(signed=True, secret=SECRET))
    def signed(case: tuple[str, bytes, dict[str, str]]) -> None:
        _kind, body, headers = case
        assert headers["X-Line-Signature"] == sign(body)
        assert fuzz.post(http, body, headers) < 500

    signed()
    time.sleep(1.0)
    assert_still_answers(app, line)
