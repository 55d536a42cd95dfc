"""Booking consultations from the chat, with a staff API, an iCalendar feed and day-before reminders.

Importing this package registers the chat actions (``booking.*``); ``install`` (listed in bot/plugins.py) puts the
:class:`~bot.booking.service.BookingService` on ``services.booking`` and the ``x-reminder`` handler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.booking import chat  # noqa: F401  (registers the booking.* actions)
from bot.booking.notices import STAFF_EVENT, handle_reminder, handle_staff_decision
from bot.booking.service import BookingService

if TYPE_CHECKING:
    from bot.runtime import Runtime


def install(runtime: Runtime) -> None:
    """Give handlers and the admin API one booking service sharing the runtime's store and scheduler."""
    services = runtime.services
    services.booking = BookingService(runtime.store, services.clinic, runtime.scheduler)
    services.internal_handlers["x-reminder"] = handle_reminder
    services.internal_handlers[STAFF_EVENT] = handle_staff_decision
