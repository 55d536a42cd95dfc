"""Hand-off: while a person answers a runner by hand, the bot keeps quiet for that runner.

Why a key with an expiry (``lb:{U}:handoff``) rather than a flag in the runner's state: staff start and end a
hand-off from the dashboard, outside the runner's lock, and the state belongs to the consumer. A key in the
runner's own hash slot can be set at any moment without racing the consumer, and its TTL is the timeout:
staff who forget to hand back do not silence the bot for ever. Every staff reply extends it.

:func:`quiet_for_staff` is a gate on runner messages (the dashboard's router registers it in front of the
core's message handler); a typed message during a hand-off is not answered
by the bot (``conv.silent``) but is kept as ``conv.unrecognized`` so the commit hook records it in the staff
inbox. Taps on buttons still work: a runner booking by tapping does not need a person — and so do the
rich menu's words and warning signs. The hand-off starts at 「スタッフ」: the message that follows is the
runner's question for staff, answered with when staff will reply (the clinic's hours).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

from bot.config.clinic import Clinic
from bot.config.settings import Settings
from bot.store import Store, keys
from bot.webhook.events import Event
from flows.context import Conversation
from flows.engine import Engine
from handlers.actions import WANTS_STAFF_AT
from handlers.clinic_answers import staff_received_text
from handlers.message import described
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
    """True when a person answers this runner's words rather than the bot.

    Two cases: staff are handling the runner (the hand-off key), or the runner just asked for a person
    (「スタッフ」) and this is the question that followed — it goes to staff, and the bot says only when
    staff will reply. A warning sign and a whole-message command (a rich-menu word such as 「予約」, or
    「データ削除」) are still answered by the bot: safety and a runner's wishes do not wait for a person.
    """
    message = event.raw.get("message")
    message = message if isinstance(message, dict) else {}
    kind = str(message.get("type", ""))
    text = str(message.get("text", "")) if kind == "text" else ""
    handled = bool(await conv.deps.need(Store).redis.exists(handoff_key(conv.user_id)))
    asked = awaiting_question(conv)
    adding = _since(conv, QUESTION_AT) < handoff_seconds(conv.deps.need(Settings))  # more words for staff
    if not (handled or asked or adding) or (kind == "sticker" and not handled):
        return False  # a sticker is not the question: the bot thanks for it
    if DELETE_WORD in text or (text and conv.deps.need(Engine).heard_as(conv, text) is not None):
        return False  # the bot answers; the words still reach the inbox when staff should see them
    conv.unrecognized = text if kind == "text" else described(kind)
    if asked:
        conv.state.extra[QUESTION_AT] = conv.now.isoformat()
        conv.say_text(staff_received_text(conv.deps.need(Clinic), conv.now))
        return True
    conv.silent = True
    return True


def awaiting_question(conv: Conversation) -> bool:
    """The runner asked for a person (「スタッフ」) within a day and has not yet sent their question."""
    if _since(conv, WANTS_STAFF_AT) > ASK_WINDOW_SECONDS:
        return False
    return _since(conv, QUESTION_AT) > _since(conv, WANTS_STAFF_AT)


def _since(conv: Conversation, key: str) -> float:
    """Seconds since the time stored under ``key`` in the runner's state (infinite when there is none)."""
    at = _when(conv.state.extra.get(key))
    return (conv.now - at).total_seconds() if at is not None else float("inf")


def _when(value: object) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


DELETE_WORD = "データ削除"
#: When the runner's question after 「スタッフ」 went to staff (ISO time, in the runner's state).
QUESTION_AT = "staff_question_at"
#: How long after 「スタッフ」 the next typed message is still taken as the question for staff.
ASK_WINDOW_SECONDS = 24 * 3600
