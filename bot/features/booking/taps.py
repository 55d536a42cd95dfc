"""What every booking action reads from a tap: the services, and the postback's parameters, checked."""

from __future__ import annotations

import datetime as dt

from bot.features.booking.service import BookingService
from bot.features.booking.waitlist import Waitlist
from flows.actions import Params
from flows.context import Conversation


def service_of(conv: Conversation) -> BookingService:
    return conv.deps.need(BookingService)


def waitlist_of(conv: Conversation) -> Waitlist:
    return conv.deps.need(Waitlist)


def int_param(params: Params, name: str) -> int | None:
    try:
        return int(params[name])
    except (KeyError, ValueError):
        return None


def date_param(params: Params, name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(params[name])
    except (KeyError, ValueError):
        return None


#: A runner with an upcoming booking: the rich menu that leads with 予約確認 follows it, check-ins skip it.
BOOKED_TAG = "booked"


async def keep_booked_tag(conv: Conversation) -> None:
    """The ``booked`` tag says "has an upcoming booking": given when one is made, taken when none is left."""
    if await service_of(conv).upcoming(conv.user_id):
        conv.state.add_tags([BOOKED_TAG])
    else:
        conv.state.tags = [t for t in conv.state.tags if t != BOOKED_TAG]
