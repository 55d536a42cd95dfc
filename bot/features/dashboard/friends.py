"""友だち: every friend with their name, tags, last activity, next booking and state, searchable and paged.

Index (kept by a commit stage and the forget hook, never on the webhook's path):
- ``lb:{friends}:seen`` sorted set runner -> the last time they did something (a message, a tap, adding us);
- ``lb:{friends}:names`` hash runner -> LINE display name, fetched once in the background (the name search
  reads the whole hash: 10,000 names are a few hundred kilobytes, one round trip);
- ``lb:{friends}:blocked`` sorted set runner -> when they blocked us. Their data is deleted then (privacy), so
  staff see only that they blocked and when; adding us again takes them off it.
Entries older than ``RUNNER_TTL_SECONDS`` (the runner's data expired) are dropped the first time a list is made.
Friends from before this index existed are added once by a worker loop (:func:`backfill`): their last activity
read from their state's remaining TTL (every stored event renews it), their names fetched slowly.

Tags filter with the tag sets the follow-ups feature keeps (``lb:{tag:<tag>}``): all of ``with_tags``, none of
``without_tags``. Only the page's rows are then read in full (state, name, next booking).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from bot.extension import Parts
from bot.features.booking.service import BookingService
from bot.features.dashboard.talk import runner_acted, talk_key
from bot.features.followups.optout import OPTED_OUT
from bot.features.followups.tags import tag_key
from bot.scheduling.rounds import pause
from bot.store import Store, keys, shared_trip
from bot.store.keys import PREFIX
from bot.store.lua import Lua
from bot.webhook.events import Event
from flows.context import Conversation
from handlers.router import Router

log = logging.getLogger(__name__)

SEEN = f"{PREFIX}:{{friends}}:seen"
NAMES = f"{PREFIX}:{{friends}}:names"
BLOCKED = f"{PREFIX}:{{friends}}:blocked"
PER_PAGE = 50
router = Router("dashboard.friends")
STATUSES = {"all": "すべて", "active": "配信中", "opted_out": "配信停止中", "blocked": "ブロック"}


@dataclass(slots=True)
class FriendFilter:
    query: str = ""
    with_tags: list[str] = field(default_factory=list)
    without_tags: list[str] = field(default_factory=list)
    status: str = "all"
    page: int = 1


@dataclass(slots=True)
class FriendRow:
    user_id: str
    last_at: float
    name: str | None = None
    tags: list[str] = field(default_factory=list)
    blocked: bool = False
    next_booking: int | None = None

    @property
    def opted_out(self) -> bool:
        return OPTED_OUT in self.tags


@dataclass(slots=True)
class FriendPage:
    rows: list[FriendRow]
    total: int
    page: int
    pages: int


def fold(text: str) -> str:
    """What a name search compares: NFKC (full-width letters, half-width kana), case, katakana as hiragana."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in folded).replace(" ", "")


async def backfill(parts: Parts, stop: asyncio.Event, names_per_second: float = 5.0) -> None:
    """A worker loop that runs until done: every runner tagged ``friend`` is in the index."""
    redis, ttl = parts.store.redis, parts.settings.runner_ttl_seconds
    while not stop.is_set():
        try:
            known = set(await redis.zrange(SEEN, 0, -1))
            missing = [str(u) for u in await redis.smembers(tag_key("friend")) if u not in known]
            for start in range(0, len(missing), 500):
                chunk = missing[start:start + 500]
                async with redis.pipeline(transaction=False) as pipe:
                    for user_id in chunk:
                        pipe.ttl(keys.state(user_id))
                    left = await pipe.execute()
                now = time.time()
                seen = {u: now - (ttl - int(t)) for u, t in zip(chunk, left, strict=True) if int(t) > 0}
                if seen:
                    await redis.zadd(SEEN, seen, nx=True)  # nx: a runner who acted meanwhile keeps that time
            fetcher = NameFetcher(parts)
            for user_id in missing:
                if stop.is_set():
                    return
                if not await redis.hexists(NAMES, user_id):
                    await fetcher.fetch(user_id)
                    await asyncio.sleep(1 / names_per_second)
            return
        except Exception as exc:  # Redis away at start-up: try again shortly
            log.warning("friend index backfill failed; retrying", extra={"error": type(exc).__name__})
            await pause(stop, 30)


#: KEYS: the activity index, the names (one slot: ``{friends}``). ARGV: the runner, now. Notes the activity
#: and says whether the name is known, as one command of the stage pipeline instead of two.
_NOTE_SEEN = Lua("""
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return redis.call('HEXISTS', KEYS[2], ARGV[1])
""")

#: The fetched name goes into the index only if the runner is still a friend (they may have blocked us while
#: LINE was asked) — one script, so the check and the write are one step and one round trip.
_NAME_IF_FRIEND = Lua("""
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) end
return 0
""")


