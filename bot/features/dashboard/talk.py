"""The 1:1 talk: what a runner sent and what the bot and staff sent them, as short text, for the friend page.

Storage: ``lb:{U}:talk``, a list of JSON entries (``at``, ``from`` runner|bot|staff|system, ``text``, ``by``),
newest last, capped at ``TALK_MAX`` and expiring with the runner's data (``RUNNER_TTL_SECONDS``); it sits in
the runner's slot and goes with the rest of their data when they block or send 「データ削除」.

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
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from bot.store import keys
from bot.webhook.events import Event
from flows.context import Conversation
from flows.engine import Engine
from flows.loader import FlowSet
from handlers.router import Router

TALK_MAX = 200
MAX_TEXT = 1000
STAFF_REPLY_EVENT = "x-staff-reply"

router = Router("dashboard.talk")

#: (event id, the entry the runner's side of this event adds, who answers: bot or staff).
_heard: contextvars.ContextVar[tuple[str, dict[str, Any] | None, str, str] | None] = \
    contextvars.ContextVar("talk_heard", default=None)

_KIND_JA = {"sticker": "(スタンプ)", "image": "(画像)", "video": "(動画)", "audio": "(音声)", "file": "(ファイル)",
            "location": "(位置情報)"}


def talk_key(user_id: str) -> str:
    return keys.runner_key(user_id, "talk")


def runner_acted(conv: Conversation) -> bool:
    """Whether this event was the runner's own doing (a message, a tap, adding the account)."""
    heard = _heard.get()
    return heard is not None and heard[0] == conv.event_id and heard[1] is not None


def _note(event: Event, entry: dict[str, Any] | None, answered_by: str = "bot", by: str = "") -> bool:
    _heard.set((event.id, entry, answered_by, by))
    return False  # a note, never a stop: the event goes on to its handler


@router.gate("message")
async def heard_message(event: Event, conv: Conversation) -> bool:
    message = event.raw.get("message")
    message = message if isinstance(message, dict) else {}
    kind = str(message.get("type", ""))
    text = str(message.get("text", ""))[:MAX_TEXT] if kind == "text" else _KIND_JA.get(kind, f"({kind})")
    return _note(event, {"at": time.time(), "from": "runner", "text": text})


@router.gate("postback")
async def heard_tap(event: Event, conv: Conversation) -> bool:
    postback = event.raw.get("postback")
    postback = postback if isinstance(postback, dict) else {}
    label = tap_label(conv.deps.need(Engine).flows, str(postback.get("data", "")))
    params = postback.get("params")
    if isinstance(params, dict) and params:
        label += "(" + "・".join(str(v) for v in params.values()) + ")"
    return _note(event, {"at": time.time(), "from": "runner", "text": f"[タップ] {label}"})


@router.gate("follow")
async def heard_follow(event: Event, conv: Conversation) -> bool:
    follow = event.raw.get("follow")
    again = isinstance(follow, dict) and bool(follow.get("isUnblocked"))
    text = "(ブロックを解除しました)" if again else "(友だち追加しました)"
    return _note(event, {"at": time.time(), "from": "system", "text": text})


@router.gate(STAFF_REPLY_EVENT)
async def heard_staff(event: Event, conv: Conversation) -> bool:
    return _note(event, None, answered_by="staff", by=str(event.raw.get("staff", "")))


def tap_label(flows: FlowSet, data: str) -> str:
    """The label of the button or quick reply that sent ``data`` (as the runner saw it), when a flow has it."""
    fields = {k: v[0] for k, v in parse_qs(data, keep_blank_values=True).items()}
    for loaded in flows:
        for step_name, step in loaded.flow.steps.items():
            choices = list(step.ask.choices) if step.ask is not None else []
            for spec in step.messages:
                choices += list(getattr(getattr(spec, "buttons", None), "choices", []) or [])
            for choice in choices:
                if _same_choice(fields, loaded.flow.flow, step_name, choice):
                    return choice.label
    return "ボタン操作"


def _same_choice(fields: dict[str, str], flow: str, step: str, choice: Any) -> bool:
    if "a" in fields:
        return bool(choice.action == fields["a"])
    if "g" in fields:
        return fields.get("f") == flow and choice.goto == fields["g"]
    return fields.get("f") == flow and fields.get("s") == step and choice.value == fields.get("v")


def summary(message: dict[str, Any]) -> str:
    """One LINE message as a line of the talk."""
    kind = message.get("type")
    if kind == "text":
        return str(message.get("text", ""))[:MAX_TEXT]
    if kind in ("flex", "template"):
        return f"[カード] {message.get('altText', '')}"
    return _KIND_JA.get(str(kind), f"({kind})")


def stage_record(conv: Conversation, pipe: Any, ttl: int) -> None:
    """Commit stage: the runner's side of this event, then what was sent back, in one pipeline."""
    heard = _heard.get()
    own = heard if heard is not None and heard[0] == conv.event_id else None
    entries = [own[1]] if own is not None and own[1] is not None else []
    if not conv.silent and conv.replies:
        speaker, by = (own[2], own[3]) if own is not None else ("bot", "")
        text = "\n".join(summary(m) for m in conv.replies)
        entries.append({"at": time.time(), "from": speaker, "text": text, **({"by": by} if by else {})})
    if entries:
        stage_append(pipe, conv.user_id, entries, ttl)


def stage_append(pipe: Any, user_id: str, entries: Iterable[dict[str, Any]], ttl: int) -> None:
    key = talk_key(user_id)
    pipe.rpush(key, *[json.dumps(e, ensure_ascii=False) for e in entries])
    pipe.ltrim(key, -TALK_MAX, -1)
    pipe.expire(key, ttl)


async def append(redis: Any, user_id: str, entries: list[dict[str, Any]], ttl: int) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        stage_append(pipe, user_id, entries, ttl)
        await pipe.execute()


async def timeline(redis: Any, user_id: str, limit: int = TALK_MAX) -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in await redis.lrange(talk_key(user_id), -limit, -1)]


def broadcast_listener(redis: Any, ttl: int) -> Callable[[Any, list[str]], Awaitable[None]]:
    """For the broadcasts service: the batch LINE accepted goes into each runner's talk, one round trip."""

    async def heard(broadcast: Any, group: list[str]) -> None:
        entry = {"at": time.time(), "from": "staff", "by": broadcast.created_by,
                 "text": "[配信] " + "\n".join(summary(m) for m in broadcast.messages)}
        async with redis.pipeline(transaction=False) as pipe:
            for user_id in group:
                stage_append(pipe, user_id, [entry], ttl)
            await pipe.execute()

    return heard
