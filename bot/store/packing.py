"""Commands packed into Redis's protocol by hiredis, and written without a task each, for the asyncio client.

Why: redis-py's asyncio connection packs every command in Python (its synchronous one already uses
hiredis when installed) — about 7 µs for one of the consumer's EVALSHA calls against under 1 µs in hiredis,
and 5–8 % of the web process's samples at saturation (py-spy, ``python -m bench.tailprobe --rate 700``).
hiredis is already a dependency (it parses the replies).

Why the write differs: redis-py wraps every write in ``asyncio.wait_for`` (a socket timeout), which on
Python 3.11 makes a new task per command sent. The write itself never waits while the socket takes the bytes
(the transport buffers them at once), so here the timeout is only started when there is something to wait
for: bytes the kernel did not take yet. A Redis that stops reading still times the write out.

What changes: only the bytes' producer and that timeout. Arguments are what redis-py accepts — ``str``
(UTF-8), ``bytes``, ``int``, ``float`` — and a value of another type (``None``, a ``bool``) is refused with
redis-py's own ``DataError``, as its encoder does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import hiredis
from redis.asyncio.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError
from redis.exceptions import TimeoutError as RedisTimeoutError


class HiredisPackedConnection(Connection):
    """A plain TCP connection whose commands hiredis packs."""

    def pack_command(self, *args: Any) -> list[bytes]:
        return [_pack(args)]

    def pack_commands(self, commands: Iterable[Iterable[Any]]) -> list[bytes]:
        # One buffer for the whole pipeline: our pipelines are small (a few kB), so the chunking redis-py
        # does for huge values buys nothing here.
        return [b"".join(_pack(tuple(command)) for command in commands)]

    async def send_packed_command(self, command: bytes | str | Iterable[bytes], check_health: bool = True) -> None:
        """redis-py 8.1's ``send_packed_command``, with the write's timeout only around a write that waits."""
        if not self.is_connected:
            await self.connect_check_health(check_health=False)
        if check_health:
            await self.check_health()  # type: ignore[no-untyped-call]
        try:
            writer = self._writer
            if writer is None:
                raise OSError("not connected")
            if isinstance(command, str):
                command = command.encode()
            writer.writelines([command] if isinstance(command, bytes) else command)
            if writer.transport.get_write_buffer_size() and self.socket_timeout:
                async with asyncio.timeout(self.socket_timeout):
                    await writer.drain()
            else:
                await writer.drain()  # returns at once: nothing is waiting to be written
        except TimeoutError:
            await self.disconnect(nowait=True)
            raise RedisTimeoutError("Timeout writing to socket") from None
        except OSError as exc:
            await self.disconnect(nowait=True)
            raise RedisConnectionError(f"Error while writing to socket: {exc.args}") from exc
        except BaseException:
            # As redis-py: a write cut short leaves the protocol stream unusable; the pool opens a new one.
            await self.disconnect(nowait=True)
            raise


_PLAIN = frozenset({str, bytes, int, float})


def _pack(args: tuple[Any, ...]) -> bytes:
    name = args[0]
    # redis-py lets a command name hold its subcommand ("XGROUP CREATE"): split it the same way.
    if (isinstance(name, str) and " " in name) or (isinstance(name, bytes) and b" " in name):
        args = (*name.split(), *args[1:])
    if not all(type(arg) in _PLAIN for arg in args):
        args = tuple(_plain(arg) for arg in args)
    packed: bytes = hiredis.pack_command(args)
    return packed


def _plain(arg: Any) -> str | bytes | int | float:
    """What redis-py's encoder would send for a value that is not exactly str, bytes, int or float."""
    if isinstance(arg, bool) or not isinstance(arg, str | bytes | bytearray | memoryview | int | float):
        raise DataError(f"Invalid input of type: '{type(arg).__name__}'. "
                        "Convert to a bytes, string, int or float first.")
    if isinstance(arg, bytes | bytearray | memoryview):
        return bytes(arg)
    if isinstance(arg, str):
        return str(arg)
    return int(arg) if isinstance(arg, int) else float(arg)
