"""Bookings in Redis, changed only by Lua scripts so capacity can never be exceeded.

Why Lua: "is there a free practitioner?" and "take it" must be one step. However many runners confirm the
last seat at the same moment, Redis runs the scripts one after another, so exactly ``capacity`` succeed.

Every key lives in the ``{bookings}`` hash slot so each script is atomic on a Redis Cluster too. That
includes the per-runner index (``lb:{bookings}:runner:<userId>``): it must change in the same step as the
booking, so it cannot carry the runner's own hash tag like their conversation keys do.

- ``records``  hash  id -> booking JSON (the record staff see; a move keeps the id, with a history)
- ``by_start`` zset  id -> start (epoch seconds), for date ranges and the calendar
- ``taken``    hash  start -> confirmed bookings in that slot
- ``runner:<U…>`` zset id -> start, the runner's *active* bookings (expires ``INDEX_KEEP_SECONDS`` after the
  latest start, so a runner's key never stays for ever)
- ``request:<nonce>`` the booking a confirm button already made, so a second tap books nothing new

Changes to an existing booking are compare-and-set on its JSON: the script applies them only if nobody
changed the record since it was read, and the service re-reads and re-checks otherwise.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from bot.store import Store
from bot.store.keys import PREFIX

CONFIRMED = "confirmed"
CANCELLED = "cancelled"

_TAG = f"{PREFIX}:{{bookings}}"
RECORDS = f"{_TAG}:records"
BY_START = f"{_TAG}:by_start"
TAKEN = f"{_TAG}:taken"
#: A confirm button is remembered this long (longer than a summary stays useful in a chat).
REQUEST_TTL_SECONDS = 7 * 24 * 3600


def runner_index(user_id: str) -> str:
    return f"{_TAG}:runner:{user_id}"


def request_key(nonce: str) -> str:
    return f"{_TAG}:request:{nonce}"


#: A runner's index of active bookings expires this long after the start of their latest one.
INDEX_KEEP_SECONDS = 90 * 24 * 3600
_KEEP_INDEX = f"""
local last = redis.call('ZRANGE', KEYS[4], -1, -1, 'WITHSCORES')[2]
if last then redis.call('EXPIREAT', KEYS[4], math.floor(tonumber(last)) + {INDEX_KEEP_SECONDS}) end
"""

_RESERVE = """
local prior = redis.call('GET', KEYS[5])
if prior then return {'again', prior} end
local mine = redis.call('ZRANGEBYSCORE', KEYS[4], ARGV[2], ARGV[2])
if #mine > 0 then
  redis.call('SET', KEYS[5], mine[1], 'EX', ARGV[5])
  return {'again', mine[1]}
end
local taken = tonumber(redis.call('HGET', KEYS[3], ARGV[2]) or '0')
if taken >= tonumber(ARGV[3]) then return {'full', ''} end
redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[2], ARGV[1])
redis.call('SET', KEYS[5], ARGV[1], 'EX', ARGV[5])
""" + _KEEP_INDEX + """
return {'ok', ARGV[1]}
"""

_MOVE = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 'changed' end
local taken = tonumber(redis.call('HGET', KEYS[3], ARGV[5]) or '0')
if taken >= tonumber(ARGV[6]) then return 'full' end
redis.call('HINCRBY', KEYS[3], ARGV[5], 1)
if redis.call('HINCRBY', KEYS[3], ARGV[4], -1) <= 0 then redis.call('HDEL', KEYS[3], ARGV[4]) end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[1])
""" + _KEEP_INDEX + """
return 'ok'
"""

_CANCEL = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 'changed' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if redis.call('HINCRBY', KEYS[2], ARGV[4], -1) <= 0 then redis.call('HDEL', KEYS[2], ARGV[4]) end
redis.call('ZREM', KEYS[3], ARGV[1])
return 'ok'
"""

_REPLACE = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 'changed' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 'ok'
"""

Written = Literal["ok", "changed", "full"]


@dataclass(slots=True)
class Booking:
    """One consultation. ``start`` is epoch seconds; ``history`` records every change and who made it."""

    id: str
    user_id: str
    start: int
    status: str
    created_at: float
    updated_at: float
    staff_checked: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.status == CONFIRMED

    def dumps(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"), sort_keys=True)

    @classmethod
    def loads(cls, raw: str) -> Booking:
        return cls(**json.loads(raw))


class BookingStore:
    def __init__(self, store: Store) -> None:
        self.redis = store.redis

    async def reserve(self, booking: Booking, *, capacity: int, nonce: str) -> tuple[str, str]:
        """``('ok', id)``, ``('again', existing id)`` for a repeated confirm, or ``('full', '')``."""
        keys = [RECORDS, BY_START, TAKEN, runner_index(booking.user_id), request_key(nonce)]
        outcome, booking_id = await self.redis.eval(
            _RESERVE, len(keys), *keys, booking.id, booking.start, capacity, booking.dumps(),
            REQUEST_TTL_SECONDS)
        return str(outcome), str(booking_id)

    async def move(self, old: Booking, new: Booking, *, capacity: int) -> Written:
        keys = [RECORDS, BY_START, TAKEN, runner_index(old.user_id)]
        result = await self.redis.eval(_MOVE, len(keys), *keys, old.id, old.dumps(), new.dumps(), old.start,
                                       new.start, capacity)
        return "ok" if result == "ok" else "full" if result == "full" else "changed"

    async def cancel(self, old: Booking, new: Booking) -> Written:
        keys = [RECORDS, TAKEN, runner_index(old.user_id)]
        result = await self.redis.eval(_CANCEL, len(keys), *keys, old.id, old.dumps(), new.dumps(), old.start)
        return "ok" if result == "ok" else "changed"

    async def replace(self, old: Booking, new: Booking) -> Written:
        result = await self.redis.eval(_REPLACE, 1, RECORDS, old.id, old.dumps(), new.dumps())
        return "ok" if result == "ok" else "changed"

    async def get(self, booking_id: str) -> Booking | None:
        raw = await self.redis.hget(RECORDS, booking_id)
        return Booking.loads(raw) if raw else None

    async def active_for(self, user_id: str) -> list[Booking]:
        """The runner's confirmed bookings, soonest first."""
        ids = await self.redis.zrange(runner_index(user_id), 0, -1)
        return await self._load(ids)

    async def between(self, start: int, end: int) -> list[Booking]:
        """Every booking (any status) starting in ``[start, end)``, soonest first."""
        ids = await self.redis.zrangebyscore(BY_START, start, f"({end}")
        return await self._load(ids)

    async def taken(self, starts: list[int]) -> dict[int, int]:
        """How many confirmed bookings each slot holds."""
        if not starts:
            return {}
        counts = await self.redis.hmget(TAKEN, [str(s) for s in starts])
        return {s: int(c) for s, c in zip(starts, counts, strict=True) if c}

    async def _load(self, ids: list[str]) -> list[Booking]:
        if not ids:
            return []
        raws = await self.redis.hmget(RECORDS, ids)
        bookings = [Booking.loads(raw) for raw in raws if raw]
        return sorted(bookings, key=lambda b: (b.start, b.created_at))
