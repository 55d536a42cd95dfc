"""Work asked for during one turn of the event loop, sent together at the next turn.

Why: at load several runners' drains run side by side on one event loop, and each Redis round trip costs the
client far more than the command costs Redis. Whatever they ask for before the loop comes round again — Lua
scripts (``lua.py``), notice acknowledgements (``bot/delivery/consumer.py``) — goes in one round trip. Nobody
waits longer than one turn for it: the first item of a batch schedules its sending.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class PerTurn(Generic[T]):
    """Collects items; at the next turn of the loop ``send`` gets all of them as one list, in its own task.

    ``tasks``: the set the sending tasks join while they run (a caller that waits for its work at shutdown
    passes its own; by default the batcher keeps them, so they are not garbage-collected mid-flight).
    """

    def __init__(self, send: Callable[[list[T]], Coroutine[Any, Any, None]],
                 tasks: set[asyncio.Task[None]] | None = None) -> None:
        self.send = send
        self.tasks: set[asyncio.Task[None]] = set() if tasks is None else tasks
        self.waiting: list[T] = []

    def add(self, item: T) -> None:
        if not self.waiting:
            asyncio.get_running_loop().call_soon(self.flush)
        self.waiting.append(item)

    def flush(self) -> None:
        """Send what is waiting now (the scheduled call then finds nothing)."""
        items, self.waiting = self.waiting, []
        if not items:
            return
        task = asyncio.get_running_loop().create_task(self.send(items))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
