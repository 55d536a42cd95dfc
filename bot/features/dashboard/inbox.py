"""The staff inbox: runners the bot could not help, or who asked for a person, and staff answers to them.

Storage:
- ``lb:{U}:admin:thread`` list of JSON entries (runner words, "wants a person", staff replies), newest last,
  capped and expiring with the runner's data; it sits in the runner's slot, so forgetting them is one DEL.
- ``lb:{inbox}:open`` sorted set runner -> last activity: who waits for staff.
- ``lb:{inbox}:recent`` sorted set runner -> last activity: everyone with a thread, for the "all" tab.

Entries are written by a commit hook after the consumer stored the event (so nothing here slows the webhook)
and when staff reply. A staff reply is not sent from the web request: it is queued as a bot-made event
(``x-staff-reply``) into the runner's own inbox, so it goes out in order with what the bot says, through the
outbox, by push with an ``X-Line-Retry-Key`` — once, even when the form is sent twice (same nonce).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from bot.extension import Parts
from bot.features.dashboard import handoff
from bot.store import keys
from bot.webhook.events import Event
from flows.context import Conversation
from flows.state import ConversationState
from handlers.actions import WANTS_STAFF_AT
from handlers.router import Router

OPEN = f"{keys.PREFIX}:{{inbox}}:open"
RECENT = f"{keys.PREFIX}:{{inbox}}:recent"
THREAD_MAX = 100
RECENT_MAX = 500
STAFF_REPLY_EVENT = "x-staff-reply"
#: LINE's limit for one text message.
MAX_REPLY_CHARS = 5000

router = Router("dashboard.inbox")


def thread_key(user_id: str) -> str:
    return keys.runner_key(user_id, "admin:thread")


@dataclass(slots=True)
class InboxItem:
    """One runner as staff see them in the list."""

    user_id: str
    last_at: float
    open: bool
    state: ConversationState
    thread: list[dict[str, Any]]
    handoff: dict[str, Any] | None

    @property
    def wants_staff(self) -> bool:
        return "wants_staff" in self.state.tags

    @property
    def last_runner_text(self) -> str:
        said = [e for e in self.thread if e.get("from") == "runner"]
        return str(said[-1].get("text", "")) if said else ""


def _stage_append(pipe: Any, user_id: str, entry: dict[str, Any], ttl: int, *, mark_open: bool) -> None:
    key = thread_key(user_id)
    at = float(entry["at"])
    pipe.rpush(key, json.dumps(entry, ensure_ascii=False))
    pipe.ltrim(key, -THREAD_MAX, -1)
    pipe.expire(key, ttl)
    if mark_open:
        pipe.zadd(OPEN, {user_id: at})
    pipe.zadd(RECENT, {user_id: at})
    pipe.zremrangebyrank(RECENT, 0, -RECENT_MAX - 1)


async def _append(redis: Any, user_id: str, entry: dict[str, Any], ttl: int, *, mark_open: bool) -> None:
    async with redis.pipeline(transaction=False) as pipe:  # one round trip
        _stage_append(pipe, user_id, entry, ttl, mark_open=mark_open)
        await pipe.execute()


def asked_for_staff(conv: Conversation) -> bool:
    """This event asked for a person: the tag is new, or staff.request ran again (it stamps the time)."""
    if "wants_staff" in conv.new_tags():
        return True
    return bool(conv.state.extra.get(WANTS_STAFF_AT) == conv.now.isoformat())


def stage_record(conv: Conversation, pipe: Any, ttl: int) -> None:
    """Commit stage: note what staff should see from this event — runner words not understood (or sent to
    staff), a photo, a typed warning sign (these put the runner on the open list), a sticker or a thank-you
    (kept in the thread only), and a request for a person."""
    at = conv.now.timestamp()
    said = [(conv.unrecognized, True)] if conv.unrecognized is not None else []
    said += [(note.text, note.needs_staff) for note in conv.staff_notes]
    for text, needs_staff in said:
        entry = {"at": at, "from": "runner", "text": text[:MAX_REPLY_CHARS], "quiet": conv.silent,
                 "event": conv.event_id}
        _stage_append(pipe, conv.user_id, entry, ttl, mark_open=needs_staff)
    if asked_for_staff(conv):
        entry = {"at": at, "from": "system", "text": "スタッフとの会話を希望しています", "event": conv.event_id}
        _stage_append(pipe, conv.user_id, entry, ttl, mark_open=True)


async def forget(redis: Any, user_id: str) -> None:
    """Forget hook: the runner blocked the account or asked to be forgotten."""
    await redis.delete(thread_key(user_id))
    await handoff.end(redis, user_id)
    await redis.zrem(OPEN, user_id)
    await redis.zrem(RECENT, user_id)


async def send_reply(parts: Parts, user_id: str, text: str, staff: str, nonce: str, *,
                     start_handoff: bool = True) -> bool:
    """Queue a staff answer for the runner; False when this form (``nonce``) was already sent.

    A hand-written answer starts (or extends) the hand-off; a booking notice (``start_handoff=False``) does
    not, so the runner can keep using the bot.
    """
    now = time.time()
    event = {"type": STAFF_REPLY_EVENT, "timestamp": int(now * 1000), "text": text[:MAX_REPLY_CHARS],
             "staff": staff}
    queued = await parts.queue.enqueue_internal(user_id, f"staff-reply:{nonce}", event, now)
    if not queued:
        return False
    redis = parts.store.redis
    if start_handoff:
        await handoff.start(redis, user_id, staff, handoff.handoff_seconds(parts.settings), now)
    entry = {"at": now, "from": "staff", "by": staff, "text": text[:MAX_REPLY_CHARS]}
    await _append(redis, user_id, entry, parts.settings.runner_ttl_seconds, mark_open=False)
    return True


@router.on(STAFF_REPLY_EVENT)
async def handle_staff_reply(event: Event, conv: Conversation) -> None:
    """``x-staff-reply``: say the staff member's words; the outbox pushes them with a retry key."""
    text = str(event.raw.get("text", "")).strip()
    if text:
        conv.say_text(text)


