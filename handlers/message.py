"""``message``: typed text drives the conversation; anything else (a sticker, a photo) gets short help."""

from __future__ import annotations

from bot.admin.handoff import quiet_for_staff
from bot.events import Event
from flows.context import Conversation


async def handle(event: Event, conv: Conversation) -> None:
    if await quiet_for_staff(event, conv):  # a person is answering this runner: the bot keeps quiet
        return
    message = event.raw.get("message")
    message = message if isinstance(message, dict) else {}
    engine = conv.services.engine
    if message.get("type") == "text" and str(message.get("text", "")).strip():
        await engine.text(conv, str(message["text"]))
    else:
        await engine.help(conv)
