"""Connecting to the store.

``REDIS_URL`` set: a real Redis (``redis://``, ``rediss://``) or a Redis Cluster (``redis+cluster://``, or
``?cluster=true``). Unset: an embedded, in-process Redis (fakeredis with Lua), so a laptop with nothing
installed runs the very same code path. The embedded store keeps nothing across restarts: local mode only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

Redis = aioredis.Redis


@dataclass(slots=True)
class Store:
    """The connection and what kind of store it is."""

    redis: Any  # redis.asyncio.Redis or RedisCluster; both expose the commands we use
    embedded: bool
    cluster: bool = False

    async def ping(self) -> bool:
        try:
            return bool(await self.redis.ping())
        except Exception:
            return False

    async def close(self) -> None:
        await self.redis.aclose()


def _is_cluster_url(url: str) -> tuple[bool, str]:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    if parts.scheme in {"redis+cluster", "rediss+cluster"}:
        scheme = parts.scheme.removesuffix("+cluster")
        return True, urlunsplit((scheme, parts.netloc, parts.path, parts.query, parts.fragment))
    if query.get("cluster", ["false"])[0].lower() in {"1", "true", "yes"}:
        kept = "&".join(p for p in parts.query.split("&") if not p.startswith("cluster="))
        return True, urlunsplit((parts.scheme, parts.netloc, parts.path, kept, parts.fragment))
    return False, url


def connect(url: str | None) -> Store:
    """Open the store named by ``url`` (``None``: the embedded one). Connections are made lazily."""
    if not url:
        import fakeredis

        server = fakeredis.FakeServer()
        return Store(redis=fakeredis.FakeAsyncRedis(server=server, decode_responses=True), embedded=True)
    cluster, plain = _is_cluster_url(url)
    if cluster:
        return Store(redis=RedisCluster.from_url(plain, decode_responses=True), embedded=False, cluster=True)
    return Store(redis=aioredis.Redis.from_url(url, decode_responses=True), embedded=False)
