"""What staff see of one runner, and which runners carry a tag: plain data for the API and the dashboard.

``user_view(parts, user_id)`` and ``runners_by_tags(parts, tags)`` are the functions the staff pages
call; the JSON API (``bot.features.followups.api``) returns exactly what they return.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from bot.extension import Parts
from bot.features.booking.service import BookingService
from bot.features.dashboard.labels import answer_labels, tag_label
from bot.features.followups.optout import opted_out
from bot.features.followups.schedule import KIND
from bot.features.followups.tags import TagIndex
from bot.scheduling.scheduler import Job
from bot.store import keys
from flows.state import ConversationState


async def user_view(parts: Parts, user_id: str) -> dict[str, Any] | None:
    """The runner's answers, tags, bookings and scheduled messages; ``None`` when nothing is known."""
    raw = await parts.store.redis.get(keys.state(user_id))
    jobs = await parts.scheduler.jobs_for(user_id)
    if raw is None and not jobs:
        return None
    state = ConversationState.from_json(raw)
    held = opted_out(state.tags)
    return {
        "user_id": user_id,
        "flow": state.flow or None,
        "step": state.step,
        # Staff read answers in the flow's own Japanese (question title → label tapped); the stored values
        # stay beside them for scripts.
        "answers": answer_labels(parts.flows, state.flow, state.answers),
        "answer_values": dict(state.answers),
        "tags": list(state.tags),
        "tag_labels": {tag: tag_label(parts.flows, tag) for tag in state.tags},
        "opted_out": held,
        "updated_at": state.updated_at,
        "bookings": await _bookings(parts, user_id),
        "scheduled": [_job_view(parts, job, held) for job in jobs],
    }


async def runners_by_tags(parts: Parts, tags: list[str]) -> list[dict[str, Any]]:
    """Runners having every one of ``tags``, each with all their tags."""
    index = tag_index(parts)
    found = await index.runners_with(tags)
    return [{"user_id": user_id, "tags": await index.tags_of(user_id)} for user_id in found]


def tag_index(parts: Parts) -> TagIndex:
    """The tag index over the runtime's store (it keeps no state of its own)."""
    return TagIndex(parts.store, ttl_seconds=parts.settings.runner_ttl_seconds)


def _job_view(parts: Parts, job: Job, held: bool) -> dict[str, Any]:
    tz = parts.clinic.tz
    return {
        "id": job.id,
        "kind": job.kind,
        "due": dt.datetime.fromtimestamp(job.due, tz).isoformat(),
        "due_epoch": job.due,
        "data": job.data,
        # A check-in for a runner who sent 「配信停止」 stays scheduled but is not sent unless they resume.
        "held": held and job.kind == KIND,
    }


async def _bookings(parts: Parts, user_id: str) -> list[dict[str, Any]] | None:
    """The runner's active bookings when the booking service is installed (``None`` otherwise)."""
    booking = parts.maybe(BookingService)
    if booking is None:
        return None
    tz = parts.clinic.tz
    found = await booking.bookings.active_for(user_id)
    return [{**dataclasses.asdict(b), "start": dt.datetime.fromtimestamp(b.start, tz).isoformat()} for b in found]
