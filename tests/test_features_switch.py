"""Every feature can be switched off in the settings (``DISABLED_FEATURES``) and the bot still answers runners.

The core (webhook, queue, consumer, engine, the check and its video) never needs a feature; a switched-off
feature's buttons are left out rather than offered and answered with an error.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from bot.app import create_app
from bot.config.settings import Settings
from bot.plugins import FEATURES
from tests.harness import ADMIN, BotHarness, Runner, actions_in, event, sign, walk_to_result
from tests.standin_server import StandinServer
from tests.test_simulator import free_port

VIDEO_TITLE = "膝裏の外側の筋膜リリース"


def labels_seen(runner: Runner) -> set[str]:
    return {str(action.get("label")) for message in runner.received for action in actions_in(message)}


async def finish_check(bot: BotHarness) -> Runner:
    runner = bot.runner()
    result = await walk_to_result(runner, "膝裏の外側")
    assert VIDEO_TITLE in runner.texts(result), "the check ends with the video for the runner's side"
    return runner


@pytest.mark.parametrize("off", [f.name for f in FEATURES] + [",".join(f.name for f in FEATURES)])
async def test_a_runner_finishes_the_check_with_a_feature_switched_off(redis_url: str, line: StandinServer,
                                                                      off: str) -> None:
    async with BotHarness.running(redis_url=redis_url, line=line, disabled_features=off) as bot:
        assert {f.name for f in bot.runtime.features}.isdisjoint(off.split(","))
        runner = await finish_check(bot)
        help_ = await runner.say("こんにちは")
        assert help_, "anything not understood still gets an answer"


async def test_without_booking_no_booking_button_is_offered_and_its_api_is_gone(redis_url: str,
                                                                               line: StandinServer) -> None:
    async with BotHarness.running(redis_url=redis_url, line=line, disabled_features="booking") as bot:
        runner = await finish_check(bot)
        assert "相談を予約する" not in labels_seen(runner)
        typed = await runner.say("予約")
        assert typed and "ご希望の日" not in runner.texts(typed), "the word gets help, not a calendar"
        response = await bot.client.get("/admin/api/bookings", headers={"Authorization": f"Bearer {ADMIN}"})
        assert response.status_code == 404


async def test_without_booking_the_dashboard_opens_on_the_inbox_and_shows_no_booking_tab(
        redis_url: str, line: StandinServer) -> None:
    async with BotHarness.running(redis_url=redis_url, line=line, disabled_features="booking") as bot:
        page = await bot.client.get("/admin/login")
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        await bot.client.post("/admin/login", data={"csrf": csrf, "name": "山田", "token": ADMIN,
                                                    "next": "/admin"})
        home = await bot.client.get("/admin", headers={"Accept": "text/html"})
        assert home.status_code == 303 and home.headers["location"] == "/admin/inbox"
        inbox = await bot.client.get("/admin/inbox")
        assert inbox.status_code == 200 and 'href="/admin/bookings"' not in inbox.text


async def test_without_follow_ups_no_check_in_is_scheduled(redis_url: str, line: StandinServer) -> None:
    async with BotHarness.running(redis_url=redis_url, line=line, disabled_features="followups") as bot:
        runner = await finish_check(bot)
        assert await bot.runtime.scheduler.jobs_for(runner.user_id) == []
        response = await bot.client.get("/admin/api/users/" + runner.user_id,
                                        headers={"Authorization": f"Bearer {ADMIN}"})
        assert response.status_code == 404


async def test_without_the_dashboard_there_are_no_staff_pages_and_no_hand_off(redis_url: str,
                                                                             line: StandinServer) -> None:
    async with BotHarness.running(redis_url=redis_url, line=line, disabled_features="dashboard") as bot:
        runner = await finish_check(bot)
        assert (await bot.client.get("/admin/login")).status_code == 404
        # A hand-off left behind by an earlier deploy silences nobody: the gate is the dashboard's.
        await bot.runtime.store.redis.set(f"lb:{{{runner.user_id}}}:handoff", "{}", ex=60)
        assert await runner.say("こんにちは")


class LocalModeServer:
    """The app in local mode (embedded store, the in-app LINE stand-in) under uvicorn in a thread."""

    def __init__(self, **settings: Any) -> None:
        self.port = free_port()
        self.settings = Settings(host="127.0.0.1", port=self.port, **settings)
        assert self.settings.local_mode
        self.app = create_app(self.settings)
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}")

    def __enter__(self) -> LocalModeServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            assert time.monotonic() < deadline, "the bot did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(timeout=30)

    def follow(self, user_id: str) -> list[dict[str, Any]]:
        standin = self.app.state.standin
        token = standin.issue_reply_token(user_id)
        body = json.dumps({"destination": "Ubot", "events": [event(user_id, "follow", token)]}).encode()
        signature = sign(body, self.settings.channel_secret())
        assert self.client.post("/callback", content=body, headers={"X-Line-Signature": signature}).status_code == 200
        deadline = time.monotonic() + 8
        while not standin.messages_for(user_id) and time.monotonic() < deadline:
            time.sleep(0.02)
        return [m.message for m in standin.messages_for(user_id)]


@pytest.fixture
def local_without_simulator() -> Iterator[LocalModeServer]:
    with LocalModeServer(disabled_features="simulator") as server:
        yield server


def test_local_mode_without_the_simulator_still_answers_through_the_stand_in(
        local_without_simulator: LocalModeServer) -> None:
    server = local_without_simulator
    assert server.client.get("/simulator").status_code == 404
    greeting = server.follow("U" + uuid.uuid4().hex)
    assert greeting and "友だち追加ありがとうございます" in json.dumps(greeting, ensure_ascii=False)


async def test_a_feature_that_is_switched_off_installs_nothing(redis_url: str, line: StandinServer) -> None:
    async with BotHarness.running(redis_url=redis_url, line=line,
                                  disabled_features="booking,followups,dashboard") as bot:
        hooks = bot.runtime.hooks
        assert hooks.commit_stages == [] and hooks.after_commit == []
        assert bot.runtime.router.event_types() == {"follow", "unfollow", "message", "postback",
                                                    "videoPlayComplete", "join"}


async def test_without_follow_ups_the_dashboard_offers_no_broadcasts_and_no_tag_changes(
        redis_url: str, line: StandinServer) -> None:
    from tests.admin_helpers import HTML, form_on, login

    async with BotHarness.running(redis_url=redis_url, line=line, disabled_features="followups") as bot:
        runner = bot.runner()
        await runner.follow()
        await login(bot, "院長")
        friend = await bot.client.get(f"/admin/friends/{runner.user_id}", headers=HTML)
        assert friend.status_code == 200 and "タグを追加" not in friend.text and 'href="/admin/broadcasts"' not in \
            friend.text
        assert (await bot.client.get("/admin/broadcasts", headers=HTML)).status_code == 404
        csrf = await form_on(bot, "/admin/friends")
        tagged = await bot.client.post(f"/admin/friends/{runner.user_id}/tags", data={"csrf": csrf, "add": "x"})
        assert tagged.status_code == 404
