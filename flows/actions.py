"""Named actions: the behaviour a flow file can ask for that needs code (booking, data deletion...).

Flow files name an action (``action: booking.start``); the loader refuses unknown names at start-up. Each
service module registers its actions on the shared registry when it is imported.
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
            if name in self._actions and self._actions[name] is not fn:
                raise ValueError(f"action {name!r} registered twice")
            self._actions[name] = fn
            return fn

        return decorate

    def get(self, name: str) -> ActionFn | None:
        return self._actions.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._actions

    def __iter__(self) -> Iterator[str]:
        return iter(self._actions)


#: The registry every built-in action registers on.
actions = ActionRegistry()
