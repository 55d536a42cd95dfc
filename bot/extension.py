"""The one extension point: what a feature offers the core (:class:`Feature`) and what it gets (:class:`Parts`).

Like arq's ``WorkerSettings`` and aiogram's routers, the core takes functions and registries from its
features and never imports them. A feature (booking, follow-ups, the dashboard, the simulator) is one
``Feature`` value; ``bot/plugins.py`` lists them, and the runtime builds the bot in this order:

1. the core's pieces (store, clinic, LINE client, queue, outbox, scheduler);
2. every enabled feature's ``actions`` are included into the engine's registry, and the flows are loaded
   (checked against the actions of *all* features, so a switched-off feature's buttons are left out
   rather than refused);
3. the engine and :class:`Parts`;
4. each enabled feature's ``install(parts)``: it provides its services (``parts.provide``) and registers
   its hooks (``parts.hooks``); its ``router`` joins the core's handlers.

Web routes are added when the app is made (``routes(app, settings)``), before the lifespan builds the parts;
a route reaches the parts per request through :func:`bot.web.parts.parts_of`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from bot.config.clinic import Clinic
from bot.config.settings import Settings
from bot.delivery.line_client import LineClient
from bot.delivery.outbox import Outbox
from bot.delivery.profiles import Profiles
from bot.delivery.queue import EventQueue
from bot.scheduling.scheduler import Scheduler
from bot.store import Store
from bot.store.taps import remember_tap
from flows.actions import ActionRegistry
from flows.context import Conversation
from flows.engine import Engine
from flows.loader import FlowSet
from flows.ports import VideoLink
from handlers.router import Router

if TYPE_CHECKING:
    from fastapi import FastAPI

T = TypeVar("T")

#: What a commit stage gets back: the replies to the commands it queued, in order.
StageFollowUp = Callable[[list[Any]], Awaitable[object]]
#: A commit hook that only queues Redis commands into the pipeline all stages share (one round trip per
#: event, on the consumer's hot path); it may return a follow-up to run with its replies.
CommitStage = Callable[[Conversation, Any], StageFollowUp | None]
#: A long-running loop a worker runs until the event is set.
Loop = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


@dataclass(slots=True)
class Hooks:
    """Where features hook into the pipeline; the runtime runs them, in the order registered."""

    #: After an event's new state is stored (not for a forgotten runner), in one shared pipeline.
    commit_stages: list[CommitStage] = field(default_factory=list)
    #: After the commit stages: hooks that need their own reads and writes (scheduling check-ins).
    after_commit: list[Callable[[Conversation], Awaitable[object]]] = field(default_factory=list)
    #: After a runner is forgotten (block, 「データ削除」): delete what the feature keeps about them.
    forget: list[Callable[[str], Awaitable[object]]] = field(default_factory=list)
    #: Loops a worker runs (the web process too, with ``INLINE_SCHEDULER``).
    loops: list[Loop] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Feature:
    """One switchable part of the bot, as the core sees it."""

    name: str
    #: Flow actions it brings (``booking.start``...).
    actions: ActionRegistry = field(default_factory=ActionRegistry)
    #: Handlers of the bot-made events it makes (``x-reminder``) and gates in front of runner events.
    router: Router = field(default_factory=Router)
    #: Called once the core is built: provide services, register hooks. May be async.
    install: Callable[[Parts], Awaitable[None] | None] | None = None
    #: Adds its web routes to the app (called when the app is made).
    routes: Callable[[FastAPI, Settings], None] | None = None


class Parts:
    """The narrow interface a feature receives, and what every conversation reaches as ``conv.deps``.

    It implements :class:`flows.ports.Deps`; services are found by their type (``need(BookingService)``),
    so a feature that uses another's service imports its type, never the runtime.
    """

    def __init__(self, *, settings: Settings, clinic: Clinic, store: Store, flows: FlowSet, engine: Engine,
                 line: LineClient, queue: EventQueue, outbox: Outbox, scheduler: Scheduler) -> None:
        self.settings = settings
        self.clinic = clinic
        self.store = store
        self.flows = flows
        self.engine = engine
        self.line = line
        self.queue = queue
        self.outbox = outbox
        self.scheduler = scheduler
        self.profiles = Profiles(store, line, ttl_seconds=settings.runner_ttl_seconds)
        self.hooks = Hooks()
        self._services: dict[type, object] = {}
        self._variables: dict[str, str] = {
            "clinic_name": clinic.name, "clinic_address": clinic.address, "clinic_phone": clinic.phone,
            "clinic_access": clinic.access, "clinic_price": clinic.price, "clinic_url": clinic.url or "",
        }
        self._video_link: Callable[[str], VideoLink] | None = None
        for service in (settings, clinic, store, flows, engine, line, queue, outbox, scheduler, self.profiles):
            self.provide(service)

    # --- what features call at install -----------------------------------------------------------------

    def provide(self, service: object, as_type: type | None = None) -> None:
        kind = as_type or type(service)
        if kind in self._services and self._services[kind] is not service:
            raise ValueError(f"two services provide {kind.__name__}")
        self._services[kind] = service

    def add_template_variables(self, **variables: str) -> None:
        self._variables.update(variables)

    def set_video_link(self, factory: Callable[[str], VideoLink]) -> None:
        """Per runner, how a video card links to its video (follow-ups count taps through a redirect)."""
        self._video_link = factory

    # --- flows.ports.Deps ------------------------------------------------------------------------------

    def need(self, kind: type[T]) -> T:
        found = self.maybe(kind)
        if found is None:
            raise LookupError(f"nothing provides {kind.__name__} (is its feature switched off?)")
        return found

    def maybe(self, kind: type[T]) -> T | None:
        found = self._services.get(kind)
        return found if isinstance(found, kind) else None

    def template_variables(self) -> Mapping[str, str]:
        return self._variables

    def video_link(self, user_id: str) -> VideoLink:
        if self._video_link is not None:
            return self._video_link(user_id)
        return lambda _name, video: str(video.url)

    async def remember_tap(self, user_id: str, data: str, event_id: str, ttl_seconds: int) -> bool:
        return await remember_tap(self.store.redis, user_id, data, event_id, ttl_seconds)
