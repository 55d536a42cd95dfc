"""A webhook event as the bot keeps it: the raw JSON LINE sent, plus the few fields routing needs.

Raw JSON, not SDK models, is what is queued: it survives SDK upgrades and event types the SDK does not
know yet, and costs nothing to re-read after a crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class Event:
    raw: dict[str, Any]
    received_at: float

    @property
    def type(self) -> str:
        return str(self.raw.get("type", ""))

    @property
    def id(self) -> str:
        return str(self.raw.get("webhookEventId", ""))

    @property
    def source(self) -> dict[str, Any]:
        source = self.raw.get("source")
        return source if isinstance(source, dict) else {}

    @property
    def user_id(self) -> str | None:
        value = self.source.get("userId")
        return str(value) if value else None

    @property
    def chat_id(self) -> str:
        """Who the events are ordered by and answered to: the user, or the group/room they came from."""
        s = self.source
        return str(s.get("groupId") or s.get("roomId") or s.get("userId") or "unknown")

    @property
    def is_one_to_one(self) -> bool:
        return self.source.get("type") == "user"

    @property
    def reply_token(self) -> str | None:
        token = self.raw.get("replyToken")
        return str(token) if token else None

    def dumps(self) -> str:
        return orjson.dumps({"e": self.raw, "r": self.received_at}).decode()

    @classmethod
    def loads(cls, data: str) -> Event:
        parsed = orjson.loads(data)
        return cls(raw=parsed["e"], received_at=float(parsed["r"]))
