"""Staff endpoints: the bookings as JSON, confirm or cancel one, and an iCalendar feed.

``GET /admin/api/bookings[?from=YYYY-MM-DD&to=YYYY-MM-DD]`` (``Authorization: Bearer $ADMIN_TOKEN``) lists
bookings soonest first: ``id``, ``user_id``, ``start``/``end`` (ISO 8601 with the clinic's offset),
``status`` (``confirmed`` or ``cancelled``), ``staff_checked`` and ``history``. A moved booking keeps its id.
``POST /admin/api/bookings/{id}/confirm`` marks it checked by staff, ``…/cancel`` cancels it (no deadline
for staff); either tells the runner by push. ``GET /admin/api/calendar-url`` gives the feed's secret path,
``/calendar/<token>.ics``, where the token is an HMAC of ``ADMIN_TOKEN`` (so rotating it rotates the feed).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request, Response
from icalendar import Calendar
from icalendar import Event as CalendarEvent

from bot.booking import slots
from bot.booking.notices import queue_staff_decision
from bot.booking.service import BookingService, Result
from bot.booking.store import Booking
from bot.runtime import Runtime
from bot.settings import Settings

#: The feed reaches back this far, so staff see recent history too.
FEED_PAST_DAYS = 30


def calendar_token(admin_token: str) -> str:
    """The feed's secret path part: unguessable without the admin token, and not the token itself."""
    return hmac.new(admin_token.encode(), b"booking-calendar-feed", hashlib.sha256).hexdigest()[:32]


def booking_json(service: BookingService, booking: Booking) -> dict[str, Any]:
    start = slots.from_epoch(service.clinic, booking.start)
    end = start + dt.timedelta(minutes=service.clinic.booking.slot_minutes)
    return {"id": booking.id, "user_id": booking.user_id, "start": start.isoformat(), "end": end.isoformat(),
            "status": booking.status, "staff_checked": booking.staff_checked,
            "created_at": _iso(service, booking.created_at), "updated_at": _iso(service, booking.updated_at),
            "history": [_history_json(service, entry) for entry in booking.history]}


def _iso(service: BookingService, epoch_seconds: float) -> str:
    return dt.datetime.fromtimestamp(epoch_seconds, service.clinic.tz).isoformat(timespec="seconds")


def _history_json(service: BookingService, entry: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in entry.items() if k != "cause"}
    shown["at"] = _iso(service, float(entry["at"]))
    for key in ("start", "from", "to"):
        if isinstance(entry.get(key), int):
            shown[key] = slots.from_epoch(service.clinic, entry[key]).isoformat()
    return shown


def mount(app: FastAPI, settings: Settings) -> None:
    app.include_router(create_router(settings))


