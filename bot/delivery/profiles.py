"""The runner's LINE display name, asked of LINE once and kept with the runner's data.

Why a cache: the name is shown to staff on every list and prefilled when a runner books; LINE's profile API
is a network call per runner. The name lives in the runner's own hash slot (``lb:{U…}:profile``) with the
runner's TTL, so it expires with their data and goes when they block the account or ask to be forgotten
(the runtime deletes the key then). A failed lookup is remembered briefly, not retried on every page view.
"""

from __future__ import annotations

import time

from bot.delivery.line_client import LineClient
from bot.store import Store, keys, shared_trip

#: A profile LINE did not give is asked again after this long.
MISS_SECONDS = 600


class Profiles:
    def __init__(self, store: Store, line: LineClient, *, ttl_seconds: int) -> None:
        self.store = store
        self.line = line
        self.ttl_seconds = ttl_seconds

    async def display_name(self, user_id: str) -> str | None:
        """The cached name, or LINE's (then cached); ``None`` when LINE does not say."""
        redis = self.store.redis
        key = keys.profile(user_id)
        # Both round trips go with the turn's others: a new friend's name is looked up on the consumer's
        # busiest path (their first tap), beside other runners' drains.
        cached = await shared_trip.one(redis, "HGETALL", key)
        if cached:
            return cached.get("display_name") or None
        found = await self.line.profile(user_id)
        name = str(found.get("displayName") or "") if found else ""
        async with redis.pipeline(transaction=False) as pipe:
            pipe.hset(key, mapping={"display_name": name, "fetched_at": str(int(time.time()))})
            pipe.expire(key, self.ttl_seconds if name else MISS_SECONDS)
            await shared_trip.execute_queued(redis, pipe)
        return name or None

    async def cached_name(self, user_id: str) -> str | None:
        """Only what is already known (for lists of many runners, where a LINE call each would be slow)."""
        name = await self.store.redis.hget(keys.profile(user_id), "display_name")
        return str(name) if name else None

    async def forget(self, user_id: str) -> None:
        await self.store.redis.delete(keys.profile(user_id))
