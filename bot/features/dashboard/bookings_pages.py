"""The bookings page: a week of slots with capacity and who is booked; confirm, cancel, move, add by phone.

Every change goes through :class:`~bot.features.booking.service.BookingService` (the same rules and history as the
chat and the staff API) and the runner is told on LINE through their own inbox: confirm and cancel with the
booking module's ``x-booking-staff`` event, a move or a phone booking with a staff message. Either way it is
pushed from the runner's outbox with an ``X-Line-Retry-Key``, once per booking and change.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from bot.extension import Parts
from bot.features.booking import slots
from bot.features.booking.notices import queue_staff_decision
from bot.features.booking.service import BookingService
from bot.features.dashboard import inbox
from bot.features.dashboard.bookings import history_lines, week_columns, week_of
from bot.features.dashboard.views import back, page, read_form, require_staff
from bot.web.parts import parts_of

router = APIRouter(include_in_schema=False)

_LINE_USER = re.compile(r"^U[0-9a-f]{32}$")
#: The outcomes the page has a notice for; anything else is shown as "not found".
_NOTICE_KEYS = {"confirmed", "cancelled", "moved", "added", "full", "unavailable", "missing", "already", "late"}


def service_of(parts: Parts) -> BookingService:
    service = parts.maybe(BookingService)
    if service is None:
        raise HTTPException(status_code=503, detail="booking is not installed")
    return service


@router.get("/admin/bookings")
async def bookings_page(request: Request, week: dt.date | None = None) -> Response:
    session = require_staff(request)
    service = service_of(parts_of(request))
    today = service.now().date()
    days = week_of(week or today)
    columns = await week_columns(service, days)
    free = await service.free_starts()
    return page(request, "bookings.html", session, columns=columns, days=days, today=today,
                prev_week=days[0] - dt.timedelta(days=7), next_week=days[0] + dt.timedelta(days=7),
                free=free, label=lambda s: slots.when_label(service.clinic, s), epoch=slots.epoch,
                history=lambda b: history_lines(service, b), section="bookings",
                week_param=days[0].isoformat(), nonce=secrets.token_urlsafe(12))


@router.post("/admin/bookings/{booking_id}/{change}")
async def change_booking(request: Request, booking_id: str, change: str) -> Response:
    session = require_staff(request)
    data = await read_form(request, session)
    parts = parts_of(request)
    service = service_of(parts)
    url = f"/admin/bookings?week={quote(data.get('week', ''))}" if data.get("week") else "/admin/bookings"
    cause = f"staff:{session.staff}:{uuid.uuid4().hex}"
    if change == "confirm":
        done = await _confirm(parts, service, booking_id, cause)
    elif change == "cancel":
        done = await _cancel(parts, service, booking_id, cause)
    elif change == "move":
        done = await _move(parts, service, booking_id, data, cause, session.staff or "")
    else:
        raise HTTPException(status_code=404, detail="unknown change")
    return back(url, done if done in _NOTICE_KEYS else "missing")


@router.post("/admin/bookings")
async def add_booking(request: Request) -> Response:
    """A phone caller: booked by staff; told on LINE when the caller gave their LINE user id."""
    session = require_staff(request)
    data = await read_form(request, session)
    parts = parts_of(request)
    service = service_of(parts)
    line_id = data.get("line_user_id", "").strip()
    caller = re.sub(r"\s+", " ", data.get("caller", "")).strip()[:40]
    if line_id and not _LINE_USER.match(line_id):
        return back("/admin/bookings", "missing")
    user_id = line_id or f"tel:{caller or '電話予約'}"
    try:
        start = int(data.get("start", ""))
    except ValueError:
        return back("/admin/bookings", "unavailable")
    nonce = data.get("nonce") or uuid.uuid4().hex
    cause = f"staff:{session.staff}:{uuid.uuid4().hex}"  # each post its own: a resent form is "again"
    result = await service.reserve(user_id, start, nonce=f"staff:{nonce}", cause=cause)
    if result.outcome == "ok" and result.booking is not None and line_id:
        when = slots.when_label(service.clinic, slots.from_epoch(service.clinic, result.booking.start))
        text = (f"{service.clinic.name}です。\nお電話でのご予約を承りました。\n{when}\n"
                f"予約ID:{result.booking.id}\nお待ちしています。")
        await inbox.send_reply(parts, line_id, text, session.staff or "", f"booking:{result.booking.id}:booked",
                               start_handoff=False)
    done = {"ok": "added", "again": "already"}.get(result.outcome, result.outcome)
    return back("/admin/bookings", done if done in _NOTICE_KEYS else "missing")


async def _confirm(parts: Parts, service: BookingService, booking_id: str, cause: str) -> str:
    result = await service.staff_confirm(booking_id, cause=cause)
    if result.outcome == "ok" and result.booking is not None:
        await queue_staff_decision(parts.queue, result.booking.user_id, result.booking.id, "confirmed")
    return {"ok": "confirmed", "again": "already"}.get(result.outcome, result.outcome)


async def _cancel(parts: Parts, service: BookingService, booking_id: str, cause: str) -> str:
    result = await service.cancel(booking_id, by="staff", cause=cause)
    if result.outcome == "ok" and result.booking is not None:
        await queue_staff_decision(parts.queue, result.booking.user_id, result.booking.id, "cancelled")
    return {"ok": "cancelled"}.get(result.outcome, "already" if result.outcome == "cancelled" else result.outcome)


async def _move(parts: Parts, service: BookingService, booking_id: str, data: dict[str, Any], cause: str,
                staff: str) -> str:
    try:
        start = int(data.get("start", ""))
    except ValueError:
        return "unavailable"
    booking = await service.bookings.get(booking_id)
    if booking is None:
        return "missing"
    result = await service.move(booking_id, booking.user_id, start, cause)
    if result.outcome == "ok" and result.booking is not None and _LINE_USER.match(booking.user_id):
        when = slots.when_label(service.clinic, slots.from_epoch(service.clinic, result.booking.start))
        text = (f"{service.clinic.name}です。\nご予約の日時を変更しました。\n{when}\n"
                f"ご不明な点はお電話ください。\n{service.clinic.phone}")
        await inbox.send_reply(parts, booking.user_id, text, staff, f"booking:{booking_id}:moved:{start}",
                               start_handoff=False)
    return {"ok": "moved", "again": "already"}.get(result.outcome, result.outcome)
