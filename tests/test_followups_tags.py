"""Tags from answers and from watching a video, kept per runner and listed for staff by tag."""

from __future__ import annotations

from typing import Any

from tests.harness import ADMIN, BotHarness, event, walk_to_result
from tests.test_followups_checkins import eventually

AUTH = {"Authorization": f"Bearer {ADMIN}"}


async def listed(bot: BotHarness, *tags: str) -> list[str]:
    response = await bot.client.get("/admin/api/users", params=[("tag", t) for t in tags], headers=AUTH)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["count"] == len(body["users"])
    return [u["user_id"] for u in body["users"]]


async def test_answers_tag_runners_and_staff_can_list_runners_by_tag(bot: BotHarness) -> None:
    outer, inner = bot.runner(), bot.runner()
    await walk_to_result(outer, "膝裏の外側")
    await walk_to_result(inner, "膝裏の内側")
    assert await listed(bot, "side:outer") == [outer.user_id]
    assert sorted(await listed(bot, "check_done", "feel:tension")) == sorted([outer.user_id, inner.user_id])
    assert await listed(bot, "side:inner", "side:outer") == []
    response = await bot.client.get("/admin/api/users", params={"tag": "side:outer"}, headers=AUTH)
    assert "feel:tension" in response.json()["users"][0]["tags"]


async def test_a_red_flag_answer_is_a_tag_staff_can_find(bot: BotHarness) -> None:
    runner = bot.runner()
    await runner.follow()
    await runner.tap("1分チェックを始める")
    await runner.tap("膝裏の外側")
    await runner.tap("痛み")
    await runner.tap("当てはまるものがある")
    await runner.tap("脚にしびれがある")
    assert await listed(bot, "red_flag") == [runner.user_id]
    assert await listed(bot, "red_flag:numbness") == [runner.user_id]


async def test_watching_a_line_video_to_the_end_tags_watched_video(bot: BotHarness) -> None:
    runner = bot.runner()
    await walk_to_result(runner, "膝裏の外側")
    await bot.post_events([_video_complete(runner.user_id, "knee_back.outer")])

    async def tagged() -> bool:
        return runner.user_id in await listed(bot, "watched_video")

    await eventually(tagged)
    assert await listed(bot, "watched:knee_back.outer") == [runner.user_id]


async def test_opting_out_is_a_tag_and_opting_in_removes_it(bot: BotHarness) -> None:
    runner = bot.runner()
    await runner.follow()
    await runner.say("配信停止")
    assert await listed(bot, "opted_out") == [runner.user_id]
    await runner.say("配信再開")
    assert await listed(bot, "opted_out") == []


async def test_a_runner_who_blocks_leaves_every_tag_list(bot: BotHarness) -> None:
    runner = bot.runner()
    await walk_to_result(runner, "膝裏の外側")
    await runner.unfollow()

    async def gone() -> bool:
        # The list stops naming the runner as soon as their state is deleted; their own tag record goes
        # when the forget hook has run, a moment later.
        own_tags = await bot.runtime.store.redis.keys(f"lb:{{{runner.user_id}}}:tag*")
        return await listed(bot, "side:outer") == [] and own_tags == []

    await eventually(gone)


async def test_the_tag_list_needs_the_staff_token(bot: BotHarness) -> None:
    response = await bot.client.get("/admin/api/users", params={"tag": "side:outer"})
    assert response.status_code == 401
    response = await bot.client.get("/admin/api/users/Uabc", headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401


def _video_complete(user_id: str, tracking_id: str) -> dict[str, Any]:
    return event(user_id, "videoPlayComplete", "token-unused", videoPlayComplete={"trackingId": tracking_id})
