"""``follow``: a runner added the account — or unblocked it (``follow.isUnblocked``): greet as a return."""

from __future__ import annotations

from bot.webhook.events import Event
from flows.context import Conversation
from flows.engine import Engine


async def handle(event: Event, conv: Conversation) -> None:
    follow = event.raw.get("follow")
    unblocked = bool(isinstance(follow, dict) and follow.get("isUnblocked"))
    conv.state.extra["following"] = True
    conv.state.add_tags(["friend"])  # the funnel counts its first appearance as a friend added
    await conv.deps.need(Engine).follow(conv, unblocked=unblocked)
