"""Broadcasts: segment messages staff send now or at a set time, each remembered with who sent it, how many
it reached and how many tapped its links.

One service behind both ``POST /admin/api/messages`` and the 配信 page. A broadcast's id is the request id of
its segment send (:mod:`.segments`), so sending the same one again — a retried request, a form sent twice, a
scheduled send taken over after a crash — repeats the same batches with the same retry keys, and LINE shows
nothing twice.

- **Scheduled** broadcasts wait in ``lb:{segments}:broadcast_due`` (score: when). A worker loop claims a due
  one by moving its score forward by a lease (a worker that dies leaves it to be claimed again), sends it,
  then removes it. A time inside the quiet hours is refused when scheduling, as a send-now is; one found due
  at night (the workers were down) waits for the morning. The audience is chosen when it is sent.
- **Link taps**: with a public address (``PUBLIC_URL``, or local mode's), each link in the messages is sent as
  ``/b/<id>/<n>``, which counts the tap and forwards (302). A multicast is one message for everyone, so taps
  are counted per broadcast and link, not per runner.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.extension import Parts
from bot.features.followups.segments import SegmentSender, excluded, quiet_until
from bot.features.followups.tags import TagIndex
from bot.features.followups.tracking import public_base
from bot.scheduling.rounds import run_rounds
from bot.store.keys import PREFIX
from bot.store.lua import Lua

log = logging.getLogger(__name__)

RECORDS = f"{PREFIX}:{{segments}}:broadcasts"
INDEX = f"{PREFIX}:{{segments}}:broadcast_index"
DUE = f"{PREFIX}:{{segments}}:broadcast_due"
TAPS = f"{PREFIX}:{{segments}}:broadcast_taps"
LEASE_SECONDS = 600
MAX_AHEAD_DAYS = 60
KEEP = 500
_URL = re.compile(r"https?://[^\s<>\"']+")
_CLAIM = Lua("""
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1)
if #ids == 0 then return false end
redis.call('ZADD', KEYS[1], ARGV[2], ids[1])
return ids[1]
""")

#: Heard for every batch LINE accepted: (the broadcast, the runners in it). The dashboard records the talk.
BatchListener = Callable[["Broadcast", list[str]], Awaitable[object]]


class BroadcastRefused(ValueError):
    """``status`` and ``detail`` as the API answers them (409 quiet hours, 400 a bad time)."""

    def __init__(self, status: int, detail: dict[str, Any]) -> None:
        super().__init__(detail.get("message", ""))
        self.status, self.detail = status, detail


@dataclass(slots=True)
class Broadcast:
    id: str
    created_at: float
    created_by: str
    tags: list[str]
    exclude_tags: list[str]
    messages: list[dict[str, Any]]
    include_red_flag: bool = False
    summary: str = ""
    links: list[str] = field(default_factory=list)
    status: str = "scheduled"  # scheduled, sending, sent, partly_sent, cancelled
    send_at: float | None = None
    sent_at: float | None = None
    recipients: int = 0
    sent_to: int = 0
    batches: int = 0
    failed_batches: list[int] = field(default_factory=list)

    def dumps(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def loads(cls, raw: str) -> Broadcast:
        return cls(**json.loads(raw))

    def as_json(self, tz: dt.tzinfo, taps: int = 0) -> dict[str, Any]:
        def iso(ts: float | None) -> str | None:
            return dt.datetime.fromtimestamp(ts, tz).isoformat() if ts else None

        return {"broadcast_id": self.id, "status": self.status, "created_by": self.created_by,
                "created_at": iso(self.created_at), "send_at": iso(self.send_at), "sent_at": iso(self.sent_at),
                "tags": self.tags, "exclude_tags": self.exclude_tags, "include_red_flag": self.include_red_flag,
                "summary": self.summary, "recipients": self.recipients, "sent_to": self.sent_to,
                "batches": self.batches, "sent_batches": self.batches - len(self.failed_batches),
                "failed_batches": self.failed_batches, "link_taps": taps}


def summary_of(messages: list[dict[str, Any]]) -> str:
    first = messages[0] if messages else {}
    return str(first.get("text") or first.get("altText") or first.get("type") or "")[:80]


class Broadcasts:
    def __init__(self, parts: Parts) -> None:
        self.parts = parts
        self.sender = SegmentSender(parts.store, TagIndex(parts.store, ttl_seconds=parts.settings.runner_ttl_seconds),
                                    parts.line)
        self.listeners: list[BatchListener] = []

    @property
    def redis(self) -> Any:
        return self.parts.store.redis

    async def audience(self, tags: list[str], exclude: list[str], include_red_flag: bool) -> list[str]:
        return await self.sender.audience(tags, exclude, include_red_flag=include_red_flag)

    async def red_flag_left_out(self, tags: list[str], exclude: list[str], include_red_flag: bool) -> int:
        """How many runners the red-flag rule alone keeps out (the page says so)."""
        if include_red_flag or "red_flag" in tags:
            return 0
        everyone = await self.sender.tags.runners_with(tags, without=[t for t in excluded(tags, exclude, True)])
        return len(everyone) - len(await self.audience(tags, exclude, False))

    async def submit(self, broadcast: Broadcast, *, send_at: dt.datetime | None = None) -> Broadcast:
        """Send now, or keep for ``send_at``; refused (409) in the quiet hours either way. The same id again
        returns what was done the first time (and resends nothing LINE has)."""
        clock = self.parts.scheduler.clock()
        moment = send_at.timestamp() if send_at is not None else clock
        self._check_time(moment, clock, scheduled=send_at is not None)
        existing = await self.get(broadcast.id)
        if existing is not None and existing.status in ("scheduled", "cancelled"):
            return existing  # a form sent twice schedules once
        if existing is not None:  # a send retried: the same batches again (LINE drops those it has)
            broadcast.created_at, broadcast.created_by = existing.created_at, existing.created_by
        broadcast.messages, broadcast.links = self._tracked(broadcast.id, broadcast.messages)
        broadcast.summary = broadcast.summary or summary_of(broadcast.messages)
        if send_at is None:
            return await self.send(broadcast)
        broadcast.send_at, broadcast.status = moment, "scheduled"
        await self._save(broadcast)
        await self.redis.zadd(DUE, {broadcast.id: moment})
        return broadcast

    def _check_time(self, moment: float, clock: float, *, scheduled: bool) -> None:
        clinic = self.parts.clinic
        if scheduled and moment < clock - 60:
            raise BroadcastRefused(400, {"error": "past", "message": "過去の日時には予約できません。"})
        if scheduled and moment > clock + MAX_AHEAD_DAYS * 86400:
            raise BroadcastRefused(400, {"error": "too_far", "message": f"{MAX_AHEAD_DAYS}日先までです。"})
        quiet = quiet_until(clinic, moment)
        if quiet is not None:
            raise BroadcastRefused(409, {
                "error": "quiet_hours", "not_before": quiet.isoformat(),
                "message": f"配信しない時間帯です。送信していません。{quiet:%H:%M}以降に送ってください。"})

    async def send(self, broadcast: Broadcast) -> Broadcast:
        broadcast.status = "sending"
        await self._save(broadcast)

        async def heard(group: list[str]) -> None:
            for listener in self.listeners:
                await listener(broadcast, group)

        report = await self.sender.send(broadcast.id, broadcast.tags, broadcast.exclude_tags, broadcast.messages,
                                        include_red_flag=broadcast.include_red_flag, on_batch=heard)
        broadcast.recipients, broadcast.batches = report.recipients, report.batches
        broadcast.sent_to, broadcast.failed_batches = report.sent_to, report.failed_batches
        broadcast.status = "partly_sent" if report.failed_batches else "sent"
        broadcast.sent_at = time.time()
        await self._save(broadcast)
        return broadcast

    async def cancel(self, broadcast_id: str) -> Broadcast | None:
        """Take a scheduled broadcast back before it is sent (None: unknown or already going)."""
        if not await self.redis.zrem(DUE, broadcast_id):
            return None
        found = await self.get(broadcast_id)
        if found is not None:
            found.status = "cancelled"
            await self._save(found)
        return found

    async def get(self, broadcast_id: str) -> Broadcast | None:
        raw = await self.redis.hget(RECORDS, broadcast_id)
        return Broadcast.loads(raw) if raw else None

    async def recent(self, limit: int = 50) -> list[tuple[Broadcast, int]]:
        """The newest broadcasts with their link taps."""
        ids = await self.redis.zrevrange(INDEX, 0, limit - 1)
        if not ids:
            return []
        raws = await self.redis.hmget(RECORDS, ids)
        taps = await self.taps()
        found = [Broadcast.loads(r) for r in raws if r]
        return [(b, taps.get(b.id, 0)) for b in found]

    async def taps(self) -> dict[str, int]:
        counted: dict[str, int] = {}
        for key, value in (await self.redis.hgetall(TAPS)).items():
            broadcast_id = str(key).rpartition(":")[0]
            counted[broadcast_id] = counted.get(broadcast_id, 0) + int(value)
        return counted

    async def tap(self, broadcast_id: str, index: int) -> str | None:
        """Count a tap on link ``index``; the link's target, or None when there is no such link."""
        found = await self.get(broadcast_id)
        if found is None or not 0 <= index < len(found.links):
            return None
        await self.redis.hincrby(TAPS, f"{broadcast_id}:{index}", 1)
        return found.links[index]

    async def _save(self, broadcast: Broadcast) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hset(RECORDS, broadcast.id, broadcast.dumps())
            pipe.zadd(INDEX, {broadcast.id: broadcast.created_at})
            await pipe.execute()
        stale = await self.redis.zrange(INDEX, 0, -KEEP - 1)
        if stale:
            await self.redis.zrem(INDEX, *stale)
            await self.redis.hdel(RECORDS, *stale)

    def _tracked(self, broadcast_id: str, messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
        """The messages with each link going through ``/b/<id>/<n>`` (when the bot has a public address)."""
        base = public_base(self.parts.settings)
        if base is None:
            return messages, []
        links: list[str] = []

        def through(url: str) -> str:
            if url.startswith(f"{base}/b/"):
                return url
            links.append(url)
            return f"{base}/b/{broadcast_id}/{len(links) - 1}"

        rewritten = []
        for message in messages:
            if message.get("type") == "text":
                message = {**message, "text": _URL.sub(lambda m: through(m.group(0)), str(message["text"]))}
            rewritten.append(_rewrite_uris(message, through))
        return rewritten, links

    # --- the worker loop --------------------------------------------------------------------------------

    async def run_due(self) -> int:
        """Send every scheduled broadcast that is due; returns how many were sent."""
        done = 0
        while True:
            now = self.parts.scheduler.clock()
            claimed = await _CLAIM.run(self.redis, (DUE,), now, now + LEASE_SECONDS)
            if not claimed:
                return done
            later = quiet_until(self.parts.clinic, now)
            if later is not None:  # found due at night (workers were down): the morning, not now
                await self.redis.zadd(DUE, {str(claimed): later.timestamp()})
                continue
            found = await self.get(str(claimed))
            if found is not None and found.status in ("scheduled", "sending"):
                await self.send(found)
                done += 1
            await self.redis.zrem(DUE, str(claimed))

    async def run(self, stop: asyncio.Event, interval_s: float = 5.0) -> None:
        await run_rounds(stop, self.run_due, interval_s=interval_s, what="broadcast")


def _rewrite_uris(node: Any, through: Callable[[str], str]) -> Any:
    """``node`` with every ``uri`` (a button's or a card's link) passed through ``through``."""
    if isinstance(node, dict):
        return {key: through(value) if key == "uri" and isinstance(value, str) else _rewrite_uris(value, through)
                for key, value in node.items()}
    if isinstance(node, list):
        return [_rewrite_uris(item, through) for item in node]
    return node