class NameFetcher:
    """Asks LINE for a friend's display name in the background, once per runner (the consumer never waits)."""

    def __init__(self, parts: Parts) -> None:
        self.parts = parts
        self._busy: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def stage(self, conv: Conversation, pipe: Any) -> Any:
        """Commit stage: note the runner's activity; fetch their name if the index has none yet."""
        if not conv.user_id.startswith("U") or not runner_acted(conv):
            return None
        _NOTE_SEEN.queue(pipe, (SEEN, NAMES), conv.user_id, time.time())
        user_id = conv.user_id

        async def then(replies: list[Any]) -> None:
            if not replies[0] and user_id not in self._busy:
                self._busy.add(user_id)
                task = asyncio.create_task(self.fetch(user_id))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

        return then

    async def fetch(self, user_id: str) -> None:
        try:
            name = await self.parts.profiles.display_name(user_id)
            if name:
                await _NAME_IF_FRIEND.run(self.parts.store.redis, (SEEN, NAMES), user_id, name)
        except Exception as exc:  # a name is a nicety; the next activity tries again
            log.warning("could not fetch a friend's name", extra={"error": type(exc).__name__})
        finally:
            self._busy.discard(user_id)


@router.gate("unfollow")
async def note_block(event: Event, conv: Conversation) -> bool:
    """The runner blocked us: remember when (their data is deleted by the unfollow handler's forget)."""
    if conv.user_id.startswith("U"):
        await conv.deps.need(Store).redis.zadd(BLOCKED, {conv.user_id: time.time()})
    return False


@router.gate("follow")
async def note_follow(event: Event, conv: Conversation) -> bool:
    """Added again after a block: a friend again."""
    await shared_trip.one(conv.deps.need(Store).redis, "ZREM", BLOCKED, conv.user_id)
    return False


async def forget(redis: Any, user_id: str) -> None:
    """Forget hook: the name, the activity and the talk go; a block stays recorded (when, nothing more)."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zrem(SEEN, user_id)
        pipe.hdel(NAMES, user_id)
        pipe.delete(talk_key(user_id))
        await pipe.execute()


async def blocked_at(redis: Any, user_id: str) -> float | None:
    score = await redis.zscore(BLOCKED, user_id)
    return float(score) if score is not None else None


async def _prune(redis: Any, ttl: int) -> None:
    cutoff = time.time() - ttl
    stale = await redis.zrangebyscore(SEEN, "-inf", cutoff)
    if stale:
        await redis.zrem(SEEN, *stale)
        await redis.hdel(NAMES, *stale)
    await redis.zremrangebyscore(BLOCKED, "-inf", cutoff)


async def _matching(redis: Any, chosen: FriendFilter) -> list[tuple[str, float, bool]]:
    """(runner, last activity, blocked) for every friend the filter keeps, newest first."""
    rows: list[tuple[str, float, bool]] = []
    if chosen.status != "blocked":
        rows = [(str(u), float(s), False) for u, s in await redis.zrevrange(SEEN, 0, -1, withscores=True)]
        wanted = list(chosen.with_tags) + ([OPTED_OUT] if chosen.status == "opted_out" else [])
        unwanted = list(chosen.without_tags) + ([OPTED_OUT] if chosen.status == "active" else [])
        for tag in wanted:
            members = set(await redis.smembers(tag_key(tag)))
            rows = [r for r in rows if r[0] in members]
        for tag in unwanted:
            members = set(await redis.smembers(tag_key(tag)))
            rows = [r for r in rows if r[0] not in members]
        if chosen.query.strip():
            names, needle = await redis.hgetall(NAMES), fold(chosen.query)
            rows = [r for r in rows if needle in fold(names.get(r[0], ""))]
    plain = not (chosen.query.strip() or chosen.with_tags or chosen.without_tags)
    if chosen.status == "blocked" or (chosen.status == "all" and plain):
        gone = [(str(u), float(s), True) for u, s in await redis.zrevrange(BLOCKED, 0, -1, withscores=True)]
        rows = sorted(rows + gone, key=lambda r: r[1], reverse=True)
    return rows


async def list_friends(parts: Parts, chosen: FriendFilter, per_page: int = PER_PAGE) -> FriendPage:
    redis = parts.store.redis
    await _prune(redis, parts.settings.runner_ttl_seconds)
    rows = await _matching(redis, chosen)
    pages = max(1, -(-len(rows) // per_page))
    page = min(max(1, chosen.page), pages)
    shown = rows[(page - 1) * per_page: page * per_page]
    return FriendPage(rows=await _details(parts, shown), total=len(rows), page=page, pages=pages)


async def _details(parts: Parts, shown: list[tuple[str, float, bool]]) -> list[FriendRow]:
    """The page's rows in full: name and tags in one round trip, then each one's next booking."""
    redis = parts.store.redis
    live = [u for u, _at, gone in shown if not gone]
    async with redis.pipeline(transaction=False) as pipe:
        for user_id in live:
            pipe.get(keys.state(user_id))
        pipe.hmget(NAMES, live or ["-"])
        replies = await pipe.execute()
    states = dict(zip(live, replies[:-1], strict=True))
    names = dict(zip(live, replies[-1], strict=False))
    booking = parts.maybe(BookingService)
    found = []
    for user_id, at, gone in shown:
        row = FriendRow(user_id=user_id, last_at=at, blocked=gone, name=names.get(user_id))
        if not gone:
            state = json.loads(states.get(user_id) or "{}")
            row.tags = [str(t) for t in state.get("tags", [])]
            upcoming = await booking.upcoming(user_id) if booking is not None else []
            row.next_booking = upcoming[0].start if upcoming else None
        found.append(row)
    return found
