"""What handlers and actions may use: the store, the clinic's settings, the flows and the engine.

Built once at start-up (web process or worker) and passed along; no module-level globals, so tests can run
several bots side by side.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.clinic import Clinic
from bot.events import Event
from bot.settings import Settings
from bot.store import Store, keys
from bot.store.lua import Lua
from flows.context import Conversation
from flows.engine import Engine
from flows.loader import FlowSet
from flows.schema import Video

if TYPE_CHECKING:
    from bot.booking.service import BookingService

# Remember a tap unless it is already remembered for another event; the same event handled again (after a
# crash) is not mistaken for a second tap.
_REMEMBER_TAP = """
local seen = redis.call('GET', KEYS[1])
if not seen then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 1
end
if seen == ARGV[1] then return 1 end
return 0
"""
_REMEMBER_TAP_LUA = Lua(_REMEMBER_TAP)  # sent by SHA1 (bot/store/lua.py)


@dataclass(slots=True)
class Services:
    settings: Settings
    store: Store
    clinic: Clinic
    flows: FlowSet
    engine: Engine
    #: Builds the link a video card opens; a tracking redirect can replace the plain URL.
    video_link_factory: Callable[[str], Callable[[str, Video], str]] | None = None
    #: Handlers for bot-made events (``x-reminder``, ``x-checkin``...), registered by the services that make them.
    internal_handlers: dict[str, Callable[[Event, Conversation], Awaitable[None]]] = field(default_factory=dict)
    #: Chat booking (installed by the ``bot.booking`` plugin); ``None`` until then.
    booking: BookingService | None = None
    _variables: dict[str, str] = field(default_factory=dict)

    def template_variables(self) -> dict[str, str]:
        """``{clinic_name}`` and friends, usable in any flow text."""
        if not self._variables:
            c = self.clinic
            self._variables.update(
                clinic_name=c.name, clinic_address=c.address, clinic_phone=c.phone,
                clinic_access=c.access, clinic_price=c.price, clinic_url=c.url or "",
                first_visit=c.booking.first_visit,
            )
        return self._variables

    def video_link(self, user_id: str) -> Callable[[str, Video], str]:
        if self.video_link_factory is not None:
            return self.video_link_factory(user_id)
        return lambda _name, video: str(video.url)

    async def remember_tap(self, user_id: str, data: str, event_id: str, ttl_seconds: int) -> bool:
        """True when this tap is new (or is this same event again); False for a second tap."""
        key = keys.tap_guard(user_id, data[:120])
        return bool(await _REMEMBER_TAP_LUA.run(self.store.redis, (key,), event_id, ttl_seconds))
