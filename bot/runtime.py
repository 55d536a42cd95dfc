"""Assembling a running bot from settings: store, flows, engine, LINE client, queue, consumers.

The web app and the worker build the same runtime, so ``uvicorn bot.app:app`` alone is a complete bot and a
worker only adds capacity (and runs scheduled sends).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from bot.clinic import load_clinic
from bot.consumer import Consumer
from bot.events import Event
from bot.line_client import LineClient
from bot.outbox import Outbox
from bot.plugins import INSTALLERS  # the services (booking, follow-ups...) and the actions they bring
from bot.queue import EventQueue
from bot.scheduling import Scheduler, scheduler_loop
from bot.services import Services
from bot.settings import Settings
from bot.store import Store, connect, keys
from flows.actions import actions
from flows.context import Conversation
from flows.engine import Engine
from flows.loader import load_flows
from flows.state import ConversationState
from handlers import handle_event

log = logging.getLogger(__name__)

#: What a commit stage gets back: the replies to the commands it queued, in order.
StageFollowUp = Callable[[list[Any]], Awaitable[object]]
#: A commit hook that queues its Redis commands into the pipeline shared by all stages (see ``commit_stages``);
#: it may return a follow-up to run with its replies (a read whose answer decides a further write).
CommitStage = Callable[[Conversation, Any], StageFollowUp | None]


@dataclass(slots=True)
class Runtime:
    settings: Settings
    store: Store
    services: Services
    line: LineClient
    queue: EventQueue
    outbox: Outbox
    scheduler: Scheduler
    consumers: list[Consumer] = field(default_factory=list)
    background: list[asyncio.Task[None]] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    #: Run after a runner is forgotten (unfollow, 「データ削除」): delete what other services keep.
    forget_hooks: list[Callable[[str], Awaitable[object]]] = field(default_factory=list)
    #: Run after an event's new state is stored (not for a forgotten runner): follow-ups, counters, indexes.
    commit_hooks: list[Callable[[Conversation], Awaitable[object]]] = field(default_factory=list)
    #: Commit hooks that only queue Redis commands: all of them go in one pipeline, one round trip per event
    #: (they run on the consumer's hot path), before the ``commit_hooks``.
    commit_stages: list[CommitStage] = field(default_factory=list)
    #: Long-running loops a worker runs (the scheduler); the web process runs them only in local mode.
    worker_loops: list[Callable[[Runtime], Coroutine[Any, Any, None]]] = field(default_factory=list)

    def new_consumer(self, name: str | None = None, *, concurrency: int = 16) -> Consumer:
        return Consumer(
            self.queue, self.outbox, self.handle, name=name,
            state_ttl_seconds=self.settings.runner_ttl_seconds,
            reclaim_idle_ms=self.settings.reclaim_idle_ms, after_commit=self.after_commit,
            concurrency=concurrency,
        )

    async def handle(self, event: Event, state: ConversationState | None = None) -> Conversation | None:
        return await handle_event(self.services, event, state)

    async def after_commit(self, conv: Conversation) -> None:
        if conv.forget:
            await self.store.redis.delete(keys.profile(conv.user_id))
            for hook in self.forget_hooks:
                await hook(conv.user_id)
            return
        if self.commit_stages:
            follow_ups: list[tuple[StageFollowUp, int, int]] = []
            async with self.store.redis.pipeline(transaction=False) as pipe:
                for stage in self.commit_stages:
                    start = len(pipe)
                    then = stage(conv, pipe)
                    if then is not None:
                        follow_ups.append((then, start, len(pipe)))
                replies = await pipe.execute() if len(pipe) else []
            for then, start, end in follow_ups:
                await then(replies[start:end])
        for commit_hook in self.commit_hooks:
            await commit_hook(conv)

    def start_worker_loops(self) -> None:
        for make_loop in self.worker_loops:
            self.background.append(asyncio.create_task(make_loop(self)))

    def start_consumers(self, count: int, *, concurrency: int = 16) -> None:
        """``concurrency``: runners each consumer drains at once (the web process passes a smaller number)."""
        for _ in range(count):
            consumer = self.new_consumer(concurrency=concurrency)
            self.consumers.append(consumer)
            self.background.append(asyncio.create_task(consumer.run(self.stop), name=consumer.name))

    async def shutdown(self) -> None:
        """Finish what is in hand, then close connections."""
        self.stop.set()
        self.queue.wake.set()
        if self.background:
            _done, pending = await asyncio.wait(self.background, timeout=30)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self.line.close()
        await self.store.close()


def build_services(settings: Settings, store: Store) -> Services:
    """Check the clinic file and every flow (refusing to start on a mistake) and wire the engine."""
    clinic = load_clinic(settings.clinic_config)
    flows = load_flows(settings.flows_dir, actions)
    engine = Engine(flows, actions, clinic.default_flow)
    return Services(settings=settings, store=store, clinic=clinic, flows=flows, engine=engine)


async def build_runtime(settings: Settings, store: Store | None = None) -> Runtime:
    store = store or connect(settings.redis_url)
    services = build_services(settings, store)
    line = LineClient(
        access_token=settings.access_token(), base_url=settings.api_base_url(),
        data_base_url=settings.api_data_base_url(), timeout_s=settings.line_api_timeout_s,
        max_attempts=settings.line_api_max_attempts,
    )
    await line.start()
    queue = EventQueue(store, dedupe_seconds=settings.event_dedupe_seconds)
    outbox = Outbox(store, line, reply_token_max_age_s=settings.reply_token_max_age_s)
    scheduler = Scheduler(store, queue, quiet=services.clinic.quiet_hours, tz=services.clinic.tz)
    runtime = Runtime(settings=settings, store=store, services=services, line=line, queue=queue, outbox=outbox,
                      scheduler=scheduler)
    runtime.worker_loops.append(scheduler_loop)
    runtime.forget_hooks.append(scheduler.cancel_all)
    for install in INSTALLERS:
        result = install(runtime)
        if result is not None:
            await result
    return runtime
