"""Bot-made booking events: the day-before reminder, staff changes told to the runner, waitlist offers.

All arrive as events in the runner's inbox (``x-reminder`` and the waitlist's from the scheduler,
``x-booking-staff`` from the staff API and pages), so they are handled in order with what the runner does and
pushed through the outbox with a retry key derived from the job or change — sent once, whichever worker
handles them. The router also carries the 問診's gates (:mod:`intake`).
"""

from __future__ import annotations

import time
from typing import Any, TypeVar

from bot.delivery.queue import EventQueue
from bot.features.booking import confirmations, intake, waiting
from bot.features.booking.store import CONFIRMED
from bot.features.booking.taps import keep_booked_tag, service_of, waitlist_of
from bot.features.booking.waitlist import OFFER_END_KIND, OFFER_KIND, Entry, Hold
from bot.webhook.events import Event
from flows.context import Conversation
from handlers.router import Router

T = TypeVar("T")
STAFF_EVENT = "x-booking-staff"
REMINDER_EVENT = "x-reminder"
#: What staff may have done that the runner is told of.
STAFF_CHANGES = ("confirmed", "cancelled", "moved", "booked")
router = Router("booking")
router.gate("message")(intake.typed_answer)
router.gate("postback")(intake.tapped_elsewhere)


def _job_data(event: Event) -> dict[str, Any]:
    job = event.raw.get("job")
    data = job.get("data") if isinstance(job, dict) else None
    return data if isinstance(data, dict) else {}


def _from_job(event: Event, kind: type[T]) -> T | None:
    """The job's data as ``kind`` (an entry, a hold); ``None`` for a job from an older version."""
    try:
        return kind(**_job_data(event))
    except TypeError:
        return None


@router.on(REMINDER_EVENT)
async def handle_reminder(event: Event, conv: Conversation) -> None:
    """Remind only if the booking still stands, confirmed, at the time the job was made for."""
    data = _job_data(event)
    service = service_of(conv)
    booking = await service.bookings.get(str(data.get("booking_id", "")))
    still_valid = (booking is not None and booking.status == CONFIRMED and booking.user_id == conv.user_id
                   and booking.start == data.get("start") and booking.start > service.now().timestamp())
    if booking is not None and still_valid:
        conv.say(confirmations.reminder(service, booking))


@router.on(STAFF_EVENT)
async def handle_staff_decision(event: Event, conv: Conversation) -> None:
    """Staff confirmed, cancelled, moved or booked (by phone) a booking: tell its runner."""
    service = service_of(conv)
    booking = await service.bookings.get(str(event.raw.get("booking_id", "")))
    did = str(event.raw.get("did", ""))
    if booking is None or booking.user_id != conv.user_id or did not in STAFF_CHANGES:
        return
    conv.say(confirmations.staff_update_for_runner(service, booking, did))
    await keep_booked_tag(conv)  # a booking staff made or cancelled changes the runner's menu too


@router.on(f"x-{OFFER_KIND}")
async def handle_offer(event: Event, conv: Conversation) -> None:
    """A seat freed for this waiting runner: hold it for them and ask; if it went meanwhile, keep their place."""
    entry = _from_job(event, Entry)
    if entry is None:
        return
    waitlist = waitlist_of(conv)
    hold = await waitlist.hold_for(entry)
    if hold is None:
        await waitlist.requeue(entry)
        return
    waiting.offer(conv, hold, entry.menu, entry.practitioner)


@router.on(f"x-{OFFER_END_KIND}")
async def handle_offer_end(event: Event, conv: Conversation) -> None:
    """The hold ran out: if the runner did not book, the seat goes to the next waiting runner."""
    hold = _from_job(event, Hold)
    if hold is not None:
        await waitlist_of(conv).end_hold(conv.user_id, hold)


async def queue_staff_decision(queue: EventQueue, user_id: str, booking_id: str, did: str, *,
                               version: int | str = "") -> bool:
    """Once per booking and change (the inbox de-duplicates by this id); False if already queued.

    ``version`` tells apart changes of the same kind (two moves of one booking are two notices).
    """
    now = time.time()
    raw: dict[str, object] = {"type": STAFF_EVENT, "timestamp": int(now * 1000), "booking_id": booking_id,
                              "did": did}
    suffix = f":{version}" if version != "" else ""
    return await queue.enqueue_internal(user_id, f"booking:{booking_id}:staff-{did}{suffix}", raw, now)