def create_router(settings: Settings) -> APIRouter:
    router = APIRouter()
    admin = settings.admin_token.get_secret_value() if settings.admin_token else None

    def authorize(request: Request) -> None:
        """Bearer ADMIN_TOKEN, compared in constant time; no token configured means no staff API."""
        given = request.headers.get("Authorization", "")
        scheme, _, token = given.partition(" ")
        if admin is None or scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(),
                                                                                   admin.encode()):
            raise HTTPException(status_code=401, detail="unauthorized",
                                headers={"WWW-Authenticate": "Bearer"})

    @router.get("/admin/api/bookings")
    async def list_bookings(request: Request, date_from: Annotated[dt.date | None, Query(alias="from")] = None,
                            date_to: Annotated[dt.date | None, Query(alias="to")] = None
                            ) -> list[dict[str, Any]]:
        authorize(request)
        service = _service(request)
        first = date_from or dt.date(1970, 1, 2)
        last = date_to or dt.date(9999, 12, 30)
        if last < first:
            raise HTTPException(status_code=422, detail="'to' is before 'from'")
        start = dt.datetime.combine(first, dt.time(), service.clinic.tz)
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), service.clinic.tz)
        bookings = await service.bookings.between(slots.epoch(start), slots.epoch(end))
        return [booking_json(service, b) for b in bookings]

    @router.get("/admin/api/bookings/{booking_id}")
    async def one_booking(request: Request, booking_id: str) -> dict[str, Any]:
        authorize(request)
        service = _service(request)
        booking = await service.bookings.get(booking_id)
        if booking is None:
            raise HTTPException(status_code=404, detail="no such booking")
        return booking_json(service, booking)

    @router.post("/admin/api/bookings/{booking_id}/confirm")
    async def staff_confirm(request: Request, booking_id: str) -> dict[str, Any]:
        authorize(request)
        service = _service(request)
        result = await service.staff_confirm(booking_id, cause=f"staff:{uuid.uuid4().hex}")
        return await _decided(request, result, "confirmed")

    @router.post("/admin/api/bookings/{booking_id}/cancel")
    async def staff_cancel(request: Request, booking_id: str) -> dict[str, Any]:
        authorize(request)
        service = _service(request)
        result = await service.cancel(booking_id, by="staff", cause=f"staff:{uuid.uuid4().hex}")
        return await _decided(request, result, "cancelled")

    @router.get("/admin/api/calendar-url")
    async def calendar_url(request: Request) -> dict[str, str]:
        authorize(request)
        assert admin is not None
        return {"path": f"/calendar/{calendar_token(admin)}.ics"}

    @router.get("/calendar/{token}.ics", include_in_schema=False)
    async def calendar_feed(request: Request, token: str) -> Response:
        if admin is None or not hmac.compare_digest(token.encode(), calendar_token(admin).encode()):
            raise HTTPException(status_code=404, detail="not found")
        service = _service(request)
        since = slots.epoch(service.now() - dt.timedelta(days=FEED_PAST_DAYS))
        bookings = await service.bookings.between(since, 2**40)
        return Response(content=calendar_ics(service, bookings), media_type="text/calendar; charset=utf-8")

    return router


async def _decided(request: Request, result: Result, did: str) -> dict[str, Any]:
    """Answer staff; on a change, queue the runner's notice (once per booking and decision)."""
    if result.outcome == "missing" or result.booking is None:
        raise HTTPException(status_code=404, detail="no such booking")
    service = _service(request)
    if result.outcome == "cancelled" and did == "confirmed":
        raise HTTPException(status_code=409, detail="the booking is cancelled")
    if result.outcome == "ok":
        runtime: Runtime = request.app.state.runtime
        await queue_staff_decision(runtime.queue, result.booking.user_id, result.booking.id, did)
    return booking_json(service, result.booking)


def calendar_ics(service: BookingService, bookings: list[Booking]) -> bytes:
    """Confirmed bookings as VEVENTs (cancelled ones as STATUS:CANCELLED, so calendars remove them)."""
    clinic = service.clinic
    cal = Calendar()
    cal.add("prodid", "-//seitai-line-bot//bookings//JA")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"{clinic.name} ご予約")
    cal.add("x-wr-timezone", clinic.timezone)
    for booking in bookings:
        start = slots.from_epoch(clinic, booking.start)
        event = CalendarEvent()
        event.add("uid", f"{booking.id}@bookings.seitai-line-bot")
        event.add("dtstamp", dt.datetime.fromtimestamp(booking.updated_at, dt.UTC))
        event.add("dtstart", start)
        event.add("dtend", start + dt.timedelta(minutes=clinic.booking.slot_minutes))
        event.add("summary", f"{clinic.booking.first_visit} ({booking.id})")
        event.add("description", f"LINE: {booking.user_id}")
        event.add("status", "CONFIRMED" if booking.active else "CANCELLED")
        event.add("sequence", len(booking.history) - 1)
        cal.add_component(event)
    cal.add_missing_timezones()  # a VTIMEZONE for Asia/Tokyo, so every calendar app places events right
    ics: bytes = cal.to_ical()
    return ics


def _service(request: Request) -> BookingService:
    runtime: Runtime = request.app.state.runtime
    service = runtime.services.booking
    if service is None:
        raise HTTPException(status_code=503, detail="booking is not installed")
    return service
