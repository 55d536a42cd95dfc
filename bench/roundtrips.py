"""``python -m bench.roundtrips``: how many times the bot waits for Redis per event, and where it asks.

CPU per event is what limits the bot (bench/README.md, "Second round"), and with redis-py each round trip costs
the client ~150–200 µs of CPU while one more command in a pipeline costs ~25–45 µs. This counts the round
trips (every ``send_packed_command`` of the store's connection, ``bot/store/packing.py``: one per command or per
pipeline) while
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

from bench.procs import ROOT, RedisServer, running
from bot.store import packing, shared_trip
from tests.harness import BotHarness, walk_to_result
from tests.standin_server import StandinServer

EVENTS_PER_CHECK = 6  # follow, start, where, feel, safety, timing (walk_to_result)


class RoundTrips:
    """Counts redis-py sends by the project's call site while ``counting`` is on, what went through the shared
    round trip (``bot/store/shared_trip.py``) by who asked, and every command sent by name."""

    def __init__(self) -> None:
        self.by_site: collections.Counter[str] = collections.Counter()
        self.shared_by_site: collections.Counter[str] = collections.Counter()
        self.commands: collections.Counter[str] = collections.Counter()
        self.counting = False

    def install(self) -> None:
        original: Callable[..., Awaitable[Any]] = packing.HiredisPackedConnection.send_packed_command
        original_pack: Callable[..., bytes] = packing._pack
        original_shared = shared_trip.execute
        trips = self

        async def send_packed_command(conn: Any, command: Any, check_health: bool = True) -> Any:
            if trips.counting:
                trips.by_site[_call_site()] += 1
            return await original(conn, command, check_health)

        def pack(args: tuple[Any, ...]) -> bytes:  # every command, alone or in a pipeline, is packed here
            if trips.counting:
                trips.commands[str(args[0]).upper()] += 1
            return original_pack(args)

        async def execute(redis: Any, commands: Any) -> list[Any]:
            if trips.counting:
                trips.shared_by_site[_call_site()] += 1
            return await original_shared(redis, commands)

        packing.HiredisPackedConnection.send_packed_command = send_packed_command  # type: ignore[method-assign]
        packing._pack = pack
        shared_trip.execute = execute  # type: ignore[assignment]


def _call_site() -> str:
    ours = [f for f in traceback.extract_stack(limit=40)
            if f.filename.startswith(str(ROOT)) and "/.venv/" not in f.filename and "/bench/" not in f.filename]
    return " < ".join(f"{Path(f.filename).relative_to(ROOT)}:{f.name}" for f in reversed(ours[-3:])) or "?"


async def measure(redis_url: str, runners: int, trips: RoundTrips, together: int = 1) -> int:
    line = StandinServer().start()
    try:
        async with BotHarness.running(redis_url=redis_url, line=line) as bot:
            await walk_to_result(bot.runner(), "膝裏の外側")  # warm-up: scripts loaded, shared copy written
            await asyncio.sleep(0.5)
            trips.counting = True
            for start in range(0, runners, together):
                await asyncio.gather(*(walk_to_result(bot.runner(), "膝裏の外側")
                                       for _ in range(min(together, runners - start))))
            await asyncio.sleep(1.0)  # the last commit stages and acknowledgements
            trips.counting = False
    finally:
        line.stop()
    return runners * EVENTS_PER_CHECK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.roundtrips", description=__doc__)
    parser.add_argument("--runners", type=int, default=10)
    parser.add_argument("--together", type=int, default=1,
                        help="runners going through the check at the same time (1: one after another; more: "
                             "what the per-turn batching shares under load)")
    args = parser.parse_args(argv)
    trips = RoundTrips()
    trips.install()
    redis = RedisServer(Path(tempfile.mkdtemp(prefix="roundtrips-")))
    with running(redis):
        events = asyncio.run(measure(redis.url, args.runners, trips, args.together))
    pace = "one at a time" if args.together == 1 else f"{args.together} at a time"
    print(f"{args.runners} runners × {EVENTS_PER_CHECK} events, {pace}: "
          f"{sum(trips.by_site.values()) / events:.2f} Redis round trips per event")
    for site, count in trips.by_site.most_common():
        print(f"{count / events:6.2f}  {site}")
    print("asked through the shared round trip, per event, by who asked:")
    for site, count in trips.shared_by_site.most_common():
        print(f"{count / events:6.2f}  {site}")
    print(f"commands sent per event: {sum(trips.commands.values()) / events:.2f}; by name: "
          + ", ".join(f"{name} {count / events:.2f}" for name, count in trips.commands.most_common()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
