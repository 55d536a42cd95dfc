"""The rich menu follows the runner: after booking, their chat shows the booked menu (予約確認 first); a runner
forgotten or without the tag sees the default. Linked through LINE's per-user API at the stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.features.followups.richmenus import PENDING, MenuFollower, shown_key
from bot.ops.richmenu import run_richmenu
from tests.booking_support import Clock, book_in_chat, booking_bot
from tests.harness import BotHarness, make_settings
from tests.standin_server import StandinServer
from tests.test_admin_inbox import wait_until


@pytest.fixture
async def bot(redis_url: str, line: StandinServer, tmp_path: Path) -> AsyncIterator[BotHarness]:
    async with booking_bot(redis_url, line, tmp_path, Clock()) as harness:
        yield harness


def menu_name(line: StandinServer, user_id: str) -> str | None:
    shown = line.state.rich_menu_shown_to(user_id)
    return next((str(m.body["name"]) for m in line.state.rich_menus if m.rich_menu_id == shown), None)


async def settle(bot: BotHarness) -> None:
    follower = MenuFollower(bot.runtime.parts)
    await follower.menu_ids(force=True)
    while await follower.run_once():
        pass


async def test_a_runner_who_books_gets_the_booked_menu_and_leaves_it_when_forgotten(bot: BotHarness) -> None:
    assert await run_richmenu(make_settings(None, bot.line), dry_run=None) == 0
    runner, other = bot.runner(), bot.runner()
    await runner.follow()
    await other.follow()
    assert menu_name(bot.line, runner.user_id) == "seitai-bot:main"
    await book_in_chat(runner)
    await settle(bot)
    assert menu_name(bot.line, runner.user_id) == "seitai-bot:booked"
    assert menu_name(bot.line, other.user_id) == "seitai-bot:main"
    links = [r for r in bot.line.state.requests if r.path == "/v2/bot/richmenu/bulk/link"]
    assert links and links[-1].body["userIds"] == [runner.user_id] and links[-1].status == 202
    assert await bot.runtime.store.redis.get(shown_key(runner.user_id)) == "seitai-bot:booked"

    await runner.say("データ削除")
    redis = bot.runtime.store.redis
    await wait_until(lambda: _forgotten(redis, runner.user_id))


async def _forgotten(redis: Any, user_id: str) -> bool:
    return not await redis.exists(shown_key(user_id)) and await redis.zscore(PENDING, user_id) is None


async def test_a_menu_published_again_is_linked_again(bot: BotHarness) -> None:
    settings = make_settings(None, bot.line)
    assert await run_richmenu(settings, dry_run=None) == 0
    runner = bot.runner()
    await runner.follow()
    await book_in_chat(runner)
    await settle(bot)
    assert await run_richmenu(settings, dry_run=None) == 0  # the old booked menu is deleted: unlinked at LINE
    assert menu_name(bot.line, runner.user_id) == "seitai-bot:main"
    await settle(bot)  # the follower sees the new id and links the segment again
    assert menu_name(bot.line, runner.user_id) == "seitai-bot:booked"


def test_the_standin_links_one_user_as_line_does(line: StandinServer) -> None:
    menu = line.state.create_rich_menu({"size": {"width": 2500, "height": 843}, "selected": False, "name": "m",
                                        "chatBarText": "m", "areas": []})
    user = "U" + "0" * 32
    auth = {"Authorization": "Bearer x"}
    with httpx.Client(base_url=line.base_url, headers=auth) as client:
        refused = client.post(f"/v2/bot/user/{user}/richmenu/{menu}")
        assert refused.status_code == 400 and "image" in refused.json()["message"]  # no image yet
        line.state.set_rich_menu_image(menu, "image/png", b"png")
        assert client.post(f"/v2/bot/user/{user}/richmenu/{menu}").status_code == 200
        assert client.get(f"/v2/bot/user/{user}/richmenu").json() == {"richMenuId": menu}
        assert client.delete(f"/v2/bot/user/{user}/richmenu").status_code == 200
        assert client.get(f"/v2/bot/user/{user}/richmenu").status_code == 404
