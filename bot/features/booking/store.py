"""Bookings in Redis, changed only by Lua scripts so no practitioner is ever given two runners at once.

Why Lua: "is this practitioner free for every step of this menu?" and "take those steps" must be one step.
However many runners confirm at the same moment, Redis runs the scripts one after another, so each grid step
of each practitioner goes to exactly one booking — also when menus of different lengths overlap.

Every key lives in the ``{bookings}`` hash slot so each script is atomic on a Redis Cluster too (the scripts
name every key they touch). That includes the per-runner indexes: they must change in the same step as the
booking, so they cannot carry the runner's own hash tag like their conversation keys do.

- ``records``  hash  id -> booking JSON (the record staff see; a move keeps the id, with a history)
- ``by_start`` zset  id -> start (epoch seconds), for date ranges and the calendar
- ``busy:<practitioner>:<YYYY-MM-DD>`` hash  grid step (epoch seconds) -> booking id or waitlist hold;
  expires a week after its day
- ``runner:<U…>`` zset id -> start, the runner's *active* bookings; ``visits:<U…>`` every booking of theirs
- ``request:<nonce>`` the booking a confirm button already made, so a second tap books nothing new

Changes to an existing booking are compare-and-set on its JSON: the script applies them only if nobody
changed the record since it was read, and the service re-reads and re-checks otherwise.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from bot.store import Store
from bot.store.keys import PREFIX
from bot.store.lua import Lua

PENDING = "pending"  # approval mode: the seat is held, staff have not confirmed yet
CONFIRMED = "confirmed"
CANCELLED = "cancelled"
ATTENDED = "attended"
NO_SHOW = "no_show"

TAG = f"{PREFIX}:{{bookings}}"
RECORDS = f"{TAG}:records"
BY_START = f"{TAG}:by_start"
#: A confirm button is remembered this long (longer than a summary stays useful in a chat).
REQUEST_TTL_SECONDS = 7 * 24 * 3600
#: A day's busy map outlives the day by this long (staff may still cancel or mark a booking of last week).
BUSY_KEEP_SECONDS = 8 * 24 * 3600


def runner_index(user_id: str) -> str:
    return f"{TAG}:runner:{user_id}"


def visits_index(user_id: str) -> str:
    return f"{TAG}:visits:{user_id}"


def request_key(nonce: str) -> str:
    return f"{TAG}:request:{nonce}"


def busy_key(practitioner: str, day: dt.date) -> str:
    return f"{TAG}:busy:{practitioner}:{day.isoformat()}"


#: A runner's booking indexes expire this long after the start of their latest booking, so no key of a
#: runner stays for ever (the records themselves are the clinic's appointment book and stay).
INDEX_KEEP_SECONDS = 90 * 24 * 3600
_KEEP_INDEXES = f"""
local function keep(key)
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')[2]
  if last then redis.call('EXPIREAT', key, math.floor(tonumber(last)) + {INDEX_KEEP_SECONDS}) end
end
"""

# A cell is free when empty, when its waitlist hold has run out, or when it is held for this runner.
_FREE = """
local function free(v, now, user)
  if not v then return true end
  local who, till = string.match(v, '^hold|([^|]*)|(%d+)|')
  if not who then return false end
  return (user ~= '' and who == user) or tonumber(till) <= now
end
"""

# KEYS: records, by_start, runner, visits, request, busy per candidate practitioner.
# ARGV: id, start, request ttl, now, user, expire-at, cell count, cells..., one record JSON per candidate.
_RESERVE = Lua(_FREE + _KEEP_INDEXES + """
local prior = redis.call('GET', KEYS[5])
if prior then return {'again', prior} end
local mine = redis.call('ZRANGEBYSCORE', KEYS[3], ARGV[2], ARGV[2])
if #mine > 0 then
  redis.call('SET', KEYS[5], mine[1], 'EX', ARGV[3])
  return {'again', mine[1]}
end
local now, n = tonumber(ARGV[4]), tonumber(ARGV[7])
for c = 6, #KEYS do
  local ok = true
  for i = 1, n do
    if not free(redis.call('HGET', KEYS[c], ARGV[7 + i]), now, ARGV[5]) then ok = false break end
  end
  if ok then
    for i = 1, n do redis.call('HSET', KEYS[c], ARGV[7 + i], ARGV[1]) end
    redis.call('EXPIREAT', KEYS[c], ARGV[6])
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[7 + n + c - 5])
    redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
    redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
    redis.call('ZADD', KEYS[4], ARGV[2], ARGV[1])
    keep(KEYS[3])
    keep(KEYS[4])
    redis.call('SET', KEYS[5], ARGV[1], 'EX', ARGV[3])
    return {'ok', ARGV[1], tostring(c - 6)}
  end
