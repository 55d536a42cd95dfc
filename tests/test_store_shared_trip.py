"""What the drains and webhooks of one process ask of Redis in the same turn of the event loop travels together.

Round trips are counted at redis-py's connection (every pipeline or command it sends), against the test
session's own Redis.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.asyncio import connection as redis_connection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from bot.store import shared_trip
from bot.store.lua import Lua


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True, protocol=2)
    yield client
    await client.aclose()


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    sent = [0]
    original = redis_connection.Connection.send_packed_command

    async def counting(conn: Any, command: Any, check_health: bool = True) -> Any:
        sent[0] += 1
        return await original(conn, command, check_health)

    monkeypatch.setattr(redis_connection.Connection, "send_packed_command", counting)
    yield sent


async def test_callers_in_the_same_turn_share_one_round_trip_and_each_gets_its_own_replies(
        redis: aioredis.Redis, round_trips: list[int]) -> None:
    await redis.ping()  # the connection is made before counting
    round_trips[0] = 0
    first, second, third = await asyncio.gather(
        shared_trip.execute(redis, [shared_trip.command("SET", "lb:t:a", "1"), shared_trip.command("GET", "lb:t:a")]),
        shared_trip.execute(redis, [shared_trip.command("INCRBY", "lb:t:n", 5)]),
        shared_trip.execute(redis, [shared_trip.command("HSET", "lb:t:h", "f", "v"),
                                    shared_trip.command("HGETALL", "lb:t:h")]),
    )
    assert round_trips[0] == 1
    assert first == [True, "1"]
    assert second == [5]
    assert third == [1, {"f": "v"}]  # each reply parsed as its own command's (HGETALL: a dict)


async def test_one_callers_failing_command_leaves_the_others_answered(redis: aioredis.Redis) -> None:
    await redis.set("lb:t:word", "not a number")
    failing, fine = await asyncio.gather(
        shared_trip.execute(redis, [shared_trip.command("INCR", "lb:t:word")]),
        shared_trip.execute(redis, [shared_trip.command("INCR", "lb:t:count")]),
    )
    assert isinstance(failing[0], ResponseError)
    assert fine == [1]
    with pytest.raises(ResponseError):
        shared_trip.raise_first_error(failing)


async def test_commit_stages_queued_on_a_pipeline_run_as_if_executed_and_raise_the_first_error(
        redis: aioredis.Redis) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        pipe.rpush("lb:t:list", "a", "b")
        pipe.lrange("lb:t:list", 0, -1)
        assert await shared_trip.execute_queued(redis, pipe) == [2, ["a", "b"]]
    async with redis.pipeline(transaction=False) as pipe:
        pipe.incr("lb:t:list")  # WRONGTYPE
        pipe.set("lb:t:after", "1")
        with pytest.raises(ResponseError):
            await shared_trip.execute_queued(redis, pipe)
    assert await redis.get("lb:t:after") == "1"  # as with pipe.execute(): the rest still ran


async def test_a_script_redis_does_not_know_yet_runs_exactly_once_for_each_caller(redis: aioredis.Redis) -> None:
    bump = Lua("return redis.call('INCR', KEYS[1])")
    await redis.script_flush()
    replies = await asyncio.gather(*(bump.run(redis, ("lb:t:bumps",)) for _ in range(5)))
    assert sorted(replies) == [1, 2, 3, 4, 5]
    assert await redis.get("lb:t:bumps") == "5"


async def test_when_redis_cannot_be_reached_every_caller_in_the_trip_hears_it() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])  # nothing listens here once the socket is closed
    client = aioredis.Redis(port=port, socket_connect_timeout=1, decode_responses=True)
    try:
        results = await asyncio.gather(
            shared_trip.execute(client, [shared_trip.command("GET", "lb:t:a")]),
            shared_trip.execute(client, [shared_trip.command("GET", "lb:t:b")]),
            return_exceptions=True,
        )
    finally:
        await client.aclose()
    assert [type(r) for r in results] == [RedisConnectionError, RedisConnectionError]
