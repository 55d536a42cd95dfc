"""The 1:1 talk: what a runner sent and what the bot and staff sent them, as short text, for the friend page.

Storage: ``lb:{U}:talk``, a list of compact entries (:mod:`.talk_entries`; entries from before are read as
they were), newest last, capped at ``TALK_MAX`` and expiring with the runner's data (``RUNNER_TTL_SECONDS``);
it sits in the runner's slot and goes with the rest of their data when they block or send 「データ削除」. A
line that is the clinic's own copy (the flows' messages, a broadcast) is a ref into one table shared by every
runner (:mod:`.talk_copy`); anything else stays inline, in the runner's key.

How it is recorded without slowing the consumer: gates in front of the runner's own events (message,
postback, follow) and of staff replies note *what was heard* in a context variable — they never stop the
event — and a commit stage, run after the consumer stored the event, writes that and the bot's replies in the
pipeline all commit stages share (no extra round trip). A gate and the commit stage of one event run in the
same task, one event after another, so the note is keyed by the event's id and read back only for it.

Texts are summaries: a text message as written (capped), a card by its alt text, a tap by the label the
runner saw. Entries are never logged.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from bot.features.dashboard.talk_copy import (
    FOLLOWED,
    UNBLOCKED,
    UNKNOWN_TAP,
    SharedCopy,
    choices_of,
    resolve,
    stage_share,
)
from bot.features.dashboard.talk_entries import (
    KIND_JA,
    MAX_TEXT,
    decode,
    encode,
    readable,
    refs_in,
    summary,
    tap_text,
)
from bot.store import keys
from bot.store.lua import Lua
from bot.webhook.events import Event
from flows.context import Conversation
from flows.engine import Engine
from flows.loader import FlowSet
from handlers.router import Router

TALK_MAX = 200
STAFF_REPLY_EVENT = "x-staff-reply"

router = Router("dashboard.talk")


@dataclass(frozen=True, slots=True)
class Heard:
    """What a gate noted for one event: the runner's side of it (if any), and who answers it."""

    event_id: str
    said: tuple[str, str] | None  # (who, text): the runner's message or tap, or a system note
    answered_by: str = "bot"
    by: str = ""


_heard: contextvars.ContextVar[Heard | None] = contextvars.ContextVar("talk_heard", default=None)


def talk_key(user_id: str) -> str:
    return keys.runner_key(user_id, "talk")


def runner_acted(conv: Conversation) -> bool:
    """Whether this event was the runner's own doing (a message, a tap, adding the account)."""
    heard = _heard.get()
    return heard is not None and heard.event_id == conv.event_id and heard.said is not None


def _note(heard: Heard) -> bool:
    _heard.set(heard)
    return False  # a note, never a stop: the event goes on to its handler


@router.gate("message")
async def heard_message(event: Event, conv: Conversation) -> bool:
    message = event.raw.get("message")
    message = message if isinstance(message, dict) else {}
    kind = str(message.get("type", ""))
    text = str(message.get("text", ""))[:MAX_TEXT] if kind == "text" else KIND_JA.get(kind, f"({kind})")
    return _note(Heard(event.id, ("runner", text)))


@router.gate("postback")
async def heard_tap(event: Event, conv: Conversation) -> bool:
    postback = event.raw.get("postback")
    postback = postback if isinstance(postback, dict) else {}
    label = tap_label(conv.deps.need(Engine).flows, str(postback.get("data", "")))
    params = postback.get("params")
    if isinstance(params, dict) and params:
        label += "(" + "・".join(str(v) for v in params.values()) + ")"
    return _note(Heard(event.id, ("runner", tap_text(label))))


@router.gate("follow")
async def heard_follow(event: Event, conv: Conversation) -> bool:
    follow = event.raw.get("follow")
    again = isinstance(follow, dict) and bool(follow.get("isUnblocked"))
    return _note(Heard(event.id, ("system", UNBLOCKED if again else FOLLOWED)))


@router.gate(STAFF_REPLY_EVENT)
async def heard_staff(event: Event, conv: Conversation) -> bool:
    return _note(Heard(event.id, None, answered_by="staff", by=str(event.raw.get("staff", ""))))


