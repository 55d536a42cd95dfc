"""Phase 6 of ``python -m bench``: a broadcast burst, and the bot's memory.

A segment message went out and 5,000 runners answer it within 5 s: an open loop at 1,000 events/s, one
event per runner (the tap that starts the 1-minute check, item ``k = 1`` of each runner's script in
``bench/mix.py``). Every answer must be sent while its reply token is valid (here: within 30 s of the
webhook), nothing lost or doubled, and ideally nothing pushed instead of replied. Memory: the web process's
RSS after the burst, and an idle bot (web process + its Redis) before it.

Run twice: the web process answering in-process (``uvicorn bot.app:app`` alone), and the web process only
accepting (``INLINE_CONSUMERS=0``) while one ``python -m bot worker`` answers — with the consumer out of its
event loop, an acknowledgement no longer waits behind runners' steps.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from bench import accounting, loadgen, mix
from bench.procs import App, RedisServer, Standin, Worker, app_env, running

P = loadgen.percentile
TOKEN_LIFE_MS = 30_000


def rss_mb(pid: int) -> float:
    """Resident set size of one process (Linux /proc), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass(frozen=True)
class BurstRun:
    """One topology's burst: the generator's result, the stand-in's view, and the web process's memory."""

    topology: str
    res: loadgen.OpenLoopResult
    e2e: list[float]
    drain: float
    counts: accounting.Counts
    idle_web: float
    idle_redis: float
    after_web: float
    command: str

    def row(self) -> str:
        lat, e2e = self.res.latencies_ms, self.e2e
        late = sum(1 for ms in e2e if ms > TOKEN_LIFE_MS)
        return (f"| {self.topology} | {self.res.sent} | {self.res.acked} | {P(lat, 50):.1f} | {P(lat, 99):.1f} | "
                f"{P(lat, 99.9):.1f} | {P(e2e, 50):.0f} | {P(e2e, 99):.0f} | {P(e2e, 100):.0f} | {late} | "
                f"{self.drain:.1f} | {self.counts.handled} | {self.counts.duplicated} | {self.counts.lost} | "
                f"{self.counts.pushes} | {self.after_web:.0f} |")


def run_burst(logdir: Path, runners: int, rate: int, *, separate_worker: bool) -> BurstRun:
    """One burst on a fresh Redis; ``separate_worker``: the web process only accepts (``INLINE_CONSUMERS=0``)
    and one ``python -m bot worker`` process answers, as a clinic group expecting bursts would deploy."""
    redis, standin = RedisServer(logdir), Standin(logdir)
    extra = {"INLINE_CONSUMERS": "0"} if separate_worker else {}
    env = app_env(standin, redis.url, **extra)
    name = "bot-burst-split" if separate_worker else "bot-burst"
    app = App("bot.app:app", env, logdir, name=name)
    workers = [Worker(env, logdir, name=f"{name}-worker")] if separate_worker else []
    with running(redis, standin, app, *workers):
        assert app.proc is not None and redis.proc is not None
        asyncio.run(loadgen.open_loop(app.url, mix.Schedule(14, "bw"), rate=100, salt="bw"))
        accounting.wait_answered(standin, 1, timeout=60)  # a separate worker may still be importing
        time.sleep(2.0)
        idle_web, idle_redis = rss_mb(app.proc.pid), rss_mb(redis.proc.pid)
        standin.reset()
        schedule = mix.Schedule(runners, "burst")
        t0 = time.monotonic()
        res = asyncio.run(loadgen.open_loop(app.url, schedule, rate=rate, salt="burst", start=runners,
                                            count=runners))
        last = accounting.wait_answered(standin, res.acked, timeout=120)
        counts = accounting.count(standin, res.sent, list(zip(res.acked_ids, res.acked_tokens, strict=True)))
        command = app.command + (" with `INLINE_CONSUMERS=0` + `python -m bot worker`" if separate_worker else "")
        return BurstRun("web + 1 worker process" if separate_worker else "one web process", res,
                        standin.stats()["e2e_ms"], last - t0, counts, idle_web, idle_redis,
                        rss_mb(app.proc.pid), command)


def burst(logdir: Path, *, quick: bool = False) -> str:
    runners, rate = (1000, 500) if quick else (5000, 1000)
    runs = [run_burst(logdir, runners, rate, separate_worker=split) for split in (False, True)]
    one = runs[0]
    return "\n".join([
        "## 6. Broadcast burst and memory",
        "",
        f"{runners:,} runners answer a segment message: open loop {rate:,} events/s, one event each (the tap "
        "that starts the check). Drain = first webhook sent → last answer at the stand-in. Handled, "
        "duplicated, lost and pushes counted as in section 4. Two deployments: the web process answering "
        "in-process (the default), and the web process only accepting while a `python -m bot worker` process "
        "answers (on this machine both share the same 2 cores with Redis, the stand-in and the generator).",
        "",
        "| deployment | sent | acked | ack p50 ms | ack p99 ms | ack p99.9 ms | end-to-end p50 ms | "
        "end-to-end p99 ms | end-to-end max ms | answers after 30 s | drain s | handled | duplicated | lost | "
        "push fallbacks | web RSS after MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        *[run.row() for run in runs],
        "",
        f"Memory: idle bot after warm-up — web process {one.idle_web:.0f} MiB + Redis {one.idle_redis:.0f} MiB = "
        f"{one.idle_web + one.idle_redis:.0f} MiB; web process after the burst {one.after_web:.0f} MiB (RSS).",
        "",
        "Commands: " + "; ".join(f"`{run.command}`" for run in runs) + "; load generator: bench/loadgen.py "
        "(aiohttp), generator late p99 " + ", ".join(f"{run.res.late_ms_p99:.0f}" for run in runs) + " ms.",
    ])
