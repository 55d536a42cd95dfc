"""The double-tap guard: a button tapped twice within moments acts once.

Why a script: the check and the remembering must be one step, and the same event handled again after a crash
must not be mistaken for a second tap — so the key remembers *which* event tapped.
"""

from __future__ import annotations

from typing import Any

from bot.store import keys
from bot.store.lua import Lua

_REMEMBER_TAP = Lua("""
local seen = redis.call('GET', KEYS[1])
if not seen then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 1
end
if seen == ARGV[1] then return 1 end
return 0
""")


async def remember_tap(redis: Any, user_id: str, data: str, event_id: str, ttl_seconds: int) -> bool:
    """True when this tap is new (or is this same event again); False for a second tap."""
    key = keys.tap_guard(user_id, data[:120])
    return bool(await _REMEMBER_TAP.run(redis, (key,), event_id, ttl_seconds))
