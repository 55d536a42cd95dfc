"""Lua scripts sent by their SHA1 (EVALSHA), several runners' scripts in one round trip.

Why SHA1: the consumer runs two or three scripts per event; sending each script's text every time costs bytes,
parsing and hashing on both sides (Redis hashes an EVAL body to find it in its cache). The first call on a
server that does not know the script yet (a fresh or restarted Redis, another Cluster node, the embedded
store) gets NOSCRIPT and falls back to EVAL, which runs it and caches it there; nothing runs twice, because a
NOSCRIPT answer means the script did not run. Plain commands, so this works the same on a Redis, a Redis
Cluster (routed by the script's keys like EVAL) and fakeredis.

Why batched ("group commit"): at load the consumer's drains run side by side, and each round trip costs the
client far more than the script costs Redis. A script goes to Redis with everything else asked for in the
same turn of the event loop (``shared_trip.py``); each caller still gets its own script's answer or error.
Redis runs a pipeline in order and each script atomically, so nothing a script guarantees changes.
"""

from __future__ import annotations

import hashlib
from typing import Any

from redis.exceptions import NoScriptError

from bot.store import shared_trip


class Lua:
    __slots__ = ("script", "sha")

    def __init__(self, script: str) -> None:
        self.script = script
        self.sha = hashlib.sha1(script.encode("utf-8")).hexdigest()

    async def run(self, redis: Any, keys: tuple[str, ...] | list[str], *args: Any) -> Any:
        [reply] = await shared_trip.execute(redis, [shared_trip.command("EVALSHA", self.sha, len(keys), *keys,
                                                                        *args)])
        if isinstance(reply, NoScriptError):  # it did not run: run it with its text (which caches it)
            reply = await redis.eval(self.script, len(keys), *keys, *args)
        if isinstance(reply, Exception):
            raise reply
        return reply

    def queue(self, pipe: Any, keys: tuple[str, ...] | list[str], *args: Any) -> None:
        """Queue this script on a pipeline other commands share (a commit stage, the webhook's accept).

        EVAL with the text, not EVALSHA: a NOSCRIPT inside a shared pipeline could not be retried for this one
        command, and Redis finds the cached script by hashing its few hundred bytes — microseconds.
        """
        pipe.eval(self.script, len(keys), *keys, *args)
