"""Phase 4 of ``python -m bench``: faults under load — nothing lost, nothing answered twice.

Four faults, each on fresh processes under the same open-loop load: the web process and then the worker
killed (SIGKILL), the web process killed while LINE holds its replies (LINE took them and answers late, so
the bot cannot know they arrived), Redis restarted (append-only file, everysec), and LINE failing (500, then
429, then slow).
What the web process did not acknowledge is sent again afterwards, as LINE redelivers; then every event
is accounted for at the stand-in (bench/accounting.py).
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import accounting, loadgen, mix
from bench.procs import App, RedisServer, Standin, Worker, app_env, running
from bench.scenarios import BOT

RATE = 100


async def _load_with(app_url: str, schedule: mix.Schedule, salt: str, rate: float,
                     actions: list[tuple[float, Any]]) -> loadgen.OpenLoopResult:
    """Open-loop load; each (at_seconds, fn) runs in a thread at that time (a kill, a restart, a fault)."""
    async def timed() -> None:
        t0 = time.monotonic()
        for at, fn in actions:
            await asyncio.sleep(max(0.0, at - (time.monotonic() - t0)))
            await asyncio.to_thread(fn)

    runner = asyncio.create_task(timed())
    res = await loadgen.open_loop(app_url, schedule, rate=rate, salt=salt, max_seconds=600)
    await runner
    return res


def _redeliver(app_url: str, schedule: mix.Schedule, salt: str, res: loadgen.OpenLoopResult
               ) -> loadgen.OpenLoopResult:
    """LINE redelivers what was not acknowledged: send those events again (same webhookEventId)."""
    acked = set(res.acked_ids)
    again = [i for i in range(len(schedule)) if schedule.signed(i, salt)[2] not in acked][: res.sent]
    result = loadgen.OpenLoopResult()
    for i in again:
        one = asyncio.run(loadgen.open_loop(app_url, schedule, rate=1000, salt=salt, start=i, count=1))
        result.sent += one.sent
        result.acked_ids += one.acked_ids
        result.acked_tokens += one.acked_tokens
        for k, v in one.statuses.items():
            result.statuses[k] = result.statuses.get(k, 0) + v
    return result


def _fault_row(name: str, standin: Standin, schedule_len: int, res: loadgen.OpenLoopResult,
               again: loadgen.OpenLoopResult, timeout: float) -> str:
    acked = list(zip(res.acked_ids + again.acked_ids, res.acked_tokens + again.acked_tokens, strict=True))
    accounting.wait_answered(standin, len(dict(acked)), timeout=timeout, settle=5)
    c = accounting.count(standin, res.sent, acked)
    return (f"| {name} | {c.sent} | {res.acked} | {again.sent} | {c.acknowledged} | {c.handled} | "
            f"{c.duplicated} | {c.lost} | {c.pushes} |")


def faults(logdir: Path, *, quick: bool = False) -> str:
    secs = 12 if quick else 20
    line_fault_s = 6 if quick else 12
    standin = Standin(logdir)
    with running(standin):
        rows = [_kill_processes(logdir, standin, secs), kill_during_reply(logdir, standin, secs),
                _restart_redis(logdir, standin, secs), _line_failures(logdir, standin, line_fault_s)]
    return "\n".join([
        "## 4. Faults: nothing lost, nothing twice",
        "",
        f"Open-loop load at {RATE} events/s (the mix above). What the web process did not acknowledge (killed, "
        "Redis away) is sent again afterwards, as LINE redelivers. Handled = the event's answer reached the "
        "stand-in (its reply token consumed, or a push with the retry key derived from its webhookEventId); "
        "duplicated = answered more than once; lost = acknowledged and never answered. RECLAIM_IDLE_MS=1000.",
        "",
        "| fault | sent | acked 1st time | redelivered | acknowledged | handled | duplicated | lost | "
        "answers by push |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
    ])


def _kill_processes(logdir: Path, standin: Standin, secs: int) -> str:
    """SIGKILL the web process, later the worker, in the middle of load."""
    redis = RedisServer(logdir)
    with running(redis):
        env = app_env(standin, redis.url, RECLAIM_IDLE_MS="1000")
        app = App(BOT, env, logdir, name="bot-kill")
        worker = Worker(env, logdir, name="worker-kill")
        with running(app, worker):
            standin.reset()
            schedule = mix.Schedule(RATE * secs // 7, "k")

            def kill_app() -> None:
                app.stop(signal.SIGKILL)
                app.start()

            def kill_worker() -> None:
                worker.stop(signal.SIGKILL)
                worker.start()

            res = asyncio.run(_load_with(app.url, schedule, "k", RATE,
                                         [(secs / 3, kill_app), (2 * secs / 3, kill_worker)]))
            again = _redeliver(app.url, schedule, "k", res)
            return _fault_row("SIGKILL web process, then worker", standin, len(schedule), res, again, 120)


Plan = Callable[[App, RedisServer], list[tuple[float, Callable[[], None]]]]


def _under_load(logdir: Path, standin: Standin, name: str, salt: str, secs: int, plan: Plan, *,
                aof: bool = False, timeout: float = 120) -> str:
    """One row: fresh Redis and web process, open-loop load for ``secs`` with ``plan``'s actions (given the
    app and Redis), what was not acknowledged redelivered, then every event accounted for."""
    redis = RedisServer(logdir, aof=aof)
    with running(redis):
        app = App(BOT, app_env(standin, redis.url, RECLAIM_IDLE_MS="1000"), logdir, name=f"bot-{salt}")
        with running(app):
            standin.reset()
            schedule = mix.Schedule(RATE * secs // 7, salt)
            res = asyncio.run(_load_with(app.url, schedule, salt, RATE, plan(app, redis)))
            again = _redeliver(app.url, schedule, salt, res)
            return _fault_row(name, standin, len(schedule), res, again, timeout)


def kill_during_reply(logdir: Path, standin: Standin, secs: int, *, reply_delay_s: float = 1.5) -> str:
    """SIGKILL the web process (the only consumer) while LINE holds its replies: each reply LINE took in the
    last ``reply_delay_s`` is answered only after the process died, so on restart the bot finds those
    answers still in the outbox, marked as tried."""
    def plan(app: App, _redis: RedisServer) -> list[tuple[float, Callable[[], None]]]:
        def slow_replies() -> None:
            standin.fault("slow", delay=reply_delay_s, paths=("/v2/bot/message/reply",))

        def kill_app() -> None:
            app.stop(signal.SIGKILL)
            standin.clear_faults()
            app.start()

        return [(secs / 2 - reply_delay_s, slow_replies), (secs / 2, kill_app)]

    return _under_load(logdir, standin, "SIGKILL web process while LINE holds its replies", "r", secs, plan)


def _restart_redis(logdir: Path, standin: Standin, secs: int) -> str:
    """Redis restarted (AOF everysec) in the middle of load."""
    def plan(_app: App, redis: RedisServer) -> list[tuple[float, Callable[[], None]]]:
        def restart_redis() -> None:
            redis.stop()
            redis.start()

        return [(secs / 2, restart_redis)]

    return _under_load(logdir, standin, "Redis restart (AOF, everysec)", "a", secs, plan, aof=True)


def _line_failures(logdir: Path, standin: Standin, line_fault_s: int) -> str:
    """LINE answers 500, then 429, then slowly (2 s), each for ``line_fault_s``."""
    def only(mode: str, **spec: Any) -> Callable[[], None]:
        def switch() -> None:
            standin.clear_faults()
            standin.fault(mode, **spec)
        return switch

    plan = [(2.0, only("status", status=500)), (2.0 + line_fault_s, only("status", status=429)),
            (2.0 + 2 * line_fault_s, only("slow", delay=2.0)), (2.0 + 3 * line_fault_s, standin.clear_faults)]
    return _under_load(logdir, standin, f"LINE 500, 429, slow 2 s ({line_fault_s} s each)", "l",
                       3 * line_fault_s + 6, lambda _app, _redis: plan, timeout=240)
