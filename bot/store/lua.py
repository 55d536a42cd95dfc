"""Lua scripts sent by their SHA1 (EVALSHA) instead of their text on every call.

Why: the consumer runs two or three scripts per event; sending each script's text every time costs bytes,
parsing and hashing on both sides (Redis hashes an EVAL body to find it in its cache). The first call on a
server that does not know the script yet (a fresh or restarted Redis, another Cluster node, the embedded
store) gets NOSCRIPT and falls back to EVAL, which runs it and caches it there; nothing runs twice, because a
NOSCRIPT answer means the script did not run. Plain commands, so this works the same on a Redis, a Redis
Cluster (routed by the script's keys like EVAL) and fakeredis.
"""

from __future__ import annotations

import hashlib
from typing import Any

from redis.exceptions import NoScriptError


class Lua:
    __slots__ = ("script", "sha")

    def __init__(self, script: str) -> None:
        self.script = script
        self.sha = hashlib.sha1(script.encode("utf-8")).hexdigest()

    async def run(self, redis: Any, keys: tuple[str, ...] | list[str], *args: Any) -> Any:
        try:
            return await redis.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await redis.eval(self.script, len(keys), *keys, *args)
