"""``python -m bench.roundtrips``: how many times the bot waits for Redis per event, and where it asks.

CPU per event is what limits the bot (bench/README.md, "Second round"), and with redis-py each round trip costs
the client ~150–200 µs of CPU while one more command in a pipeline costs ~25–45 µs. This counts the round
trips (every ``send_packed_command`` of redis-py's asyncio connection: one per command or per pipeline) while
runners go through the check one after another — no concurrency, so nothing is batched across runners (under
load the group commit and the batched acknowledgements share some) — and names the project's call site of
each, three frames deep.

It runs the bot in-process (``tests/harness.py``) against a throwaway ``redis-server`` and the tests' LINE
stand-in; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import tempfile
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from redis.asyncio import connection as redis_connection

from bench.procs import ROOT, RedisServer, running
from tests.harness import BotHarness, walk_to_result
from tests.standin_server import StandinServer

EVENTS_PER_CHECK = 6  # follow, start, where, feel, safety, timing (walk_to_result)


class RoundTrips:
    """Counts redis-py sends by the project's call site while ``counting`` is on."""

    def __init__(self) -> None:
        self.by_site: collections.Counter[str] = collections.Counter()
        self.counting = False

    def install(self) -> None:
        original: Callable[..., Awaitable[Any]] = redis_connection.Connection.send_packed_command
        trips = self

        async def send_packed_command(conn: Any, command: Any, check_health: bool = True) -> Any:
            if trips.counting:
                trips.by_site[_call_site()] += 1
            return await original(conn, command, check_health)

        redis_connection.Connection.send_packed_command = send_packed_command  # type: ignore[method-assign,assignment]


def _call_site() -> str:
    ours = [f for f in traceback.extract_stack(limit=40)
            if f.filename.startswith(str(ROOT)) and "/.venv/" not in f.filename and "/bench/" not in f.filename]
    return " < ".join(f"{Path(f.filename).relative_to(ROOT)}:{f.name}" for f in reversed(ours[-3:])) or "?"


async def measure(redis_url: str, runners: int, trips: RoundTrips) -> int:
    line = StandinServer().start()
    try:
        async with BotHarness.running(redis_url=redis_url, line=line) as bot:
            await walk_to_result(bot.runner(), "膝裏の外側")  # warm-up: scripts loaded, shared copy written
            await asyncio.sleep(0.5)
            trips.counting = True
            for _ in range(runners):
                await walk_to_result(bot.runner(), "膝裏の外側")
            await asyncio.sleep(1.0)  # the last commit stages and acknowledgements
            trips.counting = False
    finally:
        line.stop()
    return runners * EVENTS_PER_CHECK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.roundtrips", description=__doc__)
    parser.add_argument("--runners", type=int, default=10)
    args = parser.parse_args(argv)
    trips = RoundTrips()
    trips.install()
    redis = RedisServer(Path(tempfile.mkdtemp(prefix="roundtrips-")))
    with running(redis):
        events = asyncio.run(measure(redis.url, args.runners, trips))
    print(f"{args.runners} runners × {EVENTS_PER_CHECK} events, one at a time: "
          f"{sum(trips.by_site.values()) / events:.2f} Redis round trips per event")
    for site, count in trips.by_site.most_common():
        print(f"{count / events:6.2f}  {site}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
