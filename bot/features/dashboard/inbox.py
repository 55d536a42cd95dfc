"""The staff inbox: runners the bot could not help, or who asked for a person, and staff answers to them.

Storage:
- ``lb:{U}:admin:thread`` list of JSON entries (runner words, "wants a person", staff replies), newest last,
  capped and expiring with the runner's data; it sits in the runner's slot, so forgetting them is one DEL.
- ``lb:{inbox}:open`` sorted set runner -> last activity: who waits for staff.
- ``lb:{inbox}:recent`` sorted set runner -> last activity: everyone with a thread, for the "all" tab.

A runner who blocks the account (or sends 「データ削除」) is forgotten: their thread goes with the rest of
their data. If they were in the inbox, a marker takes its place — that they left and when, no words and no
answers — so a request staff had not answered yet does not silently vanish. The forget hook hears only a
user id, so a gate in front of ``unfollow`` leaves a short-lived note that this forgetting is a block.

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

from bot.config.settings import Settings
from bot.extension import Parts
from bot.features.dashboard import handoff
from bot.store import Store, keys
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
#: How long the "this forgetting is a block" note waits for the forget hook (which runs right after commit).
BLOCK_NOTE_SECONDS = 3600
#: What a marker says in place of a forgotten runner's thread (``gone`` entries), by reason.
GONE_TEXT = {
    "blocked": "ブロックされました。これまでのやりとりとチェックの回答は削除しました。",
    "deleted": "ランナーさんのご希望で、これまでのやりとりとチェックの回答を削除しました。",
}
BACK_TEXT = "ブロックが解除され、友だちに戻りました。"

router = Router("dashboard.inbox")


def thread_key(user_id: str) -> str:
    return keys.runner_key(user_id, "admin:thread")


def block_note_key(user_id: str) -> str:
    return keys.runner_key(user_id, "admin:blocked")


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

    @property
    def gone(self) -> dict[str, Any] | None:
        """The marker of the runner leaving (``gone``: blocked/deleted, ``at``), unless they came back since."""
        for entry in reversed(self.thread):
            if entry.get("back"):
                return None
            if entry.get("gone"):
                return dict(entry)
        return None


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
    for listed in (OPEN, RECENT):  # runners whose data expired leave the lists too (nobody to answer)
        pipe.zremrangebyscore(listed, "-inf", at - ttl)


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


async def forget(redis: Any, user_id: str, ttl: int) -> None:
    """Forget hook: the runner blocked the account or asked to be forgotten.

    Their thread goes (privacy); a runner staff had in the inbox keeps a place there with only a marker:
    blocked or deleted, and when (the block's own time when the unfollow gate noted it).
    """
    blocked_at = await redis.getdel(block_note_key(user_id))
    was_open = await redis.zscore(OPEN, user_id) is not None
    was_listed = await redis.zscore(RECENT, user_id) is not None
    await redis.delete(thread_key(user_id))
    await handoff.end(redis, user_id)
    if not (was_open or was_listed):
        return
    reason = "blocked" if blocked_at else "deleted"
    entry = {"at": float(blocked_at) if blocked_at else time.time(), "from": "system", "gone": reason,
             "text": GONE_TEXT[reason]}
    await _append(redis, user_id, entry, ttl, mark_open=was_open)


def _event_seconds(event: Event) -> float:
    stamp = event.raw.get("timestamp")
    return stamp / 1000 if isinstance(stamp, int | float) else event.received_at


@router.gate("unfollow")
async def note_block(event: Event, conv: Conversation) -> bool:
    """Never stops the event: it notes, for the forget hook, that this forgetting is a block, and when."""
    redis = conv.deps.need(Store).redis
    await redis.set(block_note_key(conv.user_id), str(_event_seconds(event)), ex=BLOCK_NOTE_SECONDS)
    return False


@router.gate("follow")
async def note_return(event: Event, conv: Conversation) -> bool:
    """Never stops the event: a runner staff saw leave is marked back when they unblock (once per event)."""
    follow = event.raw.get("follow")
    if not (isinstance(follow, dict) and follow.get("isUnblocked")):
        return False
    redis = conv.deps.need(Store).redis
    if await redis.zscore(RECENT, conv.user_id) is None:
        return False
    last = await redis.lindex(thread_key(conv.user_id), -1)
    if last is not None and json.loads(last).get("event") == event.id:
        return False  # this event was handled before (a retry after a crash): marked already
    entry = {"at": _event_seconds(event), "from": "system", "back": True, "text": BACK_TEXT, "event": event.id}
    await _append(redis, conv.user_id, entry, conv.deps.need(Settings).runner_ttl_seconds, mark_open=False)
    return False


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
