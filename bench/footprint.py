"""What one stored runner costs in Redis, key by key: ``python -m bench.footprint [--runners N]``.

Runs ``N`` runners of the bench mix (follow, start, where, feel, safety, timing → result, one more event)
through the real app on a throwaway redis-server, waits for every answer and the hooks after it, then
prints:

- the INFO ``used_memory`` delta per runner (with and without the keys that only live briefly: event ids,
  tap guards, lock, inbox, outbox, failures);
- every key of one sample runner (``lb:{U…}:*``) with its type, encoding, MEMORY USAGE and TTL;
- every global key that grew, with its growth per runner (tag index sets, friend lists, the queue stream…).

Why a tool of its own: section 2 of the bench seeds copies of one runner's own keys, so it cannot show the
runner's share of the structures every runner adds to.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import accounting, loadgen, mix
from bench.procs import App, RedisServer, Standin, app_env, running

#: Keys of a runner that live only while an event is handled or for the dedupe window.
TRANSIENT = ("evt:", "tap:", "fail:", "lock", "inbox", "outbox")


def kind_of(key: str) -> str:
    """``lb:{U…}:funnel:asked`` → ``funnel:asked``; a global key is its own kind."""
    if key.startswith("lb:{U") and "}:" in key:
        return key.split("}:", 1)[1]
    return key


def is_transient(what: str) -> bool:
    return what.startswith(TRANSIENT)


def usage(client: Any, key: str) -> int:
    return int(client.memory_usage(key, samples=0) or 0)


def describe(client: Any, key: str) -> str:
    return (f"{kind_of(key):<22} {client.type(key):<6} {client.object('encoding', key):<10} "
            f"{usage(client, key):>6} B  ttl {client.ttl(key)}")


def global_sizes(client: Any) -> dict[str, int]:
    return {key: usage(client, key) for key in client.scan_iter(count=1000) if not key.startswith("lb:{U")}


def runner_keys(client: Any, uid: str) -> list[str]:
    return sorted(client.scan_iter(match=f"lb:{{{uid}}}:*", count=1000))


def measure(runners: int, rate: float) -> str:
    logdir = Path(tempfile.mkdtemp(prefix="footprint-"))
    redis, standin = RedisServer(logdir), Standin(logdir)
    app = App("bot.app:app", app_env(standin, redis.url), logdir, name="bot-footprint")
    lines: list[str] = []
    with running(redis, standin, app):
        client = redis.client()
        asyncio.run(loadgen.open_loop(app.url, mix.Schedule(14, "warm"), rate=100, salt="warm"))
        accounting.wait_answered(standin, 14 * 6, timeout=30)
        time.sleep(2.0)
        before_used = int(client.info("memory")["used_memory"])
        before_globals = global_sizes(client)
        schedule = mix.Schedule(runners, "fp")
        standin.reset()
        sent = asyncio.run(loadgen.open_loop(app.url, schedule, rate=rate, salt="fp", max_seconds=3600))
        accounting.wait_answered(standin, sent.acked, timeout=300)
        time.sleep(3.0)  # after-commit hooks (tag index, funnel follow-ups) finish
        used = int(client.info("memory")["used_memory"])
        uids = sorted({uid for uid, _k, _kind, _f in schedule.items})
        transient = sum(usage(client, k) for u in uids for k in runner_keys(client, u)
                        if is_transient(kind_of(k)))
        lines += [f"runners {runners}, events acknowledged {sent.acked}, dbsize {client.dbsize()}",
                  f"used_memory delta per runner: {(used - before_used) / runners:.0f} B "
                  f"(without transient keys: {(used - before_used - transient) / runners:.0f} B)"]
        lines += per_kind(client, uids)
        sample = next(u for u, k, _kind, _f in schedule.items if k == 6)
        lines += ["", f"sample runner {sample}:"] + [describe(client, k) for k in runner_keys(client, sample)]
        lines += ["", "global keys that grew (bytes per runner):"]
        for key, size in sorted(global_sizes(client).items(), key=lambda kv: -kv[1]):
            grown = size - before_globals.get(key, 0)
            if grown > 0:
                lines.append(f"{key:<40} {client.type(key):<6} {client.object('encoding', key):<10} "
                             f"{grown / runners:>8.1f}")
        client.close()
    return "\n".join(lines)


def per_kind(client: Any, uids: list[str]) -> list[str]:
    """Mean MEMORY USAGE of each kind of runner key, over the runners that have one."""
    sizes: dict[str, list[int]] = {}
    for uid in uids:
        for key in runner_keys(client, uid):
            what = kind_of(key)
            if what.startswith(("evt:", "tap:", "fail:")):
                what = what.split(":")[0] + ":*"  # one per event or button: grouped
            sizes.setdefault(what, []).append(usage(client, key))
    out = ["", "runner keys by kind (keys, mean bytes, bytes per runner):"]
    for what, found in sorted(sizes.items(), key=lambda kv: -sum(kv[1])):
        out.append(f"{what:<22} {len(found):>6} {statistics.mean(found):>8.0f} {sum(found) / len(uids):>8.0f}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runners", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=400.0, help="events per second sent")
    args = parser.parse_args()
    print(measure(args.runners, args.rate))


if __name__ == "__main__":
    main()
