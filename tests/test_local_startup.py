"""What ``python -m bot serve`` tells a developer in local mode, and what it logs while they click around.

It prints where the simulator and the dashboard are and the token to log in with; each simulator action is
one INFO line (without what was typed), the HTTP client's own request line only at DEBUG; the browser's
icon comes from the app itself.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.test_simulator import LocalBot, SimulatedRunner, local_bot

__all__ = ["local_bot"]  # the fixture: one ``python -m bot serve`` process for this module


@pytest.fixture
def client(local_bot: LocalBot) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=local_bot.base_url, timeout=30) as http:
        yield http


def log_lines(bot: LocalBot) -> list[dict[str, object]]:
    lines = []
    for line in list(bot.output):
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def test_serve_prints_the_dashboard_address_and_the_local_login_token(local_bot: LocalBot,
                                                                      client: httpx.Client) -> None:
    assert local_bot.printed("Dashboard: ") == f"http://127.0.0.1:{local_bot.port}/admin (login token: local)"
    login = client.get("/admin/login", headers={"Accept": "text/html"})
    csrf = re.search(r'name="csrf" value="([^"]+)"', login.text)
    assert csrf is not None
    entered = client.post("/admin/login", data={"csrf": csrf.group(1), "name": "受付", "token": "local",
                                                "next": "/admin/inbox"})
    assert entered.status_code == 303 and entered.headers["location"] == "/admin/inbox"


def test_each_simulator_action_is_one_info_line_without_what_was_typed(local_bot: LocalBot,
                                                                       client: httpx.Client) -> None:
    runner = SimulatedRunner(client)
    runner.act("follow")
    runner.act("message", text="ログに出てはいけない言葉")
    time.sleep(0.3)  # the reading thread catches up with the process's output
    events = [hook["body"]["events"][0]["webhookEventId"] for hook in runner.webhooks]
    lines = log_lines(local_bot)
    for event_id in events:
        mine = [line for line in lines if line.get("webhook_event_id") == event_id
                and str(line.get("logger", "")).startswith("bot.features.simulator")]
        assert len(mine) == 1 and mine[0]["level"] == "info", mine
    assert [line["kind"] for line in lines if line.get("webhook_event_id") in events] == ["follow", "message"]
    assert not [line for line in lines if line.get("logger") == "httpx"], "httpx's request line is DEBUG only"
    assert "ログに出てはいけない言葉" not in "".join(local_bot.output)


def test_the_app_serves_its_own_icon(client: httpx.Client) -> None:
    for path in ("/favicon.ico", "/favicon.svg"):
        icon = client.get(path)
        assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
        assert icon.text.startswith("<svg")
    assert 'rel="icon" href="/favicon.svg"' in client.get("/simulator").text
    assert 'rel="icon" href="/favicon.svg"' in client.get("/admin/login", headers={"Accept": "text/html"}).text
