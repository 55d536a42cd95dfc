"""Lua scripts sent by their SHA1 (EVALSHA), several runners' scripts in one round trip.

Why SHA1: the consumer runs two or three scripts per event; sending each script's text every time costs bytes,
parsing and hashing on both sides (Redis hashes an EVAL body to find it in its cache). The first call on a
server that does not know the script yet (a fresh or restarted Redis, another Cluster node, the embedded
store) gets NOSCRIPT and falls back to EVAL, which runs it and caches it there; nothing runs twice, because a
NOSCRIPT answer means the script did not run. Plain commands, so this works the same on a Redis, a Redis
Cluster (routed by the script's keys like EVAL) and fakeredis.

Why batched ("group commit"): at load the consumer's drains run side by side, and each round trip costs the
client far more than the script costs Redis — taking a pooled connection, the timeouts, packing, parsing
(redis-py was a quarter of the web process's CPU at 200 events/s, py-spy via ``python -m bench.tailprobe``).
Scripts asked for during one turn of the event loop go together in one pipeline; each caller still gets its
own script's answer or error. Redis runs a pipeline in order and each script atomically, so nothing a
script guarantees changes. A Redis Cluster client is left unbatched (one pipeline would span nodes).
"""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from bot.store.per_turn import PerTurn


class Lua:
    __slots__ = ("script", "sha")

    def __init__(self, script: str) -> None:
        self.script = script
        self.sha = hashlib.sha1(script.encode("utf-8")).hexdigest()

    async def run(self, redis: Any, keys: tuple[str, ...] | list[str], *args: Any) -> Any:
        if isinstance(redis, Redis):
            return await _batch_of(redis).submit(self, (*keys, *args), len(keys))
        return await self.run_alone(redis, len(keys), (*keys, *args))

    async def run_alone(self, redis: Any, numkeys: int, keys_and_args: tuple[Any, ...]) -> Any:
        try:
            return await redis.evalsha(self.sha, numkeys, *keys_and_args)
        except NoScriptError:
            return await redis.eval(self.script, numkeys, *keys_and_args)


_Item = tuple[Lua, tuple[Any, ...], int, "asyncio.Future[Any]"]
_batches: weakref.WeakKeyDictionary[Any, _Batch] = weakref.WeakKeyDictionary()


def _batch_of(redis: Any) -> _Batch:
    batch = _batches.get(redis)
    if batch is None or batch.loop is not asyncio.get_running_loop():
        batch = _batches[redis] = _Batch(redis)
    return batch


class _Batch:
    """The scripts waiting to go to one client's Redis; sent at the next turn of the event loop."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self.loop = asyncio.get_running_loop()
        self.waiting: PerTurn[_Item] = PerTurn(self._send)

    def submit(self, lua: Lua, keys_and_args: tuple[Any, ...], numkeys: int) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = self.loop.create_future()
        self.waiting.add((lua, keys_and_args, numkeys, future))
        return future

    async def _send(self, items: list[_Item]) -> None:
        if len(items) == 1:
            lua, keys_and_args, numkeys, future = items[0]
            await _settle(future, lua.run_alone(self.redis, numkeys, keys_and_args))
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for lua, keys_and_args, numkeys, _future in items:
                    pipe.evalsha(lua.sha, numkeys, *keys_and_args)
                replies = await pipe.execute(raise_on_error=False)
        except BaseException as exc:  # the round trip failed (timeout, connection): every caller hears it
            for *_rest, future in items:
                _fail(future, exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        for (lua, keys_and_args, numkeys, future), reply in zip(items, replies, strict=True):
            if isinstance(reply, NoScriptError):  # it did not run: run it with its text (caches it)
                await _settle(future, lua.run_alone(self.redis, numkeys, keys_and_args))
            elif isinstance(reply, Exception):
                _fail(future, reply)
            elif not future.done():
                future.set_result(reply)


async def _settle(future: asyncio.Future[Any], call: Any) -> None:
    try:
        result = await call
    except BaseException as exc:
        _fail(future, exc)
        if isinstance(exc, asyncio.CancelledError):
            raise
        return
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if future.done():
        return
    if isinstance(exc, asyncio.CancelledError):
        future.cancel()
    else:
        future.set_exception(exc)
