"""Phases 1–3 and 5 of ``python -m bench`` (phase 4, faults, is bench/faults.py); each returns a Markdown section."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings

from bench import accounting, loadgen, mix
from bench import fuzz as fuzzing
from bench.procs import App, RedisServer, Standin, Worker, app_env, running
from bot.store import keys

P = loadgen.percentile
BOT = "bot.app:app"
BARE = "bench.baselines.bare:app"
ECHO = "bench.baselines.echo:app"
RAW = "bench.baselines.raw:app"


def _fmt(x: float) -> str:
    return f"{x:.1f}" if x == x else "n/a"


def _warm(app: App, salt: str) -> None:
    """A few events first, so imports, connections and caches are warm in every target alike."""
    asyncio.run(loadgen.open_loop(app.url, mix.Schedule(14, salt), rate=100, salt=salt))
    time.sleep(1.0)


def _closed(app: App, standin: Standin, logdir: Path, salt: str, *, seconds: int, connections: int,
            answers: bool, bodies_per_s: int = 5000) -> dict[str, Any]:
    """wrk at full speed; for an app that answers later (the bot), wait for the answers to count them."""
    schedule = mix.Schedule(max(1, seconds * bodies_per_s // 7), salt)
    path = logdir / f"bodies-{salt}.txt"
    loadgen.write_bodies(path, schedule, salt)
    standin.reset()
    t0 = time.monotonic()
    result = loadgen.wrk(app.url, path, seconds=seconds, connections=connections)
    unique = min(result.requests, len(schedule)) - result.non_2xx
    handled_rate = float("nan")
    if answers:
        last = accounting.wait_answered(standin, unique, timeout=180)
        stats = standin.stats()
        answered = int(stats["replies"]) + int(stats["pushes"])
        handled_rate = answered / max(1e-9, last - t0)
    path.unlink()
    return {"wrk": result, "handled_per_s": handled_rate}


def _open(app: App, standin: Standin, salt: str, *, rate: float, seconds: float, answers: bool
          ) -> dict[str, Any]:
    schedule = mix.Schedule(max(1, int(rate * seconds) // 7 + 1), salt)
    standin.reset()
    res = asyncio.run(loadgen.open_loop(app.url, schedule, rate=rate, salt=salt, count=int(rate * seconds)))
    e2e: list[float] = []
    if answers:
        accounting.wait_answered(standin, res.acked, timeout=60)
        e2e = standin.stats()["e2e_ms"]
    return {"res": res, "e2e": e2e}


# --- 1. throughput -------------------------------------------------------------------------------------------
def throughput(logdir: Path, *, quick: bool = False) -> str:
    secs, conns, rate, open_secs = (4, 16, 300, 5) if quick else (6, 32, 300, 8)
    rows: list[str] = []
    cmds: list[str] = []
    redis = RedisServer(logdir)
    standin = Standin(logdir)
    figures: dict[str, dict[str, Any]] = {}
    with running(redis, standin):
        for name, target in (("bare FastAPI 200", BARE), ("line-bot-sdk fastapi-echo", ECHO),
                             ("raw reply (FastAPI + aiohttp)", RAW), ("this bot", BOT)):
            redis.client().flushall()
            app = App(target, app_env(standin, redis.url if target == BOT else None), logdir,
                      name=target.split(":")[0].split(".")[-1])
            with running(app):
                _warm(app, f"w{len(rows)}")
                closed = _closed(app, standin, logdir, f"t{len(rows)}", seconds=secs, connections=conns,
                                 answers=target != BARE)
                opened = _open(app, standin, f"o{len(rows)}", rate=rate, seconds=open_secs,
                               answers=target != BARE)
            w, o = closed["wrk"], opened["res"]
            handled = w.rps if target in (ECHO, RAW) else closed["handled_per_s"]
            figures[name] = {"rps": w.rps, "handled": handled}
            rows.append(
                f"| {name} | {w.rps:.0f} | {_fmt(handled)} | {w.p50_ms:.1f} | {w.p99_ms:.1f} | {w.non_2xx} | "
                f"{o.acked}/{o.sent} | {_fmt(P(o.latencies_ms, 50))} | {_fmt(P(o.latencies_ms, 99))} | "
                f"{_fmt(P(opened['e2e'], 50))} | {_fmt(P(opened['e2e'], 99))} | {_fmt(P(opened['e2e'], 99.9))} |")
            cmds.append(f"- {name}: `{app.command}`; `{w.command}`; open loop {rate}/s × {open_secs} s "
                        f"(bench/loadgen.py, aiohttp)")
    echo, bot, bare = figures["line-bot-sdk fastapi-echo"], figures["this bot"], figures["bare FastAPI 200"]
    raw = figures["raw reply (FastAPI + aiohttp)"]
    return "\n".join([
        "## 1. Throughput and latency (signed webhook → queue → engine → Redis → reply at the stand-in)",
        "",
        f"Mix per runner: follow, start, where, feel, safety, timing (result with video), then a booking tap or "
        f"unknown text (1 in 10 runners: a red flag, then unknown text). Booking: the chat booking service "
        f"answers the 「相談を予約する」 tap if it is wired in this tree. wrk: {conns} connections, {secs} s, "
        f"1 event per request, every body unique. Open loop: {rate} events/s, {open_secs} s.",
        "",
        "| target | wrk acks/s | handled events/s | wrk p50 ms | wrk p99 ms | non-2xx | open-loop acked "
        f"| ack p50 ms @{rate}/s | ack p99 ms @{rate}/s | end-to-end p50 ms | end-to-end p99 ms "
        "| end-to-end p99.9 ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Ratios (same run): bot acks/s ÷ echo = {bot['rps'] / echo['rps']:.2f}; bot handled/s ÷ echo = "
        f"{bot['handled'] / echo['handled']:.2f}; bot handled/s ÷ raw reply = "
        f"{bot['handled'] / raw['handled']:.2f}; raw reply ÷ echo = {raw['handled'] / echo['handled']:.2f}; "
        f"bot acks/s ÷ bare = {bot['rps'] / bare['rps']:.2f}; "
        f"echo ÷ bare = {echo['rps'] / bare['rps']:.2f}.",
        "",
        "'handled events/s' for the bot: answers delivered at the stand-in ÷ time from the first request to the "
        "last answer (the queue drains after wrk stops); for echo and raw reply it equals their acks (they reply "
        "inline). "
        "End-to-end: webhook sent → reply received by the stand-in (the send time travels in the reply token).",
        "",
        "Commands:",
        *cmds,
    ])


# --- 2. cost growth ------------------------------------------------------------------------------------------
def _template(client: Any, uid: str) -> list[tuple[str, bytes, int]]:
    """The stored keys of one runner who went through the check (a realistic state), as DUMP payloads.
    Transient keys (event ids, tap guards, lock, inbox, outbox) are not part of a stored runner."""
    found = []
    for key in client.scan_iter(match=f"lb:{{{uid}}}:*", count=1000):
        what = key.split(":", 2)[2]
        if what.startswith(("evt:", "tap:")) or what in {"lock", "inbox", "outbox"}:
            continue
        payload = client.dump(key)
        found.append((what, payload, max(0, client.pttl(key))))
    return found


def _seed(redis: RedisServer, template: list[tuple[str, bytes, int]], start: int, stop: int) -> None:
    import redis as redis_lib

    raw = redis_lib.Redis(port=redis.port)
    batch = 5000
    for lo in range(start, stop, batch):
        with raw.pipeline(transaction=False) as pipe:
            for n in range(lo, min(stop, lo + batch)):
                uid = mix.user_id(n, "seed")
                for what, payload, ttl in template:
                    pipe.restore(f"lb:{{{uid}}}:{what}", ttl, payload, replace=True)
            pipe.execute()
    raw.close()


def growth(logdir: Path, *, quick: bool = False) -> str:
    sizes = (1_000, 10_000) if quick else (1_000, 100_000, 1_000_000)
    secs = 4 if quick else 5
    redis = RedisServer(logdir)
    standin = Standin(logdir)
    rows = []
    app = App(BOT, app_env(standin, redis.url), logdir, name="bot-growth")
    with running(redis, standin, app):
        _warm(app, "gw")
        client = redis.client()
        sample = mix.Schedule(14, "gw")
        uid = next(u for u, k, _kind, _f in sample.items if k == 6)
        template = _template(client, uid)
        names = ", ".join(f"`lb:{{U…}}:{what}`" for what, _p, _t in template)
        base = int(client.info("memory")["used_memory"])
        seeded = 0
        for size in sizes:
            t0 = time.monotonic()
            _seed(redis, template, seeded, size)
            seed_s = time.monotonic() - t0
            seeded = size
            used = int(client.info("memory")["used_memory"])
            per = (used - base) / size
            closed = _closed(app, standin, logdir, f"g{size}", seconds=secs, connections=32, answers=True)
            w = closed["wrk"]
            rows.append(f"| {size:,} | {client.dbsize():,} | {used / 2**20:.1f} | {per:.0f} | {w.rps:.0f} | "
                        f"{_fmt(closed['handled_per_s'])} | {w.p99_ms:.1f} | {seed_s:.1f} |")
        client.close()
    return "\n".join([
        "## 2. Cost growth with stored runners",
        "",
        f"Seeded with pipelined RESTOREs of a real runner's keys after the check ({names}; their TTLs kept) on a "
        f"throwaway redis-server; then wrk, {secs} s, 32 connections, new runners (the mix above). Bytes per "
        "runner = (INFO used_memory − before seeding) ÷ runners.",
        "",
        "| stored runners | keys | used_memory MiB | bytes/runner | acks/s | handled events/s | ack p99 ms | "
        "seed s |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Command: `{app.command}`, wrk as in 1.",
    ])


# --- 3. scale-out --------------------------------------------------------------------------------------------
def scaleout(logdir: Path, *, quick: bool = False) -> str:
    secs = 4 if quick else 6
    # A backlog that takes one worker several seconds: the drain rate is timed to the answer-poll's 0.2 s.
    fill = 1400 if quick else 11200
    redis = RedisServer(logdir)
    standin = Standin(logdir)
    rows, rows_q, cmds = [], [], []
    with running(redis, standin):
        for workers in (1, 2):
            redis.client().flushall()
            app = App(BOT, app_env(standin, redis.url), logdir, workers=workers, name=f"bot-w{workers}")
            with running(app):
                _warm(app, f"sw{workers}")
                closed = _closed(app, standin, logdir, f"s{workers}", seconds=secs, connections=32, answers=True)
            w = closed["wrk"]
            rows.append(f"| {workers} | {w.rps:.0f} | {_fmt(closed['handled_per_s'])} | {w.p50_ms:.1f} | "
                        f"{w.p99_ms:.1f} |")
            cmds.append(f"- `{app.command}`")
        for queue_workers in (1, 2):
            redis.client().flushall()
            env = app_env(standin, redis.url, INLINE_CONSUMERS="0", INLINE_SCHEDULER="false")
            app = App(BOT, env, logdir, name=f"bot-q{queue_workers}")
            with running(app):
                schedule = mix.Schedule(fill // 7, f"q{queue_workers}")
                standin.reset()
                res = asyncio.run(loadgen.open_loop(app.url, schedule, rate=2000, salt=f"q{queue_workers}"))
                workers_ = [Worker(env, logdir, name=f"worker-q{queue_workers}-{i}") for i in range(queue_workers)]
                with running(*workers_):
                    # Timed from the moment every worker reads the queue: a worker still importing (a second
                    # or two on a busy machine) while the first drains is start-up, not scale-out.
                    before = _when_all_read(redis, 2 * queue_workers, standin)
                    t0 = time.monotonic()
                    last = accounting.wait_answered(standin, res.acked, timeout=180, settle=5)
                answered = _answered(standin)
                rows_q.append(f"| {queue_workers} | {res.acked} | {answered} | {before} | {last - t0:.1f} | "
                              f"{(answered - before) / max(1e-9, last - t0):.0f} |")
        cmds.append("- queue workers: `INLINE_CONSUMERS=0 INLINE_SCHEDULER=false uvicorn bot.app:app`, the backlog "
                    "posted first (2,000 events/s), then N × `python -m bot worker --consumers 2` started; drained "
                    "events/s = answers from the moment every worker's consumers read the queue (XINFO CONSUMERS) "
                    "to the last answer ÷ that time (start-up excluded).")
    return "\n".join([
        "## 3. Scale-out on this 2-core machine",
        "",
        "Two uvicorn workers or two queue workers compete for the same 2 cores with Redis, the stand-in and the "
        "load generator: on this machine a second process can at best use what is left, so the figures show "
        "that scaling out works and costs nothing in correctness, not what a second machine would add.",
        "",
        "| uvicorn workers | acks/s | handled events/s | p50 ms | p99 ms |",
        "|---|---|---|---|---|",
        *rows,
        "",
        "| queue worker processes | backlog events | answered | answered before all read | drain s | "
        "drained events/s |",
        "|---|---|---|---|---|---|",
        *rows_q,
        "",
        "Commands:",
        *cmds,
    ])


def _answered(standin: Standin) -> int:
    stats = standin.stats()
    return int(stats["replies"]) + int(stats["pushes"])


def _when_all_read(redis: RedisServer, consumers: int, standin: Standin) -> int:
    """Wait until ``consumers`` consumers have read the queue; the answers sent by then."""
    client = redis.client()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if len(client.xinfo_consumers(keys.EVENT_STREAM, keys.CONSUMER_GROUP)) >= consumers:
                break
        except Exception:  # NOGROUP: no worker has made the group yet
            pass
        time.sleep(0.02)
    return _answered(standin)


# --- 5. bad input --------------------------------------------------------------------------------------------
def fuzz(logdir: Path, *, quick: bool = False) -> str:
    n_unsigned = 300 if quick else 5_000
    n_signed = 300 if quick else 5_000
    redis = RedisServer(logdir)
    standin = Standin(logdir)
    app = App(BOT, app_env(standin, redis.url), logdir, name="bot-fuzz")
    statuses: dict[str, dict[int, int]] = {"unsigned": {}, "signed": {}}
    with running(redis, standin, app), httpx.Client(base_url=app.url, timeout=10) as client:
        standin.reset()

        def run(kind: str, signed: bool, n: int) -> None:
            @settings(max_examples=n, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            @given(fuzzing.cases(signed=signed))
            def prop(case: tuple[str, bytes, dict[str, str]]) -> None:
                status = fuzzing.post(client, case[1], case[2])
                statuses[kind][status] = statuses[kind].get(status, 0) + 1
                assert status < 500, (status, case)

            prop()

        failures = []
        for kind, signed, n in (("unsigned", False, n_unsigned), ("signed", True, n_signed)):
            try:
                run(kind, signed, n)
            except AssertionError as exc:
                failures.append(f"{kind}: {str(exc)[:300]}")
            if kind == "unsigned":
                time.sleep(1.0)
                after_unsigned = standin.stats()
                requests = httpx.get(f"{standin.base_url}/_standin/requests", timeout=10).json()["requests"]
        time.sleep(2.0)
        alive = app.proc is not None and app.proc.poll() is None
        standin.reset()
        check = mix.Schedule(1, "alive")
        res = asyncio.run(loadgen.open_loop(app.url, check, rate=5, salt="alive", count=1))
        answered = accounting.wait_answered(standin, 1, timeout=10) and standin.stats()["replies"]
        admin = _admin_paths(app.url, quick)
    five = {k: sum(v for s, v in d.items() if s >= 500) for k, d in statuses.items()}
    return "\n".join([
        "## 5. Bad input",
        "",
        f"hypothesis ({', '.join(f'{k}: {sum(d.values())} cases' for k, d in statuses.items())}; bodies: webhook-"
        "shaped JSON with odd fields, any JSON, any bytes, any text; headers: signature right / wrong secret / "
        "missing / junk, several Content-Types) against the running bot over HTTP.",
        "",
        "| check | result |",
        "|---|---|",
        f"| statuses, unsigned | {dict(sorted(statuses['unsigned'].items()))} |",
        f"| statuses, signed | {dict(sorted(statuses['signed'].items()))} |",
        f"| 5xx | {five} |",
        f"| calls to LINE after the unsigned cases | {len(requests)} (answers {after_unsigned['replies']}) |",
        f"| bot process alive after all cases | {alive} |",
        f"| a runner's follow answered after the fuzzing | {bool(res.acked and answered)} |",
        f"| hypothesis failures | {failures or 'none'} |",
        f"| schemathesis (admin API) | {admin} |",
    ])


def _admin_paths(url: str, quick: bool = False) -> str:
    """schemathesis on every ``/admin/api/*`` operation, with and without the token (bench/schemathesis_admin.py)."""
    from bench import schemathesis_admin

    try:
        res = schemathesis_admin.run(url, max_examples=20 if quick else 200)
    except subprocess.TimeoutExpired:
        return "schemathesis timed out"
    if "error" in res:
        return str(res["error"])
    auth, anon = res["with_token"], res["without_token"]
    return (f"{len(res['operations'])} operations; with the token: {auth['requests']} requests, exit "
            f"{auth['exit']}, statuses {auth['statuses']}; without: {anon['requests']} requests, exit "
            f"{anon['exit']}, statuses {anon['statuses']}")
