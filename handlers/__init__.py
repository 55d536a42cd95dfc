"""Handlers: one module per kind of webhook event, and the router that maps an event's type to them.

A handler gets the event and the runner's :class:`~flows.context.Conversation` and changes it; the consumer
stores the result and sends the replies. Handlers touch no Redis and no web code: what they need reaches
them through the conversation (``conv.deps``). Features add their own handlers (bot-made ``x-`` events) and
gates (the dashboard's hand-off) on routers of their own, which the runtime includes next to this one.
"""

from __future__ import annotations

from handlers import follow, group, message, postback, unfollow, video_play_complete
from handlers.router import Router


def core_router() -> Router:
    """The handlers of LINE's own event kinds; an event kind nobody handles is accepted and ignored."""
    router = Router("core")
    router.on("follow")(follow.handle)
    router.on("unfollow")(unfollow.handle)
    router.on("message")(message.handle)
    router.on("postback")(postback.handle)
    router.on("videoPlayComplete")(video_play_complete.handle)
    router.on("join", chat="group")(group.handle_join)
    router.on("message", chat="group")(group.handle_message)
    return router


__all__ = ["Router", "core_router"]
