"""``python -m bench.botonly``: section 1 of ``python -m bench`` for the bot alone, several times.

Why: comparing two trees (or a setting) needs several runs of the same measure, alternately, and section 1
spends most of its time on the three baselines. Each run starts a fresh bot (same command, same throwaway
redis-server and stand-in as section 1, flushed between runs), warms it up, runs wrk for 6 s (32 connections;
handled events/s = answers ÷ time from the first request to the last answer) and then the open loop at
300 events/s for 8 s (ack and end-to-end percentiles). Environment variables reach the bot (e.g.
``INLINE_CONSUMER_CONCURRENCY=32 python -m bench.botonly``).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.procs import App, RedisServer, Standin, app_env, running
from bench.scenarios import BOT, P, _closed, _open, _warm


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.botonly", description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    logdir = Path(tempfile.mkdtemp(prefix="botonly-"))
    redis, standin = RedisServer(logdir), Standin(logdir)
    with running(redis, standin):
        for i in range(args.runs):
            redis.client().flushall()
            app = App(BOT, app_env(standin, redis.url), logdir, name=f"bot{i}")
            with running(app):
                _warm(app, f"w{i}")
                closed = _closed(app, standin, logdir, f"t{i}", seconds=6, connections=32, answers=True)
                opened = _open(app, standin, f"o{i}", rate=300, seconds=8, answers=True)
            wrk, res, e2e = closed["wrk"], opened["res"], opened["e2e"]
            print(f"run {i}: wrk acks/s {wrk.rps:.0f}, handled/s {closed['handled_per_s']:.1f} | at 300/s: ack p99 "
                  f"{P(res.latencies_ms, 99):.1f} ms, end-to-end p50 {P(e2e, 50):.1f} / p99 {P(e2e, 99):.1f} / "
                  f"p99.9 {P(e2e, 99.9):.1f} ms", flush=True)
    print(f"process logs: {logdir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