end
return {'full', ''}
""")

# KEYS: records, by_start, runner, visits, old busy, busy per candidate.
# ARGV: id, old JSON, new start, now, user, expire-at, old cell count, old cells..., new cell count,
#       new cells..., one record JSON per candidate.
_MOVE = Lua(_FREE + _KEEP_INDEXES + """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return {'changed'} end
local now, n_old = tonumber(ARGV[4]), tonumber(ARGV[7])
local n_new = tonumber(ARGV[8 + n_old])
local first_new, first_json = 9 + n_old, 9 + n_old + n_new
for c = 6, #KEYS do
  local ok = true
  for i = 0, n_new - 1 do
    local v = redis.call('HGET', KEYS[c], ARGV[first_new + i])
    if v ~= ARGV[1] and not free(v, now, ARGV[5]) then ok = false break end
  end
  if ok then
    for i = 1, n_old do
      if redis.call('HGET', KEYS[5], ARGV[7 + i]) == ARGV[1] then redis.call('HDEL', KEYS[5], ARGV[7 + i]) end
    end
    for i = 0, n_new - 1 do redis.call('HSET', KEYS[c], ARGV[first_new + i], ARGV[1]) end
    redis.call('EXPIREAT', KEYS[c], ARGV[6])
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[first_json + c - 6])
    for k = 2, 4 do redis.call('ZADD', KEYS[k], ARGV[3], ARGV[1]) end
    keep(KEYS[3])
    keep(KEYS[4])
    return {'ok', tostring(c - 6)}
  end
end
return {'full'}
""")

# KEYS: records, runner, busy. ARGV: id, old JSON, new JSON, cells...
_CANCEL = Lua("""
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 'changed' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
for i = 4, #ARGV do
  if redis.call('HGET', KEYS[3], ARGV[i]) == ARGV[1] then redis.call('HDEL', KEYS[3], ARGV[i]) end
end
redis.call('ZREM', KEYS[2], ARGV[1])
return 'ok'
""")

_REPLACE = Lua("""
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 'changed' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 'ok'
""")

# KEYS: busy per candidate. ARGV: hold value, now, expire-at, cells... -> the candidate held (1-based) or 0.
_HOLD = Lua(_FREE + """
local now = tonumber(ARGV[2])
for c = 1, #KEYS do
  local ok = true
  for i = 4, #ARGV do
    if not free(redis.call('HGET', KEYS[c], ARGV[i]), now, '') then ok = false break end
  end
  if ok then
    for i = 4, #ARGV do redis.call('HSET', KEYS[c], ARGV[i], ARGV[1]) end
    redis.call('EXPIREAT', KEYS[c], ARGV[3])
    return c
  end
