"""Runners by tag: a set per tag (``lb:{tag:<tag>}``) so staff can list and message runners by tag.

Why a second copy of the tags: a runner's tags live in their conversation state (one JSON value), which
cannot be searched. After every stored event a commit hook brings the index in line with the state; the
runner's own ``lb:{<userId>}:tagged`` hash (tag → 1) remembers what was indexed, so forgetting a runner
(block, 「データ削除」) can take them out of every tag set even though their state is already gone.

Why a hash: a runner's handful of tags as a small hash is listpack-encoded (~150 B), where a set of strings
is always a hashtable in Redis 7.0 (~500 B). Runners indexed before the hash have a set
(``lb:{<userId>}:tags``): it is read beside the hash, folded into it at the runner's next tag change, and
deleted with the rest when they are forgotten, so no tag they had is left behind.

The tag sets live in their own hash slots (``{tag:<name>}``), so they are read one by one and intersected
here, never with a multi-key command that a Redis Cluster would refuse.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from bot.store import Store, keys
from bot.store.keys import PREFIX, runner_key
from bot.store.lua import Lua
from flows.context import Conversation


def tag_key(tag: str) -> str:
    """The set of runners who have ``tag``."""
    return f"{PREFIX}:{{tag:{tag}}}"


def runner_tags_key(user_id: str) -> str:
    """The tags this runner is indexed under (for cleaning up when they are forgotten): a hash, tag → 1."""
    return runner_key(user_id, "tagged")


def legacy_tags_key(user_id: str) -> str:
    """Before ``runner_tags_key``: the same as a set. Read and deleted, never written."""
    return runner_key(user_id, "tags")


#: KEYS: the runner's old tag set, their tag hash (one slot). ARGV: the hash's TTL (0: leave it), then the tags
#: to record in the hash. Returns {old set's members, hash's tags} as they were before recording: one command
#: in the stage pipeline for what were four (SMEMBERS, HKEYS, HSET, EXPIRE).
_READ_AND_RECORD = Lua("""
local read = {redis.call('SMEMBERS', KEYS[1]), redis.call('HKEYS', KEYS[2])}
for i = 2, #ARGV do redis.call('HSET', KEYS[2], ARGV[i], 1) end
if tonumber(ARGV[1]) > 0 then redis.call('EXPIRE', KEYS[2], ARGV[1]) end
return read
""")


def queue_read_and_record(pipe: Any, user_id: str, record: list[str], ttl: int) -> None:
    """Queue the script whose reply :func:`indexed_in` reads."""
    _READ_AND_RECORD.queue(pipe, (legacy_tags_key(user_id), runner_tags_key(user_id)), ttl, *record)


def indexed_in(reply: list[Any]) -> tuple[set[str], bool]:
    """The tags the old set and the hash named, and whether the old set still exists."""
    legacy, own = reply
    return set(legacy) | set(own), bool(legacy)


class TagIndex:
    def __init__(self, store: Store, *, ttl_seconds: int) -> None:
        self.store = store
        self.ttl_seconds = ttl_seconds

    def stage_commit(self, conv: Conversation, pipe: Any) -> Callable[[list[Any]], Awaitable[None]] | None:
        """Commit stage: index tags the runner gained, unindex tags they lost (first round trip, shared)."""
        if set(conv.state.tags) == set(conv.initial_tags):
            return None  # most events change no tag: nothing on the hot path
        return self._stage_sync(pipe, conv.user_id, conv.state.tags, conv.initial_tags)

    async def sync(self, user_id: str, tags: Iterable[str], *, likely_indexed: Iterable[str] | None = None) -> None:
        """Make the index say exactly ``tags`` for the runner (see :meth:`_stage_sync`)."""
        async with self.store.redis.pipeline(transaction=False) as pipe:
            then = self._stage_sync(pipe, user_id, tags, likely_indexed)
            replies = await pipe.execute()
        await then(replies)

    def _stage_sync(self, pipe: Any, user_id: str, tags: Iterable[str], likely_indexed: Iterable[str] | None
                    ) -> Callable[[list[Any]], Awaitable[None]]:
        """Queue the read of what is indexed, with the writes for the tags gained since ``likely_indexed``.

        ``likely_indexed``: what the index should already hold (the tags before this event). The tags gained
        since then are written in the same round trip that reads what is really indexed; a second round trip
        follows only when the index differs from that guess (a tag lost, or a hook missed by a crash) — the
        end state is the same as reading first and writing after (every write is idempotent). The tag sets
        live in other hash slots than the runner's keys, so they are written beside the script.
        """
        current = set(tags)
        guessed = sorted(current - set(likely_indexed)) if likely_indexed is not None else []
        queue_read_and_record(pipe, user_id, guessed, self.ttl_seconds if current else 0)
        for tag in guessed:
            pipe.sadd(tag_key(tag), user_id)

        async def then(replies: list[Any]) -> None:
            indexed, legacy = indexed_in(replies[0])
            await self._finish(user_id, current, indexed | set(guessed), legacy=legacy)

        return then

    async def _finish(self, user_id: str, current: set[str], indexed: set[str], *, legacy: bool) -> None:
        """Write what differs; a runner's old set is folded into the hash here, once (``legacy``)."""
        gained, lost = sorted(current - indexed), sorted(indexed - current)
        if not gained and not lost and not legacy:
            return
        own = runner_tags_key(user_id)
        recorded = sorted(current) if legacy else gained
        async with self.store.redis.pipeline(transaction=False) as pipe:
            for tag in gained:
                pipe.sadd(tag_key(tag), user_id)
            for tag in lost:
                pipe.srem(tag_key(tag), user_id)
            if legacy:
                pipe.delete(legacy_tags_key(user_id))
            if recorded:
                pipe.hset(own, mapping=dict.fromkeys(recorded, 1))
            if lost:
                pipe.hdel(own, *lost)
            if current:
                pipe.expire(own, self.ttl_seconds)
            await pipe.execute()

    async def forget(self, user_id: str) -> None:
        """Forget hook: the runner leaves every tag set (those their old set names too)."""
        tags = await self.tags_of(user_id)
        async with self.store.redis.pipeline(transaction=False) as pipe:
            for tag in tags:
                pipe.srem(tag_key(tag), user_id)
            pipe.delete(runner_tags_key(user_id), legacy_tags_key(user_id))
            await pipe.execute()

    async def tags_of(self, user_id: str) -> list[str]:
        async with self.store.redis.pipeline(transaction=False) as pipe:
            queue_read_and_record(pipe, user_id, [], 0)  # read only
            replies = await pipe.execute()
        return sorted(indexed_in(replies[0])[0])

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
