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
import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, Response
from icalendar import Calendar
from icalendar import Event as CalendarEvent
from pydantic import BeforeValidator

from bot.config.settings import Settings
from bot.features.booking import slots
from bot.features.booking.notices import queue_staff_decision
from bot.features.booking.service import BookingService, Result
from bot.features.booking.store import Booking
from bot.web.parts import parts_of
from bot.web.staff_auth import error_responses

#: The feed reaches back this far, so staff see recent history too.
FEED_PAST_DAYS = 30


def _iso_date(value: object) -> object:
    """Only ``YYYY-MM-DD``: pydantic alone would also read ``0`` or ``1700000000`` as a Unix timestamp."""
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("a date as YYYY-MM-DD")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]


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

    # A dependency (not a call in the body), so a request without the token gets 401 before its query is
    # validated: no 422 telling a stranger which parameters exist.
    staff = [Depends(authorize)]

    @router.get("/admin/api/bookings", dependencies=staff, responses=error_responses(401, 503))
    async def list_bookings(request: Request, date_from: Annotated[IsoDate | None, Query(alias="from")] = None,
                            date_to: Annotated[IsoDate | None, Query(alias="to")] = None
                            ) -> list[dict[str, Any]]:
        service = _service(request)
        if date_from is not None and date_to is not None and date_to < date_from:
            # In FastAPI's own validation-error shape, so the answer matches the declared 422 schema.
            raise HTTPException(status_code=422, detail=[{
                "type": "value_error", "loc": ["query", "to"], "msg": "'to' is before 'from'",
                "input": date_to.isoformat()}])
        start = _day_start(service, date_from) if date_from is not None else 0
        end = _day_start(service, date_to, next_day=True) if date_to is not None else 2**40
        bookings = await service.bookings.between(start, end)
        return [booking_json(service, b) for b in bookings]

    @router.get("/admin/api/bookings/{booking_id}", dependencies=staff, responses=error_responses(401, 404, 503))
    async def one_booking(request: Request, booking_id: str) -> dict[str, Any]:
        service = _service(request)
        booking = await service.bookings.get(booking_id)
        if booking is None:
            raise HTTPException(status_code=404, detail="no such booking")
        return booking_json(service, booking)

    @router.post("/admin/api/bookings/{booking_id}/confirm", dependencies=staff,
                 responses=error_responses(401, 404, 409, 503))
    async def staff_confirm(request: Request, booking_id: str) -> dict[str, Any]:
        service = _service(request)
        result = await service.staff_confirm(booking_id, cause=f"staff:{uuid.uuid4().hex}")
        return await _decided(request, result, "confirmed")

    @router.post("/admin/api/bookings/{booking_id}/cancel", dependencies=staff,
                 responses=error_responses(401, 404, 503))
    async def staff_cancel(request: Request, booking_id: str) -> dict[str, Any]:
        service = _service(request)
        result = await service.cancel(booking_id, by="staff", cause=f"staff:{uuid.uuid4().hex}")
        return await _decided(request, result, "cancelled")

    @router.get("/admin/api/calendar-url", dependencies=staff, responses=error_responses(401))
    async def calendar_url() -> dict[str, str]:
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
        await queue_staff_decision(parts_of(request).queue, result.booking.user_id, result.booking.id, did)
    return booking_json(service, result.booking)


def _day_start(service: BookingService, day: dt.date, *, next_day: bool = False) -> int:
    """Midnight at the clinic starting ``day`` (or the day after), in epoch seconds; any date is fine.

    ``date.max`` plus a day does not exist as a date, hence the arithmetic on seconds for the day after.
    """
    midnight = slots.epoch(dt.datetime.combine(day, dt.time(), service.clinic.tz))
    if not next_day:
        return midnight
    if day == dt.date.max:
        return midnight + 86400
    return slots.epoch(dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), service.clinic.tz))


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
    service = parts_of(request).maybe(BookingService)
    if service is None:
        raise HTTPException(status_code=503, detail="booking is not installed")
    return service
