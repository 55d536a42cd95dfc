"""Local mode and its chat simulator, through the README's own command: ``python -m bot serve``.

The bot runs as a real process with no LINE credentials and no Redis: embedded store, generated channel
secret, LINE stand-in at ``/_line`` in the same app. Everything here acts the way the simulator page does
(``/simulator/api/...``), so each action must travel as a signed webhook through ``/callback``, the queue
and the engine, and the answer must come back through the bot's real LINE client.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from bot.app import create_app
from bot.config.settings import Settings
from tests.harness import actions_in, readable_text

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 40.0
#: What must not leak into the served process from the developer's shell (or CI).
LINE_AND_STORE_ENV = ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN", "LINE_API_BASE_URL",
                      "LINE_API_DATA_BASE_URL", "REDIS_URL", "ENVIRONMENT", "HOST", "PORT")


@dataclass
class LocalBot:
    """A ``python -m bot serve`` process in local mode and what it printed (every line, read as it comes,
    so a chatty process never blocks on a full pipe)."""

    process: subprocess.Popen[str]
    port: int
    printed_url: str
    output: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def printed(self, prefix: str) -> str:
        """The rest of the first start-up line beginning with ``prefix`` ("" when none did)."""
        return next((line.removeprefix(prefix).strip() for line in list(self.output) if line.startswith(prefix)),
                    "")


def _drain(stream: IO[str], into: list[str]) -> None:
    for line in stream:
        into.append(line)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_local_bot(workdir: Path) -> LocalBot:
    """Run the README's command on a non-default port; wait for its simulator line and readiness."""
    env = {k: v for k, v in os.environ.items() if k not in LINE_AND_STORE_ENV}
    env["PYTHONPATH"] = str(ROOT)
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port)], cwd=workdir, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    output: list[str] = []
    threading.Thread(target=_drain, args=(process.stdout, output), daemon=True).start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"python -m bot serve exited with {process.returncode}: {''.join(output)}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                bot = LocalBot(process, port, "", output)
                while not bot.printed("Simulator: ") and time.monotonic() < deadline:
                    time.sleep(0.02)  # printed before uvicorn started; the reading thread may lag
                bot.printed_url = bot.printed("Simulator: ")
                return bot
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("the local bot did not become ready")


def stop_local_bot(bot: LocalBot) -> None:
    bot.process.terminate()
    try:
        bot.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        bot.process.kill()
        bot.process.wait()


@pytest.fixture(scope="module")
def local_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBot]:
    # An empty working directory: no stray .env can hand the process LINE credentials.
    bot = start_local_bot(tmp_path_factory.mktemp("local-mode"))
    try:
        yield bot
    finally:
        stop_local_bot(bot)


class SimulatedRunner:
    """One runner on the simulator page: acts through /simulator/api/send, reads /simulator/api/updates."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.user_id: str = client.post("/simulator/api/users", json={}).json()["userId"]
        self.cursor = 0
        self.hooks = 0
        self.received: list[dict[str, Any]] = []
        self.webhooks: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []

    def act(self, kind: str, *, settle: float = 0.3, **fields: Any) -> list[dict[str, Any]]:
        """Do something and return what the bot answered (waiting until its answer stops arriving)."""
        response = self.client.post("/simulator/api/send", json={"userId": self.user_id, "kind": kind, **fields})
        assert response.status_code == 200, response.text
        before = len(self.received)
        deadline = time.monotonic() + 10
        last_change = time.monotonic()
        while time.monotonic() < deadline:
            count = len(self.received)
            self._pull(wait=settle)
            if len(self.received) != count:
                last_change = time.monotonic()
                continue
            quiet_for = time.monotonic() - last_change
            answered = len(self.received) > before
            # Done when the answer has stopped arriving; an unfollow is never answered, so wait a second.
            if (answered and quiet_for >= settle) or (kind == "unfollow" and quiet_for >= 1.0):
                break
        return self.received[before:]

    def tap(self, label: str) -> list[dict[str, Any]]:
        """Tap the newest quick reply or button with this label, as a person reads it."""
        for message in reversed(self.received):
            for action in actions_in(message):
                if action.get("label") == label:
                    assert action["type"] == "postback", action
                    return self.act("postback", data=action["data"], displayText=action.get("displayText"))
        raise AssertionError(f"no choice labelled {label!r}")

    def _pull(self, wait: float) -> None:
        updates = self.client.get("/simulator/api/updates",
                                  params={"after": self.cursor, "hooks": self.hooks, "wait": wait}).json()
        self.cursor, self.hooks = updates["lastSeq"], updates["hookCount"]
        self.received += [e["message"] for e in updates["events"]
                          if e["kind"] == "message" and e["userId"] == self.user_id]
        self.webhooks += [w for w in updates["webhooks"] if w["userId"] == self.user_id]
        self.requests += updates["requests"]


@pytest.fixture
def client(local_bot: LocalBot) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=local_bot.base_url, timeout=30) as http:
        yield http


def text_of(messages: list[dict[str, Any]]) -> str:
    return "\n".join(readable_text(m) for m in messages)


def test_serve_prints_the_simulator_address_and_serves_it_on_the_chosen_port(local_bot: LocalBot,
                                                                              client: httpx.Client) -> None:
    assert local_bot.printed_url == f"http://127.0.0.1:{local_bot.port}/simulator"
    page = client.get("/simulator")
    assert page.status_code == 200
    assert "友だち追加" in page.text
    # The page may only talk to this app: no CDN, no outside images.
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "img-src 'self' data:" in page.headers["content-security-policy"]
    for asset in ("simulator.js", "flex.js", "simulator.css"):
        assert client.get(f"/simulator/static/{asset}").status_code == 200


def test_a_follow_is_a_signed_webhook_and_the_greeting_comes_back_by_reply(client: httpx.Client) -> None:
    runner = SimulatedRunner(client)
    answer = runner.act("follow")

    assert "友だち追加ありがとうございます" in text_of(answer)
    [hook] = runner.webhooks
    [event] = hook["body"]["events"]
    assert event["type"] == "follow" and event["follow"] == {"isUnblocked": False}
    assert event["source"] == {"type": "user", "userId": runner.user_id}
    assert len(event["webhookEventId"]) == 26 and event["deliveryContext"] == {"isRedelivery": False}
    assert hook["status"] == 200
    # The bot answered with the reply token LINE (the stand-in) issued for this very event.
    replies = [r for r in runner.requests if r["path"] == "/v2/bot/message/reply"
               and r["body"]["replyToken"] == event["replyToken"]]
    assert [r["status"] for r in replies] == [200]
    assert not any(r["invalid"] for r in runner.requests), "the bot sent a body LINE's spec rejects"


def test_the_same_webhook_without_the_channel_secret_is_refused(client: httpx.Client) -> None:
    """The simulator gets no back door: /callback still demands LINE's signature."""
    runner = SimulatedRunner(client)
    runner.act("follow")
    body = httpx.Request("POST", "/", json=runner.webhooks[0]["body"]).content
    forged = client.post("/callback", content=body, headers={"X-Line-Signature": "bm90IHRoZSBzZWNyZXQ="})
    assert forged.status_code == 400


