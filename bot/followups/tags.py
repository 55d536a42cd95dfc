"""Runners by tag: a set per tag (``lb:{tag:<tag>}``) so staff can list and message runners by tag.

Why a second copy of the tags: a runner's tags live in their conversation state (one JSON value), which
cannot be searched. After every stored event a commit hook brings the index in line with the state; the
runner's own ``lb:{<userId>}:tags`` set remembers what was indexed, so forgetting a runner (block,
「データ削除」) can take them out of every tag set even though their state is already gone.

The tag sets live in their own hash slots (``{tag:<name>}``), so they are read one by one and intersected
here, never with a multi-key command that a Redis Cluster would refuse.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.store import Store, keys
from bot.store.keys import PREFIX
from flows.context import Conversation


def tag_key(tag: str) -> str:
    """The set of runners who have ``tag``."""
    return f"{PREFIX}:{{tag:{tag}}}"


def runner_tags_key(user_id: str) -> str:
    """The tags this runner is indexed under (for cleaning up when they are forgotten)."""
    return f"{PREFIX}:{{{user_id}}}:tags"


class TagIndex:
    def __init__(self, store: Store, *, ttl_seconds: int) -> None:
        self.store = store
        self.ttl_seconds = ttl_seconds

    async def on_commit(self, conv: Conversation) -> None:
        """Commit hook: index tags the runner gained, unindex tags they lost."""
        if set(conv.state.tags) == set(conv.initial_tags):
            return  # most events change no tag: no extra round trip on the hot path
        await self.sync(conv.user_id, conv.state.tags)

    async def sync(self, user_id: str, tags: Iterable[str]) -> None:
        redis = self.store.redis
        own = runner_tags_key(user_id)
        current = set(tags)
        indexed = set(await redis.smembers(own))
        gained, lost = sorted(current - indexed), sorted(indexed - current)
        # One pipeline for every write (a commit hook runs on the consumer's hot path); the tag sets live in
        # other hash slots, so this cannot be one script — each write is idempotent and safe to redo.
        async with redis.pipeline(transaction=False) as pipe:
            for tag in gained:
                pipe.sadd(tag_key(tag), user_id)
            for tag in lost:
                pipe.srem(tag_key(tag), user_id)
            if gained:
                pipe.sadd(own, *gained)
            if lost:
                pipe.srem(own, *lost)
            if current:
                pipe.expire(own, self.ttl_seconds)
            await pipe.execute()

    async def forget(self, user_id: str) -> None:
        """Forget hook: the runner leaves every tag set."""
        redis = self.store.redis
        own = runner_tags_key(user_id)
        for tag in await redis.smembers(own):
            await redis.srem(tag_key(tag), user_id)
        await redis.delete(own)

    async def tags_of(self, user_id: str) -> list[str]:
        return sorted(await self.store.redis.smembers(runner_tags_key(user_id)))

    async def runners_with(self, tags: Iterable[str], *, without: Iterable[str] = ()) -> list[str]:
        """Runners having every tag in ``tags`` and none in ``without``, sorted; stale ids are dropped.

        A runner whose data expired (``RUNNER_TTL_SECONDS``) left no forget hook behind, so the sets may
        still name them: those are removed here, the first time someone looks.
        """
        wanted = list(dict.fromkeys(tags))
        if not wanted:
            return []
        redis = self.store.redis
        found: set[str] = set(await redis.smembers(tag_key(wanted[0])))
        for tag in wanted[1:]:
            if not found:
                break
            found &= set(await redis.smembers(tag_key(tag)))
        for tag in without:
            found -= set(await redis.smembers(tag_key(tag)))
        return await self._still_known(sorted(found), wanted)

    async def _still_known(self, user_ids: list[str], tags: list[str]) -> list[str]:
        if not user_ids:
            return []
        redis = self.store.redis
        async with redis.pipeline(transaction=False) as pipe:
            for user_id in user_ids:
                pipe.exists(keys.state(user_id))
            alive = await pipe.execute()
        stale = [u for u, ok in zip(user_ids, alive, strict=True) if not ok]
        for user_id in stale:
            for tag in tags:
                await redis.srem(tag_key(tag), user_id)
        return [u for u, ok in zip(user_ids, alive, strict=True) if ok]
