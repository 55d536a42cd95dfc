"""The bookings page: a week of times with seats on shift and who is booked; confirm, cancel, move (a day and
a time), mark 来院 / 無断キャンセル, add a caller's booking with a menu and a practitioner, and copy the
calendar feed's URL (or make a new one).

Every change goes through :class:`~bot.features.booking.service.BookingService` (the same rules as the chat
and the staff API; staff have no change deadline) and the history names the staff member. A LINE runner is
told through their own inbox (the booking module's ``x-booking-staff`` event), pushed from their outbox with
an ``X-Line-Retry-Key``, once per booking and change; a phone-only booking tells no one, and the page says so.
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

from bot.delivery.profiles import Profiles
from bot.extension import Parts
from bot.features.booking import slots
from bot.features.booking.calendar import calendar_token, feed_secret, rotate_feed_secret
from bot.features.booking.contact import clean_name, clean_phone
from bot.features.booking.notices import queue_staff_decision
from bot.features.booking.service import BookingService, Contact, Result
from bot.features.dashboard.bookings import picker, week_columns, week_of
from bot.features.dashboard.views import back, page, read_form, require_staff
from bot.web.parts import parts_of
from bot.web.staff_auth import admin_token

router = APIRouter(include_in_schema=False)

_LINE_USER = re.compile(r"^U[0-9a-f]{32}$")
#: Outcome -> notice key, for changes that would tell a LINE runner; ``_phone`` keys say nobody was told.
_TOLD = {"confirm": "confirmed", "cancel": "cancelled", "move": "moved"}
_OTHER = {"again": "already", "cancelled": "already", "full": "full", "unavailable": "unavailable",
          "missing": "missing", "late": "late", "early": "early"}


def service_of(parts: Parts) -> BookingService:
    service = parts.maybe(BookingService)
    if service is None:
        raise HTTPException(status_code=503, detail="booking is not installed")
    return service


@router.get("/admin/bookings")
async def bookings_page(request: Request, week: dt.date | None = None) -> Response:
    session = require_staff(request)
    parts = parts_of(request)
    service = service_of(parts)
    today = service.now().date()
    days = week_of(week or today)
    columns = await week_columns(parts, service, days)
    return page(request, "bookings.html", session, columns=columns, days=days, today=today,
                prev_week=days[0] - dt.timedelta(days=7), next_week=days[0] + dt.timedelta(days=7),
                picker=picker(service, today), menus=service.clinic.booking.menu_list,
                practitioners=service.clinic.booking.staff if service.clinic.booking.named_practitioners else [],
                section="bookings", week_param=days[0].isoformat(), nonce=secrets.token_urlsafe(12),
                feed_url=await _feed_url(request))


@router.post("/admin/calendar-feed/rotate")
async def rotate_feed(request: Request) -> Response:
    """A new secret URL for the calendar feed; the old one stops working."""
    session = require_staff(request)
    await read_form(request, session)
    await rotate_feed_secret(parts_of(request).store.redis)
    return back("/admin/bookings", "rotated")


@router.post("/admin/bookings/{booking_id}/{change}")
async def change_booking(request: Request, booking_id: str, change: str) -> Response:
    session = require_staff(request)
    data = await read_form(request, session)
    parts = parts_of(request)
    service = service_of(parts)
    url = f"/admin/bookings?week={quote(data.get('week', ''))}" if data.get("week") else "/admin/bookings"
    cause, staff = f"staff:{session.staff}:{uuid.uuid4().hex}", session.staff or ""
    if change == "confirm":
        result = await service.staff_confirm(booking_id, cause=cause, staff=staff)
    elif change == "cancel":
        result = await service.cancel(booking_id, by="staff", cause=cause, staff=staff)
    elif change == "move":
        start = _start_of(service, data)
        if start is None:
            return back(url, "unavailable")
        result = await service.move(booking_id, None, start, cause, by="staff", staff=staff)
    elif change in ("attended", "no_show"):
        result = await service.mark_attendance(booking_id, change, cause, staff=staff)
        return back(url, change if result.outcome == "ok" else _OTHER.get(result.outcome, "missing"))
    else:
        raise HTTPException(status_code=404, detail="unknown change")
    return back(url, await _told(parts, change, result))


@router.post("/admin/bookings")
async def add_booking(request: Request) -> Response:
    """A caller booked by staff (menu, 指名 or not, name, phone); told on LINE when they gave their LINE id."""
    session = require_staff(request)
    data = await read_form(request, session)
    parts = parts_of(request)
    service = service_of(parts)
    line_id = data.get("line_user_id", "").strip()
    if line_id and not _LINE_USER.match(line_id):
        return back("/admin/bookings", "missing")
    name = clean_name(data.get("name", "")) or (await _line_name(parts, line_id) if line_id else None)
    if name is None:
        return back("/admin/bookings", "no_name")
    phone = clean_phone(data["phone"]) if data.get("phone", "").strip() else None
    if data.get("phone", "").strip() and phone is None:
        return back("/admin/bookings", "bad_phone")
    start = _start_of(service, data)
    if start is None:
        return back("/admin/bookings", "unavailable")
    nonce = data.get("nonce") or uuid.uuid4().hex
    result = await service.reserve(
        line_id or f"tel:{secrets.token_hex(6)}", start, nonce=f"staff:{nonce}",
        cause=f"staff:{session.staff}:{uuid.uuid4().hex}",  # each post its own: a resent form is "again"
        menu=data.get("menu") or None, practitioner=data.get("practitioner") or None,
        contact=Contact(name=name, phone=phone), by="staff", staff=session.staff or "")
    if result.outcome == "ok" and result.booking is not None and result.booking.on_line:
        await queue_staff_decision(parts.queue, result.booking.user_id, result.booking.id, "booked")
    done = {"ok": "added", "again": "already"}.get(result.outcome, _OTHER.get(result.outcome, "missing"))
    return back("/admin/bookings", done)


async def _told(parts: Parts, change: str, result: Result) -> str:
    """Tell a LINE runner of the change (once per booking and change); the notice key says whether we did."""
    booking = result.booking
    if result.outcome != "ok" or booking is None:
        return _OTHER.get(result.outcome, "missing")
    did = _TOLD[change]
    if not booking.on_line:
        return f"{did}_phone"
    await queue_staff_decision(parts.queue, booking.user_id, booking.id, did,
                               version=booking.start if did == "moved" else "")
    return did


def _start_of(service: BookingService, data: dict[str, Any]) -> int | None:
    """The form's day and time (``day`` YYYY-MM-DD, ``time`` HH:MM), or an epoch ``start``."""
    if data.get("start", "").isdigit():
        return int(data["start"])
    try:
        day = dt.date.fromisoformat(data.get("day", ""))
        at = dt.time.fromisoformat(data.get("time", ""))
    except ValueError:
        return None
    return slots.epoch(dt.datetime.combine(day, at, service.clinic.tz))


async def _line_name(parts: Parts, user_id: str) -> str | None:
    profiles = parts.maybe(Profiles)
    return await profiles.display_name(user_id) if profiles is not None else None


async def _feed_url(request: Request) -> str | None:
    token = admin_token(request)
    if token is None:
        return None
    secret = await feed_secret(parts_of(request).store.redis)
    return f"{str(request.base_url).rstrip('/')}/calendar/{calendar_token(token, secret)}.ics"
