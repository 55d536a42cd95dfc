"""Booking as the core sees it: the ``booking.*`` actions, the reminder, staff-change and waitlist events,
the 問診's gates, the :class:`~bot.features.booking.service.BookingService` and
:class:`~bot.features.booking.waitlist.Waitlist` (fetched by others with ``maybe(BookingService)``), and the
staff API routes. Installing it also brings bookings made before menus and practitioners up to date."""

from __future__ import annotations

import logging

from bot.extension import Feature, Parts
from bot.features.booking import chat, intake, waiting
from bot.features.booking.api import mount
from bot.features.booking.migrate import migrate
from bot.features.booking.notices import router
from bot.features.booking.service import BookingService
from bot.features.booking.waitlist import Waitlist
from flows.actions import ActionRegistry

log = logging.getLogger(__name__)


def _actions() -> ActionRegistry:
    registry = ActionRegistry()
    for module in (chat, intake, waiting):
        registry.include(module.actions)
    return registry


async def install(parts: Parts) -> None:
    service = BookingService(parts.store, parts.clinic, parts.scheduler)
    waitlist = Waitlist(service, parts.scheduler)
    service.on_freed.append(waitlist.seat_freed)
    parts.provide(service)
    parts.provide(waitlist)
    parts.hooks.forget.append(waitlist.forget)
    parts.add_template_variables(first_visit=parts.clinic.booking.first_visit)
    try:
        await migrate(service)
    except Exception as exc:  # the store is down at start-up (readiness says so): finish before a booking
        log.warning("booking records not brought up to date yet", extra={"error": type(exc).__name__})
        service.unfinished_setup = lambda: migrate(service)


feature = Feature(name="booking", actions=_actions(), router=router, install=install, routes=mount)
