"""Commands packed into Redis's protocol by hiredis, for the asyncio client.

Why: redis-py's asyncio connection packs every command in Python (its synchronous one already uses
hiredis when installed) — about 7 µs for one of the consumer's EVALSHA calls against under 1 µs in hiredis,
and 5–8 % of the web process's samples at saturation (py-spy, ``python -m bench.tailprobe --rate 700``).
hiredis is already a dependency (it parses the replies).

What changes: only the bytes' producer. Arguments are what redis-py accepts — ``str`` (UTF-8), ``bytes``,
``int``, ``float`` — and a value of another type (``None``, a ``bool``) is refused with redis-py's own
``DataError``, as its encoder does.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import hiredis
from redis.asyncio.connection import Connection
from redis.exceptions import DataError


class HiredisPackedConnection(Connection):
    """A plain TCP connection whose commands hiredis packs."""

    def pack_command(self, *args: Any) -> list[bytes]:
        return [_pack(args)]

    def pack_commands(self, commands: Iterable[Iterable[Any]]) -> list[bytes]:
        # One buffer for the whole pipeline: our pipelines are small (a few kB), so the chunking redis-py
        # does for huge values buys nothing here.
        return [b"".join(_pack(tuple(command)) for command in commands)]


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
