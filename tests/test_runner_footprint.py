"""What a runner leaves in Redis: few small keys while they are a friend, none once forgotten — also for
runners whose data an older release wrote (per-runner sets, since replaced by listpack-encoded keys).

A stored runner's bytes are a running cost the clinic pays for every friend it ever had (for the runner TTL),
so the bound below is what was measured after the check with the compact keys, with a little room.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bot.features.dashboard import funnel
from bot.features.followups.tags import legacy_tags_key, runner_tags_key, tag_key
from bot.scheduling.scheduler import legacy_jobs_key, runner_jobs_key
from tests.harness import BotHarness, Runner, walk_to_result
from tests.test_admin_funnel import settle
from tests.test_followups_checkins import eventually

#: Keys that live only while an event is handled or for the webhook's dedupe window (not a stored runner).
BRIEF = ("evt:", "tap:", "fail:", "lock", "inbox", "outbox", "admin:blocked")
#: The staff's talk timeline is measured and compacted on its own (``bot/features/dashboard/talk.py``).
NOT_HERE = ("talk",)
#: After the check (state, funnel, tagged, profile, jobs:due): 1,336 B measured on Redis 7.0; 2,264 B with
#: the per-runner sets before.
MAX_STORED_BYTES = 1450
MAX_STORED_KEYS = 5


async def runner_keys(bot: BotHarness, user_id: str) -> dict[str, str]:
    """The runner's own keys, by what they hold (``lb:{U…}:<what>``) → full key name."""
    redis = bot.runtime.store.redis
    return {key.split("}:", 1)[1]: key async for key in redis.scan_iter(f"lb:{{{user_id}}}:*")}


async def stored_keys(bot: BotHarness, user_id: str) -> dict[str, str]:
    return {what: key for what, key in (await runner_keys(bot, user_id)).items()
            if not what.startswith(BRIEF) and what not in NOT_HERE}


async def as_an_older_release_left_it(bot: BotHarness, user_id: str) -> None:
    """Rewrite the runner's compact keys the way the release before them stored the same facts: a set of
    questions asked, one of questions answered, a set of indexed tags, a set of job ids."""
    redis = bot.runtime.store.redis
    reached = await redis.hkeys(funnel.reached_key(user_id))
    tags = await redis.hkeys(runner_tags_key(user_id))
    jobs = await redis.zrange(runner_jobs_key(user_id), 0, -1)
    async with redis.pipeline(transaction=False) as pipe:
        for field in reached:
            old = funnel.legacy_asked_key(user_id) if field.startswith("q:") else funnel.legacy_answered_key(user_id)
            pipe.sadd(old, field[2:])
        for old, members in ((legacy_tags_key(user_id), tags), (legacy_jobs_key(user_id), jobs)):
            if members:
                pipe.sadd(old, *members)
        for old in (funnel.legacy_asked_key(user_id), funnel.legacy_answered_key(user_id),
                    legacy_tags_key(user_id), legacy_jobs_key(user_id)):
            pipe.expire(old, 3600)
        pipe.delete(funnel.reached_key(user_id), runner_tags_key(user_id), runner_jobs_key(user_id))
        await pipe.execute()


async def tag_lists_naming(bot: BotHarness, user_id: str) -> list[str]:
    redis = bot.runtime.store.redis
    return sorted([key async for key in redis.scan_iter(tag_key("*")) if await redis.sismember(key, user_id)])


async def settled_keys(bot: BotHarness, runner: Runner, expected: set[str]) -> dict[str, str]:
    """The runner's stored keys once the hooks after the last event have run."""
    for _ in range(100):
        found = await stored_keys(bot, runner.user_id)
        if set(found) >= expected:
            return found
        await asyncio.sleep(0.02)
    return await stored_keys(bot, runner.user_id)


async def test_a_runner_after_the_check_is_stored_in_a_few_small_keys(bot: BotHarness) -> None:
    runner = bot.runner()
    await walk_to_result(runner, "膝裏の外側")
    found = await settled_keys(bot, runner, {"state", "funnel", "tagged", "profile", "jobs:due"})

    redis = bot.runtime.store.redis
    sizes = {what: int(await redis.memory_usage(key, samples=0)) for what, key in found.items()}
    encodings: dict[str, Any] = {what: await redis.object("encoding", key) for what, key in found.items()}
    assert len(found) <= MAX_STORED_KEYS, sizes
    assert sum(sizes.values()) <= MAX_STORED_BYTES, sizes
    # Redis 7.0 keeps every set of strings as a hashtable (hundreds of bytes even for three members).
    assert "hashtable" not in encodings.values(), encodings


async def test_the_funnel_counts_a_runner_once_per_question_also_when_an_older_release_counted_the_first(
        bot: BotHarness) -> None:
    runner = bot.runner()
    await runner.follow()
    await runner.tap("1分チェックを始める")
    await runner.tap("膝裏の外側")
    q, a = funnel.ASKED + "knee_back.", funnel.ANSWERED + "knee_back."
    await settle(bot, {q + "feel": "1", a + "where": "1"}, questions=True)
    await as_an_older_release_left_it(bot, runner.user_id)

    for label in ("張り", "どれも当てはまらない", "走った後"):
        await runner.tap(label)
    await runner.say("最初から")
    await runner.tap("膝裏の内側")

    counts = await settle(bot, {a + "timing": "1"}, questions=True)
    assert {k: counts.get(k) for k in (q + "where", a + "where", q + "feel", a + "feel", q + "timing",
                                      a + "timing")} == dict.fromkeys(
        (q + "where", a + "where", q + "feel", a + "feel", q + "timing", a + "timing"), "1")
    redis = bot.runtime.store.redis  # and the older release's sets were moved into the one hash
    assert await redis.exists(funnel.legacy_asked_key(runner.user_id), funnel.legacy_answered_key(runner.user_id)) == 0
    assert {"q:knee_back.where", "a:knee_back.where"} <= set(await redis.hkeys(funnel.reached_key(runner.user_id)))


async def test_a_runner_tagged_by_an_older_release_has_their_tags_moved_when_they_change(bot: BotHarness) -> None:
    runner = bot.runner()
    await walk_to_result(runner, "膝裏の外側")
    await settled_keys(bot, runner, {"tagged"})
    await as_an_older_release_left_it(bot, runner.user_id)
    await runner.say("配信停止")  # a tag gained: the index is brought in line, the old set folded in

    redis = bot.runtime.store.redis

    async def moved() -> bool:
        return not await redis.exists(legacy_tags_key(runner.user_id)) and {"side:outer", "opted_out"} <= set(
            await redis.hkeys(runner_tags_key(runner.user_id)))

    await eventually(moved)
    assert runner.user_id in await redis.smembers(tag_key("opted_out"))


async def test_forgetting_a_runner_an_older_release_stored_removes_them_from_tag_lists_and_leaves_no_key(
        bot: BotHarness) -> None:
    runner = bot.runner()
    await walk_to_result(runner, "膝裏の外側")
    await settled_keys(bot, runner, {"state", "funnel", "tagged", "jobs:due"})
    await as_an_older_release_left_it(bot, runner.user_id)
    assert "tag:side:outer" in str(await tag_lists_naming(bot, runner.user_id))
    await runner.unfollow()

    async def gone() -> bool:
        return await tag_lists_naming(bot, runner.user_id) == [] and await stored_keys(bot, runner.user_id) == {}

    await eventually(gone)
    assert await bot.runtime.parts.scheduler.jobs_for(runner.user_id) == []