def tap_label(flows: FlowSet, data: str) -> str:
    """The label of the button or quick reply that sent ``data`` (as the runner saw it), when a flow has it."""
    fields = {k: v[0] for k, v in parse_qs(data, keep_blank_values=True).items()}
    for loaded in flows:
        for step_name, step in loaded.flow.steps.items():
            for choice in choices_of(step):
                if _same_choice(fields, loaded.flow.flow, step_name, choice):
                    return choice.label
    return UNKNOWN_TAP


def _same_choice(fields: dict[str, str], flow: str, step: str, choice: Any) -> bool:
    if "a" in fields:
        return bool(choice.action == fields["a"])
    if "g" in fields:
        return fields.get("f") == flow and choice.goto == fields["g"]
    return fields.get("f") == flow and fields.get("s") == step and choice.value == fields.get("v")


def stage_record(conv: Conversation, pipe: Any, ttl: int, copy: SharedCopy
                 ) -> Callable[[list[Any]], Awaitable[None]] | None:
    """Commit stage: the runner's side of this event, then what was sent back, in one pipeline."""
    heard = _heard.get()
    own = heard if heard is not None and heard.event_id == conv.event_id else None
    now = time.time()
    entries = []
    if own is not None and own.said is not None:
        who, text = own.said
        entries.append(encode(now, who, copy.compact([text])))
    if not conv.silent and conv.replies:
        speaker, by = (own.answered_by, own.by) if own is not None else ("bot", "")
        entries.append(encode(now, speaker, copy.compact(summary(m) for m in conv.replies), by))
    if entries:
        stage_append(pipe, conv.user_id, entries, ttl)
    return copy.stage_publish(pipe)


#: KEYS: the talk. ARGV: the cap, the TTL, the entries. One command in the stage pipeline instead of three
#: (RPUSH, LTRIM, EXPIRE): the consumer's client pays per command (bench/README.md, "Third round").
_APPEND = Lua("""
redis.call('RPUSH', KEYS[1], unpack(ARGV, 3))
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[1]), -1)
return redis.call('EXPIRE', KEYS[1], ARGV[2])
""")


def stage_append(pipe: Any, user_id: str, entries: Iterable[str], ttl: int) -> None:
    """``entries`` as :func:`.talk_entries.encode` made them."""
    _APPEND.queue(pipe, (talk_key(user_id),), TALK_MAX, ttl, *entries)


async def note(redis: Any, user_id: str, text: str, ttl: int) -> None:
    """A line of the system's own (a staff member's tag change) in a runner's talk."""
    async with redis.pipeline(transaction=False) as pipe:
        stage_append(pipe, user_id, [encode(time.time(), "system", [text])], ttl)
        await pipe.execute()


async def timeline(redis: Any, user_id: str, limit: int = TALK_MAX, known: Mapping[int, str] | None = None
                   ) -> list[dict[str, Any]]:
    """The talk as the friend page shows it (``at``, ``from``, ``text``, ``by``), entries of either format.
    ``known``: the current flow copy by ref (:attr:`.SharedCopy.texts`), read without asking Redis."""
    stored = [decode(raw) for raw in await redis.lrange(talk_key(user_id), -limit, -1)]
    texts = await resolve(redis, refs_in(stored), known or {})
    return [readable(entry, texts) for entry in stored]


def broadcast_listener(redis: Any, ttl: int) -> Callable[[Any, list[str]], Awaitable[None]]:
    """For the broadcasts service: the batch LINE accepted goes into each runner's talk, one round trip. The
    text is the same for the whole segment: it goes into the shared table once, each runner gets its ref."""

    async def heard(broadcast: Any, group: list[str]) -> None:
        text = "[配信] " + "\n".join(summary(m) for m in broadcast.messages)
        async with redis.pipeline(transaction=False) as pipe:
            entry = encode(time.time(), "staff", [stage_share(pipe, text)], broadcast.created_by)
            for user_id in group:
                stage_append(pipe, user_id, [entry], ttl)
            await pipe.execute()

    return heard
