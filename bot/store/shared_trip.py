"""Commands asked for during one turn of the event loop go to Redis together, in one round trip.

Why: with redis-py each round trip costs the client ~150–250 µs of CPU (a pooled connection, timeouts,
packing, parsing) while one more command in the same pipeline costs ~25–45 µs, and CPU per event is what
limits the bot (bench/README.md). At load the webhook's accepts, the consumer's scripts, its commit stages
and its acknowledgements are asked for side by side by different runners' drains; sent one pipeline each,
16 runners at a time cost 6.5 round trips per event (``python -m bench.roundtrips --together 16``).

Each caller still gets the replies of its own commands only, in order, errors as values (a caller decides
what an error means); a round trip that fails as a whole (timeout, lost connection) fails every caller in
it. Redis runs a pipeline in order and each command or script atomically, so nothing a caller relies on
changes: one caller's commands stay together, and callers that waited for each other still do. Nobody
waits longer than one turn of the loop: the first command of a turn schedules the sending.

A Redis Cluster client is left unbatched: one pipeline would span nodes, and redis-py's cluster pipeline
splits it by slot anyway.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bot.store.per_turn import PerTurn

#: One command as redis-py's pipelines record it: its arguments and the options its reply is parsed with.
Command = tuple[tuple[Any, ...], dict[str, Any]]


def command(*args: Any, **options: Any) -> Command:
    """``command("XACK", stream, group, id)``: one command for :func:`execute`."""
    return args, options


def recorded(pipe: Any) -> list[Command]:
    """The commands queued on a redis-py pipeline (used as a buffer: typed command methods, no round trip)."""
    return list(pipe.command_stack)  # already (args, options) pairs: nothing to copy on the hot path


async def execute(redis: Any, commands: Sequence[Command]) -> list[Any]:
    """The replies to ``commands``, errors as values; sent with whatever else was asked for this turn."""
    if not commands:
        return []
    if isinstance(redis, Redis):  # a Redis, or the embedded store; not a Cluster
        return await _trip_of(redis).submit(list(commands))
    return await _send_alone(redis, list(commands))


async def one(redis: Any, *args: Any, **options: Any) -> Any:
    """One command's reply (its error raised), sent with whatever else was asked for this turn."""
    return raise_first_error(await execute(redis, [command(*args, **options)]))[0]


async def execute_queued(redis: Any, pipe: Any) -> list[Any]:
    """``pipe.execute()`` for a pipeline of ``redis`` used as a buffer: its commands go with this turn's
    others (a Cluster's pipeline is executed as it is). The first error is raised, as ``execute()`` does."""
    if not isinstance(redis, Redis):
        return list(await pipe.execute())
    return raise_first_error(await execute(redis, recorded(pipe)))


def raise_first_error(replies: list[Any]) -> list[Any]:
    """``replies`` unchanged, unless one is an error: then that error is raised (as ``pipe.execute()`` does)."""
    for reply in replies:
        if isinstance(reply, Exception):
            raise reply
    return replies


_Item = tuple[list[Command], "asyncio.Future[list[Any]]"]
_trips: weakref.WeakKeyDictionary[Any, _Trip] = weakref.WeakKeyDictionary()


def _trip_of(redis: Any) -> _Trip:
    trip = _trips.get(redis)
    if trip is None or trip.loop is not asyncio.get_running_loop():
        trip = _trips[redis] = _Trip(redis)
    return trip


class _Trip:
    """The commands waiting to go to one client's Redis; sent at the next turn of the event loop."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self.loop = asyncio.get_running_loop()
        self.waiting: PerTurn[_Item] = PerTurn(self._send)

    def submit(self, commands: list[Command]) -> asyncio.Future[list[Any]]:
        future: asyncio.Future[list[Any]] = self.loop.create_future()
        self.waiting.add((commands, future))
        return future

    async def _send(self, items: list[_Item]) -> None:
        try:
            replies = await _send_alone(self.redis, [c for commands, _future in items for c in commands])
        except BaseException as exc:  # the round trip failed: every caller in it hears why
            for _commands, future in items:
                _fail(future, exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        start = 0
        for commands, future in items:
            if not future.done():  # a caller that gave up (its own timeout) is not answered
                future.set_result(replies[start:start + len(commands)])
            start += len(commands)


async def _send_alone(redis: Any, commands: list[Command]) -> list[Any]:
    if len(commands) == 1:  # a plain command costs less than a pipeline of one
        args, options = commands[0]
        try:
            return [await redis.execute_command(*args, **options)]
        except ResponseError as exc:  # the command's own error (NOSCRIPT, WRONGTYPE): a value, as in a pipeline
            return [exc]
    async with redis.pipeline(transaction=False) as pipe:
        for args, options in commands:
            pipe.execute_command(*args, **options)
        return list(await pipe.execute(raise_on_error=False))


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if future.done():
        return
    if isinstance(exc, asyncio.CancelledError):
        future.cancel()
    else:
        future.set_exception(exc)
