"""Booking as the core sees it: the ``booking.*`` actions, the reminder and staff-decision events, the
:class:`~bot.features.booking.service.BookingService` (fetched by others with ``need(BookingService)``) and the
staff API routes."""

from __future__ import annotations

from bot.extension import Feature, Parts
from bot.features.booking.api import mount
from bot.features.booking.chat import actions
from bot.features.booking.notices import router
from bot.features.booking.service import BookingService


def install(parts: Parts) -> None:
    parts.provide(BookingService(parts.store, parts.clinic, parts.scheduler))
    parts.add_template_variables(first_visit=parts.clinic.booking.first_visit)


feature = Feature(name="booking", actions=actions, router=router, install=install, routes=mount)
