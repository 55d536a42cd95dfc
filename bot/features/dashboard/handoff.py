"""Hand-off: while a person answers a runner by hand, the bot keeps quiet for that runner.

Why a key with an expiry (``lb:{U}:handoff``) rather than a flag in the runner's state: staff start and end a
hand-off from the dashboard, outside the runner's lock, and the state belongs to the consumer. A key in the
runner's own hash slot can be set at any moment without racing the consumer, and its TTL is the timeout:
staff who forget to hand back do not silence the bot for ever. Every staff reply extends it.

:func:`quiet_for_staff` is a gate on runner messages (the dashboard's router registers it in front of the
core's message handler); a typed message during a hand-off is not answered
by the bot (``conv.silent``) but is kept as ``conv.unrecognized`` so the commit hook records it in the staff
inbox. Taps on buttons still work: a runner booking by tapping does not need a person.
"""

from __future__ import annotations

import json
import time
from typing import Any

from bot.config.settings import Settings
from bot.store import Store, keys
from bot.webhook.events import Event
from flows.context import Conversation
from handlers.router import Router

router = Router("dashboard.handoff")


def handoff_key(user_id: str) -> str:
    return keys.runner_key(user_id, "handoff")


def handoff_seconds(settings: Settings) -> int:
    return max(60, settings.admin_handoff_minutes * 60)


async def start(redis: Any, user_id: str, staff: str, seconds: int, now: float | None = None) -> None:
    """Begin (or extend) a hand-off; the bot stays quiet for ``seconds`` after the last staff action."""
    value = json.dumps({"by": staff, "since": time.time() if now is None else now}, ensure_ascii=False)
    existing = await redis.get(handoff_key(user_id))
    if existing:  # keep who started it and since when; only the expiry moves on
        await redis.expire(handoff_key(user_id), seconds)
        return
    await redis.set(handoff_key(user_id), value, ex=seconds)


async def end(redis: Any, user_id: str) -> None:
    """Staff hand the runner back to the bot."""
    await redis.delete(handoff_key(user_id))


async def status(redis: Any, user_id: str) -> dict[str, Any] | None:
    """``{"by", "since", "ttl"}`` while a person is handling the runner, else ``None``."""
    raw = await redis.get(handoff_key(user_id))
    if not raw:
        return None
    data: dict[str, Any] = json.loads(raw)
    data["ttl"] = int(await redis.ttl(handoff_key(user_id)))
    return data


@router.gate("message")
async def quiet_for_staff(event: Event, conv: Conversation) -> bool:
    """True when a person is handling this runner: the bot answers nothing, the words go to the inbox."""
    if not await conv.deps.need(Store).redis.exists(handoff_key(conv.user_id)):
        return False
    message = event.raw.get("message")
    message = message if isinstance(message, dict) else {}
    kind = str(message.get("type", ""))
    if kind == "text" and DELETE_WORD in str(message.get("text", "")):
        return False  # a runner's wish to be forgotten is honoured even while a person is talking to them
    conv.unrecognized = str(message.get("text", "")) if kind == "text" else f"({_KIND_JA.get(kind, kind)})"
    conv.silent = True
    return True


DELETE_WORD = "データ削除"

_KIND_JA = {"sticker": "スタンプ", "image": "画像", "video": "動画", "audio": "音声", "file": "ファイル",
            "location": "位置情報"}
