"""The composition root: a running bot assembled from settings and a list of features.

The web app and the worker build the same runtime, so ``uvicorn bot.app:app`` alone is a complete bot and a
worker only adds capacity (and runs scheduled sends). The features arrive as an argument (``bot/plugins.py``
lists them): nothing here imports one.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.config.clinic import Clinic, load_clinic
from bot.config.settings import Settings
from bot.delivery.consumer import Consumer
from bot.delivery.line_client import LineClient
from bot.delivery.outbox import Outbox
from bot.delivery.queue import EventQueue
from bot.extension import Feature, Hooks, Parts, StageFollowUp
from bot.scheduling.scheduler import Scheduler
from bot.store import Store, connect, shared_trip
from bot.webhook.events import Event
from flows.actions import ActionRegistry
from flows.context import Conversation
from flows.engine import Engine
from flows.loader import load_flows
from flows.state import ConversationState
from handlers import core_router
from handlers.actions import actions as core_actions
from handlers.router import Router

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Runtime:
    parts: Parts
    router: Router
    features: tuple[Feature, ...]
    consumers: list[Consumer] = field(default_factory=list)
    background: list[asyncio.Task[None]] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    # The pieces the entry points and tests reach most often.
    @property
    def settings(self) -> Settings:
        return self.parts.settings

    @property
    def store(self) -> Store:
        return self.parts.store

    @property
    def queue(self) -> EventQueue:
        return self.parts.queue

    @property
    def scheduler(self) -> Scheduler:
        return self.parts.scheduler

    @property
    def line(self) -> LineClient:
        return self.parts.line

    @property
    def hooks(self) -> Hooks:
        return self.parts.hooks

    def new_consumer(self, name: str | None = None, *, concurrency: int = 16) -> Consumer:
        settings = self.settings
        return Consumer(
            self.queue, self.parts.outbox, self.handle, name=name, state_ttl_seconds=settings.runner_ttl_seconds,
            reclaim_idle_ms=settings.reclaim_idle_ms, after_commit=self.after_commit, concurrency=concurrency,
        )

    async def handle(self, event: Event, state: ConversationState) -> Conversation | None:
        """Handle one event; ``None`` means nobody handles its kind: it changes nothing and sends nothing."""
        if self.router.handler_for(event) is None:
            log.info("event ignored", extra={"event_type": event.type, "event_id": event.id})
            return None
        conv = Conversation(user_id=event.chat_id, state=state, initial_tags=tuple(state.tags),
                            now=dt.datetime.now(self.parts.clinic.tz), event_id=event.id, deps=self.parts)
        await self.router.dispatch(event, conv)
        return conv

    async def after_commit(self, conv: Conversation) -> None:
        """Run the features' hooks once the consumer stored what this event decided."""
        hooks, redis = self.hooks, self.store.redis
        if conv.forget:
            await self.parts.profiles.forget(conv.user_id)
            for forget in hooks.forget:
                await forget(conv.user_id)
            return
        if hooks.commit_stages:
            follow_ups: list[tuple[StageFollowUp, int, int]] = []
            async with redis.pipeline(transaction=False) as pipe:
                for stage in hooks.commit_stages:
                    start = len(pipe)
                    then = stage(conv, pipe)
                    if then is not None:
                        follow_ups.append((then, start, len(pipe)))
                replies = await shared_trip.execute_queued(redis, pipe) if len(pipe) else []
            for then, start, end in follow_ups:
                await then(replies[start:end])
        for hook in hooks.after_commit:
            await hook(conv)

    def start_worker_loops(self) -> None:
        for loop in self.hooks.loops:
            self.background.append(asyncio.create_task(loop(self.stop)))

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


def action_registries(features: Sequence[Feature]) -> ActionRegistry:
    """The core's actions and those of ``features``, in one registry."""
    registry = ActionRegistry()
    registry.include(core_actions)
    for feature in features:
        registry.include(feature.actions)
    return registry


def build_engine(settings: Settings, clinic: Clinic, enabled: Sequence[Feature], every: Sequence[Feature]
                 ) -> Engine:
    """Check every flow (refusing to start on a mistake) against the actions of *all* features, so a flow
    naming a switched-off feature's action still loads; the engine runs only the enabled ones."""
    flows = load_flows(settings.flows_dir, action_registries(every))
    return Engine(flows, action_registries(enabled), clinic.default_flow)


async def build_runtime(settings: Settings, features: Sequence[Feature] = (), store: Store | None = None
                        ) -> Runtime:
    """``features``: every feature the bot knows (``bot.plugins.FEATURES``); those switched off in the
    settings are checked against but not installed."""
    enabled = tuple(f for f in features if settings.feature_enabled(f.name))
    clinic = load_clinic(settings.clinic_config)
    engine = build_engine(settings, clinic, enabled, features)
    store = store or connect(settings.redis_url, socket_timeout_s=settings.redis_socket_timeout_s,
                             connect_timeout_s=settings.redis_connect_timeout_s)
    line = LineClient(
        access_token=settings.access_token(), base_url=settings.api_base_url(),
        data_base_url=settings.api_data_base_url(), timeout_s=settings.line_api_timeout_s,
        max_attempts=settings.line_api_max_attempts,
    )
    await line.start()
    queue = EventQueue(store, dedupe_seconds=settings.event_dedupe_seconds)
    outbox = Outbox(store, line, reply_token_max_age_s=settings.reply_token_max_age_s)
    scheduler = Scheduler(store, queue, quiet=clinic.quiet_hours, tz=clinic.tz)
    parts = Parts(settings=settings, clinic=clinic, store=store, flows=engine.flows, engine=engine, line=line,
                  queue=queue, outbox=outbox, scheduler=scheduler)
    parts.hooks.loops.append(scheduler.run)
    parts.hooks.forget.append(scheduler.cancel_all)
    router = core_router()
    for feature in enabled:
        router.include(feature.router)
        if feature.install is not None:
            installed = feature.install(parts)
            if installed is not None:
                await installed
    return Runtime(parts=parts, router=router, features=enabled)