async def close(parts: Parts, user_id: str, staff: str) -> None:
    """Staff are done: off the open list, and the bot answers the runner again."""
    redis = parts.store.redis
    await redis.zrem(OPEN, user_id)
    await handoff.end(redis, user_id)
    entry = {"at": time.time(), "from": "system", "text": f"{staff} さんが対応を終え、ボットに戻しました"}
    await _append(redis, user_id, entry, parts.settings.runner_ttl_seconds, mark_open=False)


async def take(parts: Parts, user_id: str, staff: str) -> None:
    """Staff start answering by hand: the bot keeps quiet until they hand back or the timeout passes."""
    redis = parts.store.redis
    await handoff.start(redis, user_id, staff, handoff.handoff_seconds(parts.settings))
    entry = {"at": time.time(), "from": "system", "text": f"{staff} さんが対応を始めました(ボットは停止中)"}
    await _append(redis, user_id, entry, parts.settings.runner_ttl_seconds, mark_open=True)


async def load_item(parts: Parts, user_id: str, *, last_at: float = 0.0, is_open: bool = False,
                    thread_limit: int = THREAD_MAX) -> InboxItem:
    redis = parts.store.redis
    raw_state = await redis.get(keys.state(user_id))
    thread = [json.loads(r) for r in await redis.lrange(thread_key(user_id), -thread_limit, -1)]
    return InboxItem(user_id=user_id, last_at=last_at, open=is_open, state=ConversationState.from_json(raw_state),
                     thread=thread, handoff=await handoff.status(redis, user_id))


async def list_items(parts: Parts, *, only_open: bool, limit: int = 50) -> list[InboxItem]:
    redis = parts.store.redis
    opened = dict(await redis.zrevrange(OPEN, 0, -1, withscores=True))
    rows = list(opened.items())[:limit] if only_open else await redis.zrevrange(RECENT, 0, limit - 1,
                                                                                withscores=True)
    return [await load_item(parts, str(user), last_at=float(score), is_open=str(user) in opened,
                            thread_limit=3) for user, score in rows]


async def is_open(parts: Parts, user_id: str) -> bool:
    return await parts.store.redis.zscore(OPEN, user_id) is not None
