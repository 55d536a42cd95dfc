"""The rich menu follows the runner's tags: a runner with a booking sees the booked menu (予約確認 first).

Which menu a set of tags gets is :func:`bot.ops.richmenu.menu_for` (the menus are drawn and published from
code by ``python -m bot richmenu``). When an event changes which menu a runner should see, a commit stage puts
them in ``lb:{richmenu}:pending`` (one command in the shared pipeline: nothing waits for LINE on the consumer's
path). A worker loop takes up to 500 at a time, reads their tags again (the latest word), and links them in bulk
to their segment menu or unlinks them (back to the default) with LINE's per-user rich menu API; a runner is
taken off the list only if nothing re-queued them meanwhile. LINE down: they stay and are tried again.

The published menus are found by name (``seitai-bot:<segment>``), looked up again every few minutes; when a
segment menu is published anew (a new id), everyone with its tag is queued again, so nobody is left on a
deleted menu.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from linebot.v3.messaging import RichMenuBulkLinkRequest, RichMenuBulkUnlinkRequest

from bot.extension import Parts
from bot.features.followups.tags import TagIndex
from bot.ops.richmenu import MENUS, Menu, menu_for
from bot.scheduling.rounds import run_rounds
from bot.store.keys import PREFIX, runner_key
from bot.store.lua import Lua
from flows.context import Conversation

log = logging.getLogger(__name__)

PENDING = f"{PREFIX}:{{richmenu}}:pending"
BATCH = 500  # LINE's limit for a bulk link
REFRESH_SECONDS = 300
_DONE = Lua("""
local n = 0
for i = 1, #ARGV, 2 do
  if tonumber(redis.call('ZSCORE', KEYS[1], ARGV[i])) == tonumber(ARGV[i + 1]) then
    redis.call('ZREM', KEYS[1], ARGV[i]); n = n + 1
  end
end
return n
""")


def shown_key(user_id: str) -> str:
    """The menu this runner was last linked to (its name), for staff and to skip needless calls."""
    return runner_key(user_id, "richmenu")


class MenuFollower:
    def __init__(self, parts: Parts, menus: tuple[Menu, ...] = MENUS) -> None:
        self.parts = parts
        self.menus = menus
        self.tags = TagIndex(parts.store, ttl_seconds=parts.settings.runner_ttl_seconds)
        self._ids: dict[str, str] = {}
        self._looked = 0.0

    @property
    def redis(self) -> Any:
        return self.parts.store.redis

    def stage(self, conv: Conversation, pipe: Any) -> None:
        """Commit stage: queue the runner when their tags now call for another menu."""
        if menu_for(conv.state.tags, self.menus) != menu_for(conv.initial_tags, self.menus):
            pipe.zadd(PENDING, {conv.user_id: _now_ms()})

    async def forget(self, user_id: str) -> None:
        await self.redis.zrem(PENDING, user_id)
        await self.redis.delete(shown_key(user_id))

    async def menu_ids(self, *, force: bool = False) -> dict[str, str]:
        """Published menu ids by name (looked up every ``REFRESH_SECONDS``); a segment menu with a new id
        sends everyone of its segment round again."""
        if not force and time.monotonic() - self._looked < REFRESH_SECONDS:
            return self._ids
        listed = await self.parts.line.api.get_rich_menu_list()
        names = {m.name for m in self.menus}
        found = {str(m.name): str(m.rich_menu_id) for m in listed.richmenus if m.name in names}
        for menu in self.menus:
            if menu.tag is not None and menu.name in found and self._ids.get(menu.name) != found[menu.name]:
                everyone = await self.tags.runners_with([menu.tag])
                for start in range(0, len(everyone), 1000):
                    await self.redis.zadd(PENDING, {u: _now_ms() for u in everyone[start:start + 1000]})
        self._ids, self._looked = found, time.monotonic()
        return found

    async def run_once(self) -> int:
        """Link or unlink one batch of queued runners; returns how many were settled."""
        queued = await self.redis.zrange(PENDING, 0, BATCH - 1, withscores=True)
        if not queued:
            return 0
        ids = await self.menu_ids()
        wanted: dict[str | None, list[str]] = {}
        for user_id, _score in queued:
            menu = menu_for(await self.tags.tags_of(str(user_id)), self.menus)
            target = ids.get(menu.name) if menu.tag is not None else None  # unpublished: the default
            wanted.setdefault(target, []).append(str(user_id))
        api = self.parts.line.api
        for target, users in wanted.items():
            if target is None:
                async with self.redis.pipeline(transaction=False) as pipe:  # each in its runner's slot
                    for user_id in users:
                        pipe.get(shown_key(user_id))
                    shown = await pipe.execute()
                linked = [u for u, name in zip(users, shown, strict=True) if name and name != self.menus[0].name]
                if linked:  # only those we linked before: the others already see the default
                    await api.unlink_rich_menu_id_from_users(RichMenuBulkUnlinkRequest(userIds=linked))
            else:
                await api.link_rich_menu_id_to_users(RichMenuBulkLinkRequest(richMenuId=target, userIds=users))
        names = {v: k for k, v in ids.items()}
        async with self.redis.pipeline(transaction=False) as pipe:
            for target, users in wanted.items():
                for user_id in users:
                    pipe.set(shown_key(user_id), names.get(target or "", self.menus[0].name),
                             ex=self.parts.settings.runner_ttl_seconds)
            await pipe.execute()
        args = [str(x) for user_id, score in queued for x in (user_id, int(score))]
        return int(await _DONE.run(self.redis, (PENDING,), *args))

    async def run(self, stop: asyncio.Event, interval_s: float = 2.0) -> None:
        async def until_empty() -> None:  # LINE or Redis unavailable: the queue keeps them for the next round
            while await self.run_once() and not stop.is_set():
                pass

        await run_rounds(stop, until_empty, interval_s=interval_s, what="rich menu")


def _now_ms() -> int:
    """Queue scores in whole milliseconds, so "queued again meanwhile" is an exact comparison."""
    return int(time.time() * 1000)
