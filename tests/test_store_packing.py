"""The store's connections pack commands with hiredis: the same bytes redis-py would send, the same refusals,
and a write Redis does not take still times out.

Checked byte for byte against redis-py's own packer, and end to end against the test session's Redis through
the store the bot opens (``bot.store.base.connect``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from redis.asyncio.connection import Connection
from redis.exceptions import DataError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.store.base import connect
from bot.store.packing import HiredisPackedConnection

COMMANDS: list[tuple[Any, ...]] = [
    ("GET", "lb:{U1}:state"),
    ("SET", "k", '{"v":1,"text":"膝の外側が痛いです"}', "EX", 3600),
    ("ZADD", "lb:{friends}:seen", 1733212345.123456, "U1"),
    ("ZADD", "z", 0.1, "a", -0.0, "b", float("inf"), "c", 2**70, "d"),
    ("EVALSHA", "a" * 40, 2, "k1", "k2", b"\x00\xffbytes", bytearray(b"ba"), memoryview(b"mv")),
    ("XGROUP CREATE", "stream", "group", "$", "MKSTREAM"),
    (b"CLIENT SETINFO", b"LIB-NAME", b"redis-py"),
    ("SET", "empty", ""),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: str(c[0]))
def test_a_command_is_packed_to_the_bytes_redis_py_would_send(command: tuple[Any, ...]) -> None:
    ours = b"".join(HiredisPackedConnection().pack_command(*command))
    assert ours == b"".join(Connection().pack_command(*command))


def test_a_pipeline_is_packed_to_the_bytes_redis_py_would_send() -> None:
    ours = b"".join(HiredisPackedConnection().pack_commands(COMMANDS))
    assert ours == b"".join(Connection().pack_commands(COMMANDS))


@pytest.mark.parametrize("value", [None, True, object()], ids=["None", "bool", "object"])
def test_a_value_redis_py_refuses_is_refused_the_same_way(value: Any) -> None:
    with pytest.raises(DataError):
        Connection().pack_command("SET", "k", value)
    with pytest.raises(DataError):
        HiredisPackedConnection().pack_command("SET", "k", value)


async def test_the_bots_store_talks_to_redis_through_the_packed_connection(redis_url: str) -> None:
    store = connect(redis_url)
    try:
        assert store.redis.connection_pool.connection_class is HiredisPackedConnection
        await store.redis.set("packing:test", "膝の外側", ex=60)
        async with store.redis.pipeline(transaction=False) as pipe:
            pipe.get("packing:test").zadd("packing:z", {"a": 0.1}).zscore("packing:z", "a")
            got, added, score = await pipe.execute()
        assert (got, added, score) == ("膝の外側", 1, 0.1)
        await store.redis.delete("packing:test", "packing:z")
    finally:
        await store.close()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # lib_name=None: no CLIENT SETINFO to a mute server
async def test_a_redis_that_stops_reading_still_times_a_write_out() -> None:
    done = asyncio.Event()

    async def never_read(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await done.wait()
        writer.close()

    server = await asyncio.start_server(never_read, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    conn = HiredisPackedConnection(host="127.0.0.1", port=port, socket_timeout=0.5, protocol=2,
                                   lib_name=None, lib_version=None)
    try:
        await conn.connect()
        started = time.monotonic()
        with pytest.raises(RedisTimeoutError):
            await conn.send_command("SET", "k", b"x" * 50_000_000)  # far more than the socket buffers take
        assert time.monotonic() - started < 5
        assert not conn.is_connected  # the half-written connection is dropped, as redis-py does
    finally:
        done.set()
        server.close()
        await server.wait_closed()
