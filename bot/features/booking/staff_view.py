"""A booking as staff read it (the API's JSON and the dashboard's cards): who, why, what, with whom.

``answers`` are the runner's latest check in the flow's own Japanese (question title → the label they
tapped), read from the runner's current state when asked — never copied into the booking record — so they
go when the runner's data goes (TTL, block, 「データ削除」). A phone-only booking has none.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.extension import Parts
from bot.features.booking import slots
from bot.features.booking.service import BookingService
from bot.features.booking.store import Booking
from bot.store import keys
from flows.state import ConversationState


async def latest_answers(parts: Parts, user_ids: set[str]) -> dict[str, dict[str, str]]:
    """Each LINE runner's answers, labelled by their flow (one read per runner, pipelined)."""
    line_users = sorted(u for u in user_ids if u.startswith("U"))
    if not line_users:
        return {}
    async with parts.store.redis.pipeline(transaction=False) as pipe:
        for user_id in line_users:
            pipe.get(keys.state(user_id))
        raws = await pipe.execute()
    found: dict[str, dict[str, str]] = {}
    for user_id, raw in zip(line_users, raws, strict=True):
        state = ConversationState.from_json(raw)
        loaded = parts.flows.get(state.flow) if state.flow else None
        found[user_id] = loaded.answer_labels(state.answers) if loaded is not None else dict(state.answers)
    return found


def booking_json(service: BookingService, booking: Booking, answers: dict[str, str] | None = None
                 ) -> dict[str, Any]:
    start = slots.from_epoch(service.clinic, booking.start)
    menu = service.menu_of(booking)
    end = start + dt.timedelta(minutes=menu.minutes)
    return {"id": booking.id, "user_id": booking.user_id, "start": start.isoformat(), "end": end.isoformat(),
            "status": booking.status, "staff_checked": booking.staff_checked,
            "created_at": _iso(service, booking.created_at), "updated_at": _iso(service, booking.updated_at),
            "history": [_history_json(service, entry) for entry in booking.history],
            "name": booking.name or None, "phone": booking.phone, "menu": menu.name, "menu_id": menu.id,
            "minutes": menu.minutes, "practitioner": service.practitioner_name(booking),
            "practitioner_id": booking.practitioner or None, "nominated": booking.nominated,
            "attendance": booking.attendance, "answers": answers or {}}


async def bookings_json(parts: Parts, service: BookingService, bookings: list[Booking]) -> list[dict[str, Any]]:
    answers = await latest_answers(parts, {b.user_id for b in bookings})
    return [booking_json(service, b, answers.get(b.user_id)) for b in bookings]


def _iso(service: BookingService, epoch_seconds: float) -> str:
    return dt.datetime.fromtimestamp(epoch_seconds, service.clinic.tz).isoformat(timespec="seconds")


def _history_json(service: BookingService, entry: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in entry.items() if k != "cause"}
    shown["at"] = _iso(service, float(entry["at"]))
    for key in ("start", "from", "to"):
        if isinstance(entry.get(key), int):
            shown[key] = slots.from_epoch(service.clinic, entry[key]).isoformat()
    return shown