def test_a_runner_taps_through_the_check_and_gets_the_outer_video(client: httpx.Client) -> None:
    runner = SimulatedRunner(client)
    runner.act("follow")
    runner.tap("1分チェックを始める")
    runner.tap("膝裏の外側")
    runner.tap("張り")
    runner.tap("どれも当てはまらない")
    result = runner.tap("走った後")

    assert "大腿二頭筋" in text_of(result)
    cards = [m for m in result if m["type"] == "flex" and "膝裏の外側の筋膜リリース" in readable_text(m)]
    assert cards, "the result should carry the outer-side video card"
    # What the runner's taps showed in the chat: LINE echoes each postback's displayText.
    assert [w["display"] for w in runner.webhooks[1:]] == [
        "1分チェックを始める", "膝裏の外側", "張り", "どれも当てはまらない", "走った後"]
    event_ids = [w["body"]["events"][0]["webhookEventId"] for w in runner.webhooks]
    assert len(set(event_ids)) == len(event_ids) == 6


def test_block_sends_nothing_and_unblocking_greets_as_a_return(client: httpx.Client) -> None:
    runner = SimulatedRunner(client)
    runner.act("follow")
    assert runner.act("unfollow") == []
    unfollow = runner.webhooks[-1]["body"]["events"][0]
    assert unfollow["type"] == "unfollow" and "replyToken" not in unfollow

    welcome_back = runner.act("unblock")
    event = runner.webhooks[-1]["body"]["events"][0]
    assert event["type"] == "follow" and event["follow"] == {"isUnblocked": True}
    assert "おかえりなさい" in text_of(welcome_back)


def test_typed_words_and_picked_dates_reach_the_bot_as_line_sends_them(client: httpx.Client) -> None:
    runner = SimulatedRunner(client)
    runner.act("follow")
    answer = runner.act("message", text="料金")
    assert runner.webhooks[-1]["body"]["events"][0]["message"]["text"] == "料金"
    assert "円" in text_of(answer)

    runner.act("postback", data="a=booking.start", params={"date": "2030-01-15"})
    postback = runner.webhooks[-1]["body"]["events"][0]["postback"]
    assert postback == {"data": "a=booking.start", "params": {"date": "2030-01-15"}}


def test_runners_are_separate_chats(client: httpx.Client) -> None:
    first, second = SimulatedRunner(client), SimulatedRunner(client)
    first.act("follow")
    assert second.received == []
    names = {u["userId"]: u["displayName"] for u in client.get("/simulator/api/users").json()["users"]}
    assert first.user_id in names and second.user_id in names
    assert names[first.user_id] != names[second.user_id]


@pytest.mark.parametrize("payload", [
    {"kind": "message"},  # no text
    {"kind": "postback"},  # no data
    {"kind": "postback", "data": "x" * 301},  # LINE's postback data limit
    {"kind": "wave", "text": "hi"},
])
def test_actions_line_could_not_send_are_refused(client: httpx.Client, payload: dict[str, Any]) -> None:
    user_id = client.post("/simulator/api/users", json={}).json()["userId"]
    assert client.post("/simulator/api/send", json={"userId": user_id, **payload}).status_code == 422


async def test_with_a_line_channel_there_is_no_simulator_and_no_standin() -> None:
    settings = Settings(line_channel_secret="real-secret", line_channel_access_token="real-token",
                        admin_token="admin", _env_file=None)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as http:
        for path in ("/simulator", "/simulator/static/simulator.js", "/simulator/api/users",
                     "/_line/_standin/events", "/_line/v2/bot/message/quota"):
            assert (await http.get(path)).status_code == 404, path
        sent = await http.post("/simulator/api/send", json={"userId": "U" + "0" * 32, "kind": "follow"})
        assert sent.status_code == 404
        reply = await http.post("/_line/v2/bot/message/reply", json={"replyToken": "x", "messages": []})
        assert reply.status_code == 404
