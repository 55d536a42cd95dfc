"""A tap on a video card goes through the bot: it is counted, the runner is tagged, the video opens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.features.followups.tracking import CLICKS_KEY
from tests.harness import BotHarness, video_links, walk_to_result
from tests.standin_server import StandinServer
from tests.test_followups_checkins import eventually
from tests.test_followups_tags import listed

PUBLIC = "https://bot.example.test"
OUTER_VIDEO = "https://example.com/placeholder/videos/knee-back-outer"


@pytest.fixture
async def tracked(redis_url: str, line: StandinServer) -> AsyncIterator[BotHarness]:
    async with BotHarness.running(redis_url=redis_url, line=line, public_url=PUBLIC) as harness:
        yield harness


async def test_video_cards_link_through_the_bot_with_a_token_naming_the_runner(tracked: BotHarness) -> None:
    runner = tracked.runner()
    [link] = video_links(await walk_to_result(runner, "膝裏の外側"))
    assert link.startswith(f"{PUBLIC}/v/knee_back/outer?u=")
    assert len(link) <= 1000
    assert parse_qs(urlsplit(link).query)["u"][0].startswith(runner.user_id + ".")


async def test_opening_the_link_counts_tags_and_forwards_to_the_video(tracked: BotHarness) -> None:
    runner = tracked.runner()
    [link] = video_links(await walk_to_result(runner, "膝裏の外側"))
    before = len(runner.received)
    response = await tracked.client.get(link.removeprefix(PUBLIC), follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == OUTER_VIDEO
    assert await tracked.runtime.store.redis.hget(CLICKS_KEY, "knee_back.outer") == "1"

    async def tagged() -> bool:
        return runner.user_id in await listed(tracked, "watched_video")

    await eventually(tagged)
    assert await listed(tracked, "clicked:knee_back.outer") == [runner.user_id]
    assert len(runner.received) == before  # the tap itself sends the runner nothing


async def test_a_forged_or_mangled_link_still_opens_the_video_but_counts_nothing(tracked: BotHarness) -> None:
    runner = tracked.runner()
    await walk_to_result(runner, "膝裏の外側")
    someone_else = f"/v/knee_back/outer?u={runner.user_id}.forgedsignature0000000"
    response = await tracked.client.get(someone_else, follow_redirects=False)
    assert response.status_code == 302 and response.headers["location"] == OUTER_VIDEO
    bare = await tracked.client.get("/v/knee_back/outer", follow_redirects=False)
    assert bare.status_code == 302
    assert await tracked.runtime.store.redis.hget(CLICKS_KEY, "knee_back.outer") is None
    assert await listed(tracked, "watched_video") == []


async def test_a_link_to_a_video_that_does_not_exist_is_not_found(tracked: BotHarness) -> None:
    response = await tracked.client.get("/v/knee_back/nothing?u=x", follow_redirects=False)
    assert response.status_code == 404


async def test_without_a_public_address_cards_keep_the_plain_video_link(bot: BotHarness) -> None:
    runner = bot.runner()
    [link] = video_links(await walk_to_result(runner, "膝裏の外側"))
    assert link == OUTER_VIDEO
