"""Phase 6 of ``python -m bench``: a broadcast burst, and the bot's memory.

A segment message went out and 5,000 runners answer it within 5 s: an open loop at 1,000 events/s, one
event per runner (the tap that starts the 1-minute check, item ``k = 1`` of each runner's script in
``bench/mix.py``). Every answer must be sent while its reply token is valid (here: within 30 s of the
webhook), nothing lost or doubled, and ideally nothing pushed instead of replied. Memory: the web process's
RSS after the burst, and an idle bot (web process + its Redis) before it.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bench import accounting, loadgen, mix
from bench.procs import App, RedisServer, Standin, app_env, running

P = loadgen.percentile
TOKEN_LIFE_MS = 30_000


def rss_mb(pid: int) -> float:
    """Resident set size of one process (Linux /proc), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def burst(logdir: Path, *, quick: bool = False) -> str:
    runners, rate = (1000, 500) if quick else (5000, 1000)
    redis, standin = RedisServer(logdir), Standin(logdir)
    app = App("bot.app:app", app_env(standin, redis.url), logdir, name="bot-burst")
    with running(redis, standin, app):
        assert app.proc is not None and redis.proc is not None
        asyncio.run(loadgen.open_loop(app.url, mix.Schedule(14, "bw"), rate=100, salt="bw"))
        time.sleep(2.0)
        idle_web, idle_redis = rss_mb(app.proc.pid), rss_mb(redis.proc.pid)
        standin.reset()
        schedule = mix.Schedule(runners, "burst")
        t0 = time.monotonic()
        res = asyncio.run(loadgen.open_loop(app.url, schedule, rate=rate, salt="burst", start=runners,
                                            count=runners))
        last = accounting.wait_answered(standin, res.acked, timeout=120)
        drain = last - t0
        e2e = standin.stats()["e2e_ms"]
        counts = accounting.count(standin, res.sent, list(zip(res.acked_ids, res.acked_tokens, strict=True)))
        after_web = rss_mb(app.proc.pid)
    late = sum(1 for ms in e2e if ms > TOKEN_LIFE_MS)
    lat = res.latencies_ms
    return "\n".join([
        "## 6. Broadcast burst and memory",
        "",
        f"{runners:,} runners answer a segment message: open loop {rate:,} events/s, one event each (the tap "
        "that starts the check). Drain = first webhook sent → last answer at the stand-in. Handled, "
        "duplicated, lost and pushes counted as in section 4.",
        "",
        "| sent | acked | ack p50 ms | ack p99 ms | ack p99.9 ms | end-to-end p50 ms | end-to-end p99 ms | "
        "end-to-end max ms | answers after 30 s | drain s | handled | duplicated | lost | push fallbacks |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        f"| {res.sent} | {res.acked} | {P(lat, 50):.1f} | {P(lat, 99):.1f} | {P(lat, 99.9):.1f} | "
        f"{P(e2e, 50):.0f} | {P(e2e, 99):.0f} | {P(e2e, 100):.0f} | {late} | {drain:.1f} | {counts.handled} | "
        f"{counts.duplicated} | {counts.lost} | {counts.pushes} |",
        "",
        f"Memory: idle bot after warm-up — web process {idle_web:.0f} MiB + Redis {idle_redis:.0f} MiB = "
        f"{idle_web + idle_redis:.0f} MiB; web process after the burst {after_web:.0f} MiB (RSS).",
        "",
        f"Command: `{app.command}`; load generator: bench/loadgen.py (aiohttp), generator late p99 "
        f"{res.late_ms_p99:.0f} ms.",
    ])
