"""Connecting to the store.

``REDIS_URL`` set: a real Redis (``redis://``, ``rediss://``) or a Redis Cluster (``redis+cluster://``, or
``?cluster=true``). Unset: an embedded, in-process Redis (fakeredis with Lua), so a laptop with nothing
installed runs the very same code path. The embedded store keeps nothing across restarts: local mode only.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from bot.store.packing import HiredisPackedConnection

Redis = aioredis.Redis


@dataclass(slots=True)
class Store:
    """The connection and what kind of store it is."""

    redis: Any  # redis.asyncio.Redis or RedisCluster; both expose the commands we use
    embedded: bool
    cluster: bool = False

    async def ping(self, timeout_s: float | None = None) -> bool:
        """True when the store answers (within ``timeout_s``, when given: a stalled Redis is not ready).

        On a cluster every master must answer: a stalled one holds some runners' keys.
        """
        ping = self.redis.ping(target_nodes=RedisCluster.PRIMARIES) if self.cluster else self.redis.ping()
        try:
            return bool(await asyncio.wait_for(ping, timeout_s))
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


#: A connection idle this long is PINGed before it is used again, so one a network dropped silently is
#: replaced rather than failing a command (costs nothing on a busy connection).
HEALTH_CHECK_INTERVAL_S = 30
#: Connections to Redis per process (redis-py's default cap, now waited for rather than failed on).
MAX_CONNECTIONS = 100


def connect(url: str | None, *, socket_timeout_s: float = 5.0, connect_timeout_s: float = 2.0) -> Store:
    """Open the store named by ``url`` (``None``: the embedded one). Connections are made lazily.

    Why the timeouts: without them a command to a Redis that stopped answering (SIGSTOP, a partition) waits
    forever — the webhook took 10–15 s and ``/readyz`` hung. A timed-out command closes its connection (a
    late answer can never be read as the next command's), and the pool opens a fresh one.
    """
    if not url:
        return _embedded()
    # protocol=2: redis-py 8 speaks RESP3 by default; RESP2 keeps every reply in the shape this code (and
    # fakeredis) was written for, and works with any Redis.
    options: dict[str, Any] = dict(decode_responses=True, protocol=2, socket_timeout=socket_timeout_s,
                                   socket_connect_timeout=connect_timeout_s, socket_keepalive=True,
                                   health_check_interval=HEALTH_CHECK_INTERVAL_S)
    cluster, plain = _is_cluster_url(url)
    if cluster:
        return Store(redis=RedisCluster.from_url(plain, **options), embedded=False, cluster=True)
    # A blocking pool: when every connection is busy (a broadcast burst: 1,000 webhooks/s), a command waits
    # for one instead of failing with MaxConnectionsError — which answered 543 of 5,000 webhooks with 503
    # in ``python -m bench --only burst``. The wait is bounded like a command (and the webhook's own
    # STORE_ANSWER_TIMEOUT_S still answers 503 first when the store is really stuck).
    # hiredis packs the commands (bot.store.packing); a TLS or unix-socket URL keeps redis-py's own class.
    if urlsplit(url).scheme == "redis":
        options["connection_class"] = HiredisPackedConnection
    pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=MAX_CONNECTIONS,
                                                    timeout=socket_timeout_s, **options)
    return Store(redis=aioredis.Redis.from_pool(pool), embedded=False)


def _embedded() -> Store:
    """An in-process Redis (local mode only; installed with the ``local`` extra)."""
    try:
        import fakeredis
    except ImportError as exc:  # the production image leaves the embedded store out on purpose
        raise RuntimeError("no REDIS_URL and no embedded store: set REDIS_URL, or for local mode install "
                           "the local extra (pip install -e '.[local]')") from exc
    server = fakeredis.FakeServer()
    return Store(redis=fakeredis.FakeAsyncRedis(server=server, decode_responses=True), embedded=True)
