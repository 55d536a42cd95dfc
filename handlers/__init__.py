"""One module per kind of webhook event; this package picks the module and opens the conversation.

A handler gets the event and the runner's :class:`~flows.context.Conversation` and changes it; the consumer
stores the result and sends the replies. An event kind nobody handles (including kinds LINE adds later) is
accepted and ignored.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from bot.events import Event
from bot.services import Services
from bot.store import keys
from flows.context import Conversation
from flows.state import ConversationState
from handlers import follow, group, message, postback, unfollow, video_play_complete

log = logging.getLogger(__name__)

HandlerFn = Callable[[Event, Conversation], Awaitable[None]]

ONE_TO_ONE: dict[str, HandlerFn] = {
    "follow": follow.handle,
    "unfollow": unfollow.handle,
    "message": message.handle,
    "postback": postback.handle,
    "videoPlayComplete": video_play_complete.handle,
}
GROUP: dict[str, HandlerFn] = {"join": group.handle_join, "message": group.handle_message}


async def handle_event(services: Services, event: Event, state: ConversationState | None = None
                       ) -> Conversation | None:
    """Handle one event; ``None`` means it changes nothing and sends nothing.

    ``state``: the runner's stored state when the caller already has it (the queue consumer reads it in the
    same round trip as the event); ``None`` reads it from the store.
    """
    table = ONE_TO_ONE if event.is_one_to_one else GROUP
    handler = table.get(event.type) or _extension(services, event.type)
    if handler is None:
        log.info("event ignored", extra={"event_type": event.type, "event_id": event.id})
        return None
    conv = await open_conversation(services, event, state)
    await handler(event, conv)
    return conv


async def open_conversation(services: Services, event: Event, state: ConversationState | None = None
                            ) -> Conversation:
    if state is None:
        state = ConversationState.from_json(await services.store.redis.get(keys.state(event.chat_id)))
    return Conversation(
        user_id=event.chat_id,
        state=state,
        initial_tags=tuple(state.tags),
        now=dt.datetime.now(services.clinic.tz),
        event_id=event.id,
        services=services,
    )


def _extension(services: Services, event_type: str) -> HandlerFn | None:
    """Bot-made events (``x-…``: due reminders, check-ins) are handled by the service that made them."""
    return services.internal_handlers.get(event_type) if event_type.startswith("x-") else None
