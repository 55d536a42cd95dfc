"""Crash safety, for real: the bot runs as ``uvicorn bot.app:app`` in a subprocess and is SIGKILLed.

The core of bench phase 4 at a small size, so a regression fails CI: whatever the bot acknowledged before it
died is answered after it restarts — exactly once per event, even though LINE was failing at the time of the
kill (so the reply was attempted and must become a push with the same retry key) and even when LINE
redelivers the same events afterwards.

And a *reply* LINE received just as the bot died: the reply API takes no retry key, so after the restart the
bot tries the same reply token again; LINE refusing it as used means the first reply arrived, and nothing is
pushed (it used to push, and runners got the answer twice). Bench phase 4 counts this under load.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.procs import App
from tests.harness import ADMIN, SECRET, TOKEN, event, sign
from tests.standin_server import StandinServer

RUNNERS = 6


def bot_env(redis_url: str, line: StandinServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "REDIS_", "ADMIN_"))}
    env.update(LINE_CHANNEL_SECRET=SECRET, LINE_CHANNEL_ACCESS_TOKEN=TOKEN, LINE_API_BASE_URL=line.base_url,
               REDIS_URL=redis_url, ADMIN_TOKEN=ADMIN, RECLAIM_IDLE_MS="1000", LINE_API_MAX_ATTEMPTS="2")
    return env


@pytest.fixture
def bot_process(redis_url: str, line: StandinServer, tmp_path: Path) -> Iterator[App]:
    app = App("bot.app:app", bot_env(redis_url, line), tmp_path, name="bot")
    app.start()
    try:
        yield app
    finally:
        app.stop()


def post(app: App, events: list[dict[str, Any]]) -> int:
    body = json.dumps({"destination": "Ubot", "events": events}, ensure_ascii=False).encode()
    response = httpx.post(f"{app.url}/callback", content=body, timeout=10,
                          headers={"X-Line-Signature": sign(body), "Content-Type": "application/json"})
    return response.status_code


def sends_to(line: StandinServer, user_id: str) -> set[str]:
    """The LINE requests that delivered something to ``user_id`` (one answer = one request)."""
    return {m.request_id for m in line.messages_for(user_id)}


def wait_for_answers(line: StandinServer, users: list[str], timeout: float = 25.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(sends_to(line, u) for u in users):
        time.sleep(0.1)
    time.sleep(1.5)  # long enough for a duplicate to show up, were there one (reclaim runs every 0.5 s)


def test_a_sigkill_after_acknowledging_while_line_fails_loses_nothing_and_sends_nothing_twice(
        bot_process: App, line: StandinServer) -> None:
    users = [f"U{n:032x}" for n in range(1, RUNNERS + 1)]
    follows = [event(u, "follow", line.issue_reply_token(u), follow={"isUnblocked": False}) for u in users]
    line.set_fault("status", status=503)
    for e in follows:
        assert post(bot_process, [e]) == 200
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(line.state.requests) < RUNNERS:
        time.sleep(0.05)
    assert len(line.state.requests) >= RUNNERS, "the bot should have tried LINE (and met the 503s)"

    bot_process.stop(signal.SIGKILL)
    line.clear_faults()
    assert all(not sends_to(line, u) for u in users)
    bot_process.start()
    wait_for_answers(line, users)

    for e in follows:  # LINE redelivers what it may think was lost: still one answer each
        again = {**e, "deliveryContext": {"isRedelivery": True}}
        assert post(bot_process, [again]) == 200
    time.sleep(1.5)
    for user in users:
        assert len(sends_to(line, user)) == 1, user
        assert any("友だち追加ありがとうございます" in str(m.message.get("text", ""))
                   for m in line.messages_for(user))


def test_a_sigkill_with_events_still_in_the_inbox_hands_them_to_the_restarted_bot_in_order(
        bot_process: App, line: StandinServer) -> None:
    user = "U" + "a" * 32
    line.set_fault("status", status=503)  # the first answer is stuck in the outbox, the second in the inbox
    assert post(bot_process, [event(user, "follow", line.issue_reply_token(user),
                                    follow={"isUnblocked": False})]) == 200
    assert post(bot_process, [event(user, "postback", line.issue_reply_token(user),
                                    postback={"data": "f=knee_back&g=where"})]) == 200
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not line.state.requests:
        time.sleep(0.05)
    bot_process.stop(signal.SIGKILL)
    line.clear_faults()
    bot_process.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(sends_to(line, user)) < 2:
        time.sleep(0.1)
    time.sleep(1.5)
    texts = [str(m.message.get("text", "")) for m in line.messages_for(user)]
    assert len(sends_to(line, user)) == 2, texts
    first_where = next(i for i, t in enumerate(texts) if "どのあたり" in t)
    assert any("友だち追加ありがとうございます" in t for t in texts[:first_where])


def test_a_sigkill_while_replies_are_in_flight_answers_each_runner_exactly_once(
        bot_process: App, line: StandinServer) -> None:
    users = [f"U{n:032x}" for n in range(0x100, 0x100 + RUNNERS)]
    # LINE takes each reply but answers only after 2 s: the bot is killed while it waits for the answers.
    line.set_fault("slow", delay=2.0, count=RUNNERS, paths=("/v2/bot/message/reply",))
    for user in users:
        assert post(bot_process, [event(user, "follow", line.issue_reply_token(user),
                                        follow={"isUnblocked": False})]) == 200
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and line.state.faults:
        time.sleep(0.02)
    assert not line.state.faults, "every reply should be in LINE's hands when the bot dies"
    bot_process.stop(signal.SIGKILL)
    time.sleep(2.5)  # LINE finishes the replies the dead process sent
    assert all(len(sends_to(line, u)) == 1 for u in users), "LINE delivered each reply"
    bot_process.start()

    def refused_again() -> int:
        return sum(r.path.endswith("/reply") and r.status == 400 for r in line.state.requests)

    deadline = time.monotonic() + 25  # the dead consumer's locks expire, its notices are taken over
    while time.monotonic() < deadline and refused_again() < RUNNERS:
        time.sleep(0.1)
    assert refused_again() == RUNNERS, "each reply was tried again with its token, and LINE said it was used"
    time.sleep(1.5)
    for user in users:
        assert len(sends_to(line, user)) == 1, user
    assert not any(r.path.endswith("/push") for r in line.state.requests), "no push after a reply arrived"
