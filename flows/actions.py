"""Named actions: the behaviour a flow file can ask for that needs code (booking, data deletion...).

Flow files name an action (``action: booking.start``); the loader refuses unknown names at start-up. Like an
aiogram ``Router``, each module that brings actions makes its own registry and registers on it; the bot's
composition root includes the registries of the features that are switched on into the engine's one.
There is no global registry, so two bots in one process (tests) never share actions.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

from flows.context import Conversation

Params = dict[str, str]
ActionFn = Callable[[Conversation, Params], Awaitable[None]]


class ActionRegistry:
    def __init__(self) -> None:
        self._actions: dict[str, ActionFn] = {}

    def register(self, name: str) -> Callable[[ActionFn], ActionFn]:
        def decorate(fn: ActionFn) -> ActionFn:
            self._add(name, fn)
            return fn

        return decorate

    def include(self, other: ActionRegistry) -> None:
        """Add every action of ``other`` (a feature's); the same name from two places is a mistake."""
        for name, fn in other._actions.items():
            self._add(name, fn)

    def _add(self, name: str, fn: ActionFn) -> None:
        if name in self._actions and self._actions[name] is not fn:
            raise ValueError(f"action {name!r} registered twice")
        self._actions[name] = fn

    def get(self, name: str) -> ActionFn | None:
        return self._actions.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._actions

    def __iter__(self) -> Iterator[str]:
        return iter(self._actions)
