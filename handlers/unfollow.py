"""``unfollow``: the runner blocked the account. Nothing can be sent; their data is deleted."""

from __future__ import annotations

from bot.webhook.events import Event
from flows.context import Conversation


async def handle(event: Event, conv: Conversation) -> None:
    conv.forget = True
