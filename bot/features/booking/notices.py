"""Bot-made booking events: the day-before reminder and staff decisions told to the runner.

Both arrive as events in the runner's inbox (``x-reminder`` from the scheduler, ``x-booking-staff`` from
the admin API), so they are handled in order with what the runner does and pushed through the outbox with
a retry key derived from the job or decision — sent once, whichever worker handles them.
"""

from __future__ import annotations

import time
from typing import Any

from bot.delivery.queue import EventQueue
from bot.features.booking import messages as say
from bot.features.booking.chat import service_of
from bot.webhook.events import Event
from flows.context import Conversation
from handlers.router import Router

STAFF_EVENT = "x-booking-staff"
REMINDER_EVENT = "x-reminder"
router = Router("booking")


@router.on(REMINDER_EVENT)
async def handle_reminder(event: Event, conv: Conversation) -> None:
    """Remind only if the booking still stands at the time the job was made for (not cancelled or moved)."""
    job = event.raw.get("job")
    data: dict[str, Any] = job.get("data", {}) if isinstance(job, dict) else {}
    service = service_of(conv)
    booking = await service.bookings.get(str(data.get("booking_id", "")))
    still_valid = (booking is not None and booking.active and booking.user_id == conv.user_id
                   and booking.start == data.get("start") and booking.start > service.now().timestamp())
    if booking is not None and still_valid:
        conv.say(say.reminder(service.clinic, booking))


@router.on(STAFF_EVENT)
async def handle_staff_decision(event: Event, conv: Conversation) -> None:
    """Staff confirmed or cancelled a booking in the admin API: tell its runner."""
    service = service_of(conv)
    booking = await service.bookings.get(str(event.raw.get("booking_id", "")))
    did = str(event.raw.get("did", ""))
    if booking is None or booking.user_id != conv.user_id or did not in ("confirmed", "cancelled"):
        return
    conv.say(say.staff_update_for_runner(service.clinic, booking, did))


async def queue_staff_decision(queue: EventQueue, user_id: str, booking_id: str, did: str) -> bool:
    """Once per booking and decision (the inbox de-duplicates by this id); False if already queued."""
    now = time.time()
    raw: dict[str, object] = {"type": STAFF_EVENT, "timestamp": int(now * 1000), "booking_id": booking_id,
                              "did": did}
    return await queue.enqueue_internal(user_id, f"booking:{booking_id}:staff-{did}", raw, now)