end
return 0
""")

# KEYS: busy. ARGV: holder, cells... : let go of the cells this holder still has.
_RELEASE = Lua("""
local freed = 0
for i = 2, #ARGV do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[1] then redis.call('HDEL', KEYS[1], ARGV[i]) freed = freed + 1 end
end
return freed
""")

Written = Literal["ok", "changed", "full"]


@dataclass(slots=True)
class Booking:
    """One visit. ``start`` is epoch seconds; ``history`` records every change and who made it.

    Records written before menus and practitioners existed load with ``menu == ""`` (the clinic's first
    menu), ``minutes == 0`` (one grid step) and no ``name``; ``user_id`` is a LINE user id, or
    ``tel:<…>`` for a caller booked by staff without one.
    """

    id: str
    user_id: str
    start: int
    status: str
    created_at: float
    updated_at: float
    staff_checked: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)
    menu: str = ""
    minutes: int = 0
    practitioner: str = ""
    #: The runner (or the caller) asked for this practitioner (指名); otherwise any free one was given.
    nominated: bool = False
    name: str = ""
    phone: str | None = None
    #: ``attended`` (来院) or ``no_show`` (無断キャンセル), set by staff; ``None`` until then.
    attendance: str | None = None

    @property
    def active(self) -> bool:
        """A seat is held: confirmed, or waiting for staff approval."""
        return self.status in (CONFIRMED, PENDING)

    @property
    def on_line(self) -> bool:
        """Whether the runner can be told on LINE (a phone-only booking cannot)."""
        return self.user_id.startswith("U")

    def dumps(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"), sort_keys=True)

    @classmethod
    def loads(cls, raw: str) -> Booking:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in json.loads(raw).items() if k in known})


def _expire_at(cells: list[int]) -> int:
    return max(cells) + BUSY_KEEP_SECONDS


class BookingStore:
    def __init__(self, store: Store) -> None:
        self.redis = store.redis

    async def reserve(self, candidates: list[Booking], day: dt.date, cells: list[int], *, now: int, nonce: str
                      ) -> tuple[str, str, int]:
        """Take the first candidate practitioner free for every cell (each candidate: the booking as it would
        be with that practitioner). ``('ok', id, index)``, ``('again', existing id, -1)`` or ``('full', '', -1)``.
        """
        first = candidates[0]
        keys = [RECORDS, BY_START, runner_index(first.user_id), visits_index(first.user_id), request_key(nonce),
                *[busy_key(b.practitioner, day) for b in candidates]]
        found = await _RESERVE.run(self.redis, keys, first.id, first.start, REQUEST_TTL_SECONDS, now,
                                   first.user_id, _expire_at(cells), len(cells), *cells,
                                   *[b.dumps() for b in candidates])
        outcome, booking_id = str(found[0]), str(found[1])
        return outcome, booking_id, int(found[2]) if outcome == "ok" else -1

    async def move(self, old: Booking, old_day: dt.date, old_cells: list[int], candidates: list[Booking],
                   new_day: dt.date, new_cells: list[int], *, now: int) -> tuple[Written, int]:
        keys = [RECORDS, BY_START, runner_index(old.user_id), visits_index(old.user_id),
                busy_key(old.practitioner, old_day), *[busy_key(b.practitioner, new_day) for b in candidates]]
        found = await _MOVE.run(self.redis, keys, old.id, old.dumps(), candidates[0].start, now, old.user_id,
                                _expire_at(new_cells), len(old_cells), *old_cells, len(new_cells), *new_cells,
                                *[b.dumps() for b in candidates])
        outcome = str(found[0])
        if outcome == "ok":
            return "ok", int(found[1])
        return ("full" if outcome == "full" else "changed"), -1

    async def cancel(self, old: Booking, new: Booking, day: dt.date, cells: list[int]) -> Written:
        keys = [RECORDS, runner_index(old.user_id), busy_key(old.practitioner, day)]
        result = await _CANCEL.run(self.redis, keys, old.id, old.dumps(), new.dumps(), *cells)
        return "ok" if result == "ok" else "changed"

    async def replace(self, old: Booking | str, new: Booking) -> Written:
        """Compare-and-set; ``old`` may be the stored JSON itself (a record written by an older version)."""
        expected = old if isinstance(old, str) else old.dumps()
        result = await _REPLACE.run(self.redis, [RECORDS], new.id, expected, new.dumps())
        return "ok" if result == "ok" else "changed"

    async def hold(self, practitioners: list[str], day: dt.date, cells: list[int], holder: str, *, now: int
                   ) -> str | None:
        """Keep the cells of the first free practitioner for a waitlist offer; which one, or ``None``."""
        keys = [busy_key(p, day) for p in practitioners]
        found = int(await _HOLD.run(self.redis, keys, holder, now, _expire_at(cells), *cells))
        return practitioners[found - 1] if found else None

    async def release(self, practitioner: str, day: dt.date, cells: list[int], holder: str) -> int:
        return int(await _RELEASE.run(self.redis, [busy_key(practitioner, day)], holder, *cells))

    async def get(self, booking_id: str) -> Booking | None:
        raw = await self.redis.hget(RECORDS, booking_id)
        return Booking.loads(raw) if raw else None

    async def active_for(self, user_id: str) -> list[Booking]:
        """The runner's bookings that hold a seat, soonest first."""
        return await self._load(await self.redis.zrange(runner_index(user_id), 0, -1))

    async def all_for(self, user_id: str) -> list[Booking]:
        """Every booking of the runner, any status, soonest first."""
        return await self._load(await self.redis.zrange(visits_index(user_id), 0, -1))

    async def between(self, start: int, end: int) -> list[Booking]:
        """Every booking (any status) starting in ``[start, end)``, soonest first."""
        ids = await self.redis.zrangebyscore(BY_START, start, f"({end}")
        return await self._load(ids)

    async def busy(self, practitioners: list[str], days: list[dt.date]) -> dict[str, dict[int, str]]:
        """Who holds each grid step of these practitioners on these days, in one round trip."""
        pairs = [(p, d) for p in practitioners for d in days]
        async with self.redis.pipeline(transaction=False) as pipe:
            for p, d in pairs:
                pipe.hgetall(busy_key(p, d))
            found = await pipe.execute()
        busy: dict[str, dict[int, str]] = {p: {} for p in practitioners}
        for (p, _d), cells in zip(pairs, found, strict=True):
            busy[p].update({int(cell): str(holder) for cell, holder in cells.items()})
        return busy

    async def _load(self, ids: list[str]) -> list[Booking]:
        if not ids:
            return []
        raws = await self.redis.hmget(RECORDS, ids)
        bookings = [Booking.loads(raw) for raw in raws if raw]
        return sorted(bookings, key=lambda b: (b.start, b.created_at))
