"""The one map from an event's type to the code that handles it, and the gates in front of it.

Shaped like aiogram's ``Router``: a module (the core's handlers, or a feature) makes a router, registers
functions on it, and the composition root ``include``\\ s every router into one. Nothing is imported to be
found: a feature that is switched off simply is not included.

- ``on(type)`` registers the handler of a one-to-one event type (``chat="group"`` for group and room events).
  Bot-made events (``x-reminder``, ``x-checkin``...) are registered the same way by the feature that makes
  them; the webhook never lets an ``x-`` type in from outside.
- ``gate(type)`` registers a check that runs before the handler, like aiogram's outer middleware: returning
  True means "taken care of" (e.g. a person is answering this runner), and the handler does not run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

from bot.webhook.events import Event
from flows.context import Conversation

Handler = Callable[[Event, Conversation], Awaitable[None]]
#: True when the gate took care of the event and the handler must not run.
Gate = Callable[[Event, Conversation], Awaitable[bool]]
Chat = Literal["user", "group"]


class Router:
    def __init__(self, name: str = "") -> None:
        self.name = name
        self._handlers: dict[tuple[Chat, str], Handler] = {}
        self._gates: dict[str, list[Gate]] = {}

    def on(self, event_type: str, *, chat: Chat = "user") -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self._add_handler((chat, event_type), handler)
            return handler

        return register

    def gate(self, event_type: str) -> Callable[[Gate], Gate]:
        def register(gate: Gate) -> Gate:
            self._gates.setdefault(event_type, []).append(gate)
            return gate

        return register

    def include(self, other: Router) -> None:
        for key, handler in other._handlers.items():
            self._add_handler(key, handler)
        for event_type, gates in other._gates.items():
            self._gates.setdefault(event_type, []).extend(gates)

    def _add_handler(self, key: tuple[Chat, str], handler: Handler) -> None:
        existing = self._handlers.get(key)
        if existing is not None and existing is not handler:
            raise ValueError(f"two handlers for {key[1]!r} ({key[0]} chats)")
        self._handlers[key] = handler

    def handler_for(self, event: Event) -> Handler | None:
        """``None``: nobody handles this kind (including kinds LINE adds later); it is ignored."""
        return self._handlers.get(("user" if event.is_one_to_one else "group", event.type))

    async def dispatch(self, event: Event, conv: Conversation) -> None:
        handler = self.handler_for(event)
        if handler is None:
            return
        for gate in self._gates.get(event.type, ()):
            if await gate(event, conv):
                return
        await handler(event, conv)

    def event_types(self) -> set[str]:
        return {event_type for _chat, event_type in self._handlers}
