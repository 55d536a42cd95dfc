"""``python -m bench.tailprobe``: where the end-to-end tail at a steady rate comes from.

Starts a throwaway redis-server, the stand-in and the bot (as ``python -m bench`` does), with
``bench/gcprobe/sitecustomize.py`` loaded into the bot and the stand-in so every GC pause of 5 ms or more is
logged; sends an open loop (default 300 events/s × 20 s) and prints the end-to-end and ack percentiles and the
GC pauses of each process. Optionally ``--pyspy`` records the bot with py-spy (a flame graph SVG).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import accounting, loadgen, mix
from bench.procs import ROOT, App, RedisServer, Standin, app_env, running

P = loadgen.percentile
PYSPY = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
QS = (50, 90, 99, 99.9, 100)


def _table(name: str, values: list[float]) -> str:
    cells = " | ".join(f"{P(values, q):.1f}" for q in QS)
    return f"| {name} | {len(values)} | {cells} |"


def _gc_summary(prefix: Path, pids: dict[str, int]) -> list[str]:
    lines = []
    for name, pid in pids.items():
        path = Path(f"{prefix}.{pid}")
        pauses = []
        if path.exists():
            for row in path.read_text().splitlines():
                _t, gen, ms, _n, heap, frozen = row.split("\t")
                pauses.append((int(gen), float(ms), int(heap), int(frozen)))
        worst = sorted(pauses, key=lambda p: -p[1])[:5]
        lines.append(f"- {name}: {len(pauses)} GC pauses ≥ 5 ms; worst (generation, ms, objects in gen 2 "
                     f"after, frozen): {worst}")
    return lines


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process used so far (Linux /proc), to compare CPU per event across trees."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _redis_cpu(redis: RedisServer) -> float:
    """CPU seconds the Redis server used so far (INFO cpu: user + system, main thread and children)."""
    info = redis.client().info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tailprobe", description=__doc__)
    parser.add_argument("--rate", type=float, default=300)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--pyspy", type=Path,
                        help="write a py-spy profile of the bot here (.txt: collapsed stacks, else SVG)")
    args = parser.parse_args(argv)
    logdir = Path(tempfile.mkdtemp(prefix="tailprobe-"))
    gc_log = logdir / "gc"
    probe_path = f"{ROOT / 'bench' / 'gcprobe'}{os.pathsep}{ROOT}"
    os.environ["BENCH_GC_LOG"] = str(gc_log)
    os.environ["PYTHONPATH"] = probe_path  # the stand-in inherits it
    redis, standin = RedisServer(logdir), Standin(logdir)
    with running(redis, standin):
        env = app_env(standin, redis.url, PYTHONPATH=probe_path, BENCH_GC_LOG=str(gc_log))
        app = App("bot.app:app", env, logdir, name="bot")
        with running(app):
            assert app.proc is not None and standin.proc is not None
            asyncio.run(loadgen.open_loop(app.url, mix.Schedule(14, "tw"), rate=100, salt="tw"))
            time.sleep(1.0)
            standin.reset()
            spy = None
            if args.pyspy:
                fmt = "raw" if args.pyspy.suffix == ".txt" else "flamegraph"  # raw: collapsed stacks, greppable
                blocking = [] if os.environ.get("PYSPY_BLOCKING") else ["--nonblocking"]  # exact stacks, slower
                spy = subprocess.Popen([PYSPY, "record", *blocking, "-f", fmt, "-o", str(args.pyspy), "-d",
                                        str(int(args.seconds) + 2), "-p", str(app.proc.pid)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            count = int(args.rate * args.seconds)
            cpu0, redis_cpu0 = cpu_seconds(app.proc.pid), _redis_cpu(redis)
            res = asyncio.run(loadgen.open_loop(app.url, mix.Schedule(count // 7 + 1, "tp"), rate=args.rate,
                                                salt="tp", count=count))
            accounting.wait_answered(standin, res.acked, timeout=60)
            stats = standin.stats()
            e2e = stats["e2e_ms"]
            cpu_ms = (cpu_seconds(app.proc.pid) - cpu0) * 1000 / max(1, len(e2e))
            redis_cpu_ms = (_redis_cpu(redis) - redis_cpu0) * 1000 / max(1, len(e2e))
            if spy is not None:
                spy.wait(timeout=60)
            commands = redis.client().info("commandstats")
            per_event = {k.removeprefix("cmdstat_"): round(v["calls"] / max(1, len(e2e)), 2)
                         for k, v in sorted(commands.items(), key=lambda kv: -kv[1]["calls"])}
            pids = {"bot": app.proc.pid, "stand-in": standin.proc.pid}
            print(f"open loop {args.rate:.0f}/s × {args.seconds:.0f} s: acked {res.acked}/{res.sent}, "
                  f"answered {len(e2e)}, generator late p99 {res.late_ms_p99:.1f} ms; "
                  f"bot CPU {cpu_ms:.2f} ms per answered event, Redis CPU {redis_cpu_ms:.2f} ms; logs {logdir}")
            print("| what | n | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |")
            print("|---|---|---|---|---|---|---|")
            print(_table("ack", res.latencies_ms))
            print(_table("end-to-end", e2e))
            for step in sorted(set(stats["e2e_step"])):
                print(_table(f"end-to-end, step {step}",
                             [ms for ms, k in zip(e2e, stats["e2e_step"], strict=True) if k == step]))
            print("\n".join(_gc_summary(gc_log, pids)))
            print(f"Redis commands per answered event (warm-up included): {per_event}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
