"""``follow``: a runner added the account — or unblocked it (``follow.isUnblocked``): greet as a return."""

from __future__ import annotations

from bot.webhook.events import Event
from flows.context import Conversation
from flows.engine import Engine


async def handle(event: Event, conv: Conversation) -> None:
    follow = event.raw.get("follow")
    unblocked = bool(isinstance(follow, dict) and follow.get("isUnblocked"))
    conv.state.extra["following"] = True
    # The funnel counts the first appearance of "friend" as a friend added — unless "unblocked" comes with it:
    # a runner back from a block is counted as a return, not as a new friend.
    conv.state.add_tags(["friend", "unblocked"] if unblocked else ["friend"])
    await conv.deps.need(Engine).follow(conv, unblocked=unblocked)
