"""The durable event queue between the webhook and the handlers.

Accepting an event (on the request path, before LINE gets its 200):
1. a script, in the runner's own slot, remembers the ``webhookEventId`` and appends the event to the
   runner's inbox — unless that id was seen before (LINE redelivered it);
2. a notice naming the runner goes on one Redis Stream, read by a consumer group.
The notice is added even for a duplicate: if the process died between 1 and 2 last time, LINE's
redelivery is what gets the runner's inbox looked at. A notice with nothing behind it costs one read.

Consumers take notices, hold the runner's lock, and drain that runner's inbox oldest first, so one runner's
events are handled in order and once, while different runners are handled in parallel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from bot.store import Store, keys, shared_trip
from bot.store.lua import Lua
from bot.webhook.events import Event

_ACCEPT = Lua("""
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then
  redis.call('RPUSH', KEYS[2], ARGV[1])
  redis.call('EXPIRE', KEYS[2], ARGV[3])
  return 1
end
return 0
""")


class EventQueue:
    """Both ends of the queue; the store decides whether it is a real Redis or the embedded one."""

    def __init__(self, store: Store, *, dedupe_seconds: int, inbox_ttl_seconds: int = 7 * 24 * 3600) -> None:
        self.store = store
        self.dedupe_seconds = dedupe_seconds
        self.inbox_ttl_seconds = inbox_ttl_seconds
        #: Wakes in-process consumers at once (the embedded store cannot block on a stream read).
        self.wake = asyncio.Event()
        self._group_ready = False

    async def ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            await self.store.redis.xgroup_create(keys.EVENT_STREAM, keys.CONSUMER_GROUP, id="0", mkstream=True)
        except Exception as exc:  # BUSYGROUP: another process made it first
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    def group_missing(self) -> None:
        self._group_ready = False

    async def accept(self, events: Sequence[Event]) -> list[bool]:
        """Persist events before acknowledging them; returns which were new (not redeliveries).

        Every event has an id: LINE's ``webhookEventId`` (the webhook drops events without a valid one) or,
        for a bot-made event, the id its maker gives (:meth:`enqueue_internal`).
        """
        redis = self.store.redis
        fresh: list[bool] = []
        if not self.store.cluster:
            # One round trip for the whole body (profiled: the webhook's main cost was 2 per event), shared
            # with whatever else this process asks for in the same turn of the loop (shared_trip.py). Redis
            # runs a pipeline in order, so each notice still follows its event into the inbox; any error
            # raises, as before, and LINE redelivers.
            async with redis.pipeline(transaction=False) as pipe:
                for event in events:
                    chat = event.chat_id
                    _ACCEPT.queue(pipe, (keys.seen_event(chat, event.id), keys.inbox(chat)),
                                  event.dumps(), self.dedupe_seconds, self.inbox_ttl_seconds)
                    pipe.xadd(keys.EVENT_STREAM, {"u": chat})
                replies = await shared_trip.execute_queued(redis, pipe)
            fresh = [bool(is_new) for is_new in replies[0::2]]
            self.wake.set()
            return fresh
        for event in events:
            chat = event.chat_id
            is_new = await _ACCEPT.run(redis, (keys.seen_event(chat, event.id), keys.inbox(chat)),
                                       event.dumps(), self.dedupe_seconds, self.inbox_ttl_seconds)
            await redis.xadd(keys.EVENT_STREAM, {"u": chat})
            fresh.append(bool(is_new))
        self.wake.set()
        return fresh

    async def enqueue_internal(self, chat_id: str, dedupe_id: str, raw: dict[str, object], now: float) -> bool:
        """Queue a bot-made event (a due reminder or check-in) into a runner's inbox, once per ``dedupe_id``."""
        event = Event(raw={**raw, "webhookEventId": dedupe_id, "source": {"type": "user", "userId": chat_id}},
                      received_at=now)
        return (await self.accept([event]))[0]
