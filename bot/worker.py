"""``python -m bot worker``: more consumers, and the scheduled sends (reminders, check-ins).

Workers are never needed for a runner to get an answer — the web process consumes too — but they add
capacity and run the loops registered in ``Parts.hooks.loops`` (the scheduler). Stop with SIGTERM/SIGINT:
in-flight runners are finished; notices not yet taken stay in the stream for another consumer.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from bot.config.settings import Settings
from bot.ops import heap
from bot.ops.logs import configure_logging
from bot.plugins import FEATURES
from bot.runtime import build_runtime

log = logging.getLogger(__name__)


async def run_worker(settings: Settings, consumers: int = 2, metrics_port: int | None = None) -> None:
    configure_logging(settings.log_level, json_logs=settings.log_json,
                      secrets=[settings.channel_secret(), settings.access_token()])
    if settings.redis_url is None:
        raise SystemExit("a worker needs REDIS_URL: the embedded store lives inside the web process")
    runtime = await build_runtime(settings, FEATURES)
    if metrics_port:  # a worker makes most LINE calls; without this its counters would never be scraped
        from prometheus_client import start_http_server

        start_http_server(metrics_port)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, runtime.stop.set)
    await runtime.queue.ensure_group()
    runtime.start_consumers(consumers)
    runtime.start_worker_loops()
    heap.settle()  # the collector no longer walks what start-up built (bot/ops/heap.py)
    log.info("worker started", extra={"consumers": consumers, "loops": len(runtime.hooks.loops)})
    await runtime.stop.wait()
    await runtime.shutdown()
    log.info("worker stopped")
