"""``message``: typed text drives the conversation; anything else (a sticker, a photo) gets short help."""

from __future__ import annotations

from bot.webhook.events import Event
from flows.context import Conversation
from flows.engine import Engine


async def handle(event: Event, conv: Conversation) -> None:
    message = event.raw.get("message")
    message = message if isinstance(message, dict) else {}
    engine = conv.deps.need(Engine)
    if message.get("type") == "text" and str(message.get("text", "")).strip():
        await engine.text(conv, str(message["text"]))
    else:
        await engine.help(conv)
