"""Brute-force limiting for the staff login: per client address and per name, with back-off, in Redis.

Each wrong password counts against the address it came from and the name it tried (counts fade after
``WINDOW_SECONDS`` without a failure). Past a few free tries, each further failure locks that address or name
for twice as long as the last (``BASE_SECONDS`` … ``MAX_LOCK_SECONDS``); while locked, every attempt — even
with the right password — is answered 429 with ``Retry-After``, before any password is checked. The name
limit stops a guesser with many addresses; the address limit stops one address trying many names. Kept in
Redis (one hash slot, one script per attempt) so every replica sees the same counts.

Every refused attempt writes a log line (address and reason; never the name or what was typed, which may be
a password typed in the wrong box) and counts in ``bot_admin_login_refused_total{reason}``.
"""

from __future__ import annotations

import hashlib
import logging
import math
import unicodedata
from typing import Any

from prometheus_client import Counter

from bot.store.keys import PREFIX
from bot.store.lua import Lua

log = logging.getLogger(__name__)

REFUSED = Counter("bot_admin_login_refused_total", "Staff logins refused, by reason (wrong, locked)", ["reason"])

WINDOW_SECONDS = 15 * 60
FREE_PER_NAME = 5
FREE_PER_ADDRESS = 20
BASE_SECONDS = 2
MAX_LOCK_SECONDS = 15 * 60

# KEYS: address count, name count, address lock, name lock.
# ARGV: window ms, free per address, free per name, base ms, max ms.
_FAILED = Lua("""
local longest = 0
for i = 1, 2 do
  local n = redis.call('INCR', KEYS[i])
  redis.call('PEXPIRE', KEYS[i], ARGV[1])
  local over = n - tonumber(ARGV[1 + i])
  if over > 0 then
    local ms = math.min(tonumber(ARGV[4]) * 2 ^ (over - 1), tonumber(ARGV[5]))
    redis.call('SET', KEYS[i + 2], '1', 'PX', math.floor(ms))
    if ms > longest then longest = ms end
  end
end
return math.floor(longest)
""")
_LOCKED = Lua("""
local a = redis.call('PTTL', KEYS[1])
local b = redis.call('PTTL', KEYS[2])
return math.max(a, b, 0)
""")


def _keys(address: str, name: str) -> tuple[str, str, str, str]:
    folded = unicodedata.normalize("NFKC", name).strip().lower()
    who = hashlib.sha256(folded.encode()).hexdigest()[:24]
    where = hashlib.sha256(address.encode()).hexdigest()[:24]
    base = f"{PREFIX}:{{login}}"
    return f"{base}:fails:ip:{where}", f"{base}:fails:name:{who}", f"{base}:lock:ip:{where}", \
        f"{base}:lock:name:{who}"


class LoginLimits:
    def __init__(self, redis: Any) -> None:
        self.redis = redis

    async def locked_for(self, address: str, name: str) -> int:
        """Seconds until this address and name may try again (0: now). Counts as a refused attempt."""
        _ac, _nc, address_lock, name_lock = _keys(address, name)
        ms = int(await _LOCKED.run(self.redis, (address_lock, name_lock)))
        if ms <= 0:
            return 0
        REFUSED.labels("locked").inc()
        log.warning("staff login refused: too many failures", extra={"client": address, "reason": "locked"})
        return max(1, math.ceil(ms / 1000))

    async def failed(self, address: str, name: str) -> int:
        """Count a wrong password; returns the lock it caused in seconds (0: none yet)."""
        ms = int(await _FAILED.run(self.redis, _keys(address, name), WINDOW_SECONDS * 1000, FREE_PER_ADDRESS,
                                   FREE_PER_NAME, BASE_SECONDS * 1000, MAX_LOCK_SECONDS * 1000))
        REFUSED.labels("wrong").inc()
        log.warning("staff login refused: wrong name or password", extra={"client": address, "reason": "wrong"})
        return math.ceil(ms / 1000)

    async def succeeded(self, address: str, name: str) -> None:
        """The name's count starts again; the address keeps its count (one known password must not clear
        the record of guesses at other names from the same place)."""
        _ac, name_count, _al, name_lock = _keys(address, name)
        await self.redis.delete(name_count, name_lock)
