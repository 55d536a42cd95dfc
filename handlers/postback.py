"""``postback``: a tap on a quick reply or a button (and the date/time a picker returned)."""

from __future__ import annotations

from bot.webhook.events import Event
from flows.context import Conversation
from flows.engine import Engine


async def handle(event: Event, conv: Conversation) -> None:
    postback = event.raw.get("postback")
    postback = postback if isinstance(postback, dict) else {}
    params = postback.get("params")
    picked = {str(k): str(v) for k, v in params.items()} if isinstance(params, dict) else {}
    await conv.deps.need(Engine).postback(conv, str(postback.get("data", "")), picked)
