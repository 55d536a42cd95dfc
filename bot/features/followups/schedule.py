"""Check-ins declared in a flow's ``follow_ups``: scheduled when a tag first appears, sent when due.

Scheduling is a commit hook: after an event is stored, each follow-up whose ``after_tag`` this event added
becomes a scheduler job (``kind="checkin"``), due ``delay`` later and moved out of quiet hours by the
scheduler. The job id names the runner, flow and follow-up, so scheduling again replaces rather than adds.

Sending is the ``x-checkin`` handler: the scheduler queues the due job into the runner's inbox, and the
handler looks again — still a friend, not opted out, not booked (unless the flow allows it), the flow and
step still there — before entering the step like any other. What was true three days ago may not be now.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from bot.features.booking.service import BookingService
from bot.features.followups.optout import opted_out
from bot.scheduling.scheduler import Job, Scheduler
from bot.webhook.events import Event
from flows.context import Conversation
from flows.engine import Engine
from flows.loader import FlowSet, LoadedFlow
from flows.schema import FollowUp
from handlers.router import Router

log = logging.getLogger(__name__)

KIND = "checkin"
EVENT_TYPE = f"x-{KIND}"
BOOKED = "booked"
router = Router("followups")


def job_id(user_id: str, flow: str, follow_up: FollowUp) -> str:
    return f"{KIND}:{flow}:{follow_up.id}:{user_id}"


async def plan_checkin(scheduler: Scheduler, user_id: str, flow: str, follow_up: FollowUp,
                       after: dt.datetime) -> Job:
    """Schedule ``follow_up`` for the runner, counted from ``after`` (quiet hours applied)."""
    job = Job(id=job_id(user_id, flow, follow_up), user_id=user_id, kind=KIND,
              due=after.timestamp() + follow_up.delay_seconds,
              data={"flow": flow, "follow_up": follow_up.id, "step": follow_up.step})
    return await scheduler.schedule(job)


class CheckinPlanner:
    """The commit hook that turns new tags into scheduled check-ins (and drops those no longer wanted)."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler

    async def on_commit(self, conv: Conversation) -> None:
        loaded = conv.deps.need(FlowSet).get(conv.state.flow) if conv.state.flow else None
        if loaded is None or not loaded.flow.follow_ups:
            return
        new = set(conv.new_tags())
        if not new:
            return
        tags = set(conv.state.tags)
        for follow_up in loaded.flow.follow_ups:
            unwanted = tags & set(follow_up.skip_if_tags)
            if unwanted and new & unwanted:  # e.g. the runner just booked: no check-in will chase them
                await self.scheduler.cancel(conv.user_id, job_id(conv.user_id, loaded.flow.flow, follow_up))
            elif follow_up.after_tag in new and not unwanted:
                await plan_checkin(self.scheduler, conv.user_id, loaded.flow.flow, follow_up, conv.now)


def follow_up_of(loaded: LoadedFlow | None, follow_up_id: str) -> FollowUp | None:
    if loaded is None:
        return None
    return next((f for f in loaded.flow.follow_ups if f.id == follow_up_id), None)


@router.on(EVENT_TYPE)
async def handle_checkin(event: Event, conv: Conversation) -> None:
    """``x-checkin``: a check-in is due; send it only if it is still welcome."""
    data = _job_data(event)
    loaded = conv.deps.need(FlowSet).get(str(data.get("flow", "")))
    follow_up = follow_up_of(loaded, str(data.get("follow_up", "")))
    reason = await _reason_to_skip(conv, loaded, follow_up)
    if reason is not None or loaded is None or follow_up is None:
        conv.silent = True
        log.info("check-in skipped", extra={"follow_up": data.get("follow_up"), "reason": reason})
        return
    state = conv.state
    if state.flow != loaded.flow.flow:
        state.flow, state.version = loaded.flow.flow, loaded.version
    await conv.deps.need(Engine).enter(conv, loaded, follow_up.step)


async def _reason_to_skip(conv: Conversation, loaded: LoadedFlow | None, follow_up: FollowUp | None) -> str | None:
    state = conv.state
    if not state.flow:
        return "not a friend"  # blocked or deleted their data: nothing of theirs is left
    if opted_out(state.tags):
        return "opted out"
    if loaded is None or follow_up is None or follow_up.step not in loaded.flow.steps:
        return "no longer in the flow"
    if set(state.tags) & set(follow_up.skip_if_tags):
        return "skip tag"
    if BOOKED in follow_up.skip_if_tags and await has_upcoming_booking(conv):
        return "booked"
    return None


async def has_upcoming_booking(conv: Conversation) -> bool:
    """A booking made by staff sets no tag; ask the booking service when it is installed."""
    booking = conv.deps.maybe(BookingService)
    if booking is None:
        return False
    return bool(await booking.upcoming(conv.user_id))


def _job_data(event: Event) -> dict[str, Any]:
    job = event.raw.get("job")
    data = job.get("data") if isinstance(job, dict) else None
    return data if isinstance(data, dict) else {}
