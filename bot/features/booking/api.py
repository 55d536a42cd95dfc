"""Staff endpoints: the bookings as JSON, confirm or cancel one, and an iCalendar feed.

``GET /admin/api/bookings[?from=YYYY-MM-DD&to=YYYY-MM-DD]`` (``Authorization: Bearer $ADMIN_TOKEN``) lists
bookings soonest first: ``id``, ``user_id``, ``start``/``end`` (ISO 8601 with the clinic's offset),
``status`` (``confirmed`` or ``cancelled``), ``staff_checked`` and ``history``. A moved booking keeps its id.
``POST /admin/api/bookings/{id}/confirm`` marks it checked by staff, ``…/cancel`` cancels it (no deadline
for staff); either tells the runner by push. ``GET /admin/api/calendar-url`` gives the feed's secret path,
``/calendar/<token>.ics``, where the token is an HMAC of ``ADMIN_TOKEN`` (so rotating it rotates the feed).

The staff routes follow the rule of every staff route (:mod:`bot.web.staff_auth`): the token is checked
before the query or body is read, so a stranger gets 401, never a 422 naming the parameters.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, Response
from pydantic import BeforeValidator

from bot.config.settings import Settings
from bot.features.booking import slots
from bot.features.booking.calendar import FEED_PAST_DAYS, calendar_ics, calendar_token
from bot.features.booking.notices import queue_staff_decision
from bot.features.booking.service import BookingService, Result
from bot.features.booking.store import Booking
from bot.web.parts import parts_of
from bot.web.staff_auth import StaffRoute, admin_token, error_responses, require_admin, token_matches

#: The staff API: every route behind the admin token.
router = APIRouter(prefix="/admin/api", dependencies=[Depends(require_admin)], route_class=StaffRoute)
#: The calendar feed: no header (calendar apps send none); its secret URL is the credential.
feed_router = APIRouter(include_in_schema=False)


def _iso_date(value: object) -> object:
    """Only ``YYYY-MM-DD``: pydantic alone would also read ``0`` or ``1700000000`` as a Unix timestamp."""
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("a date as YYYY-MM-DD")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]


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
    app.include_router(router)
    app.include_router(feed_router)


@router.get("/bookings", responses=error_responses(401, 503))
async def list_bookings(request: Request, date_from: Annotated[IsoDate | None, Query(alias="from")] = None,
                        date_to: Annotated[IsoDate | None, Query(alias="to")] = None) -> list[dict[str, Any]]:
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


@router.get("/bookings/{booking_id}", responses=error_responses(401, 404, 503))
async def one_booking(request: Request, booking_id: str) -> dict[str, Any]:
    service = _service(request)
    booking = await service.bookings.get(booking_id)
    if booking is None:
        raise HTTPException(status_code=404, detail="no such booking")
    return booking_json(service, booking)


@router.post("/bookings/{booking_id}/confirm", responses=error_responses(401, 404, 409, 503))
async def staff_confirm(request: Request, booking_id: str) -> dict[str, Any]:
    service = _service(request)
    result = await service.staff_confirm(booking_id, cause=f"staff:{uuid.uuid4().hex}")
    return await _decided(request, result, "confirmed")


@router.post("/bookings/{booking_id}/cancel", responses=error_responses(401, 404, 503))
async def staff_cancel(request: Request, booking_id: str) -> dict[str, Any]:
    service = _service(request)
    result = await service.cancel(booking_id, by="staff", cause=f"staff:{uuid.uuid4().hex}")
    return await _decided(request, result, "cancelled")


@router.get("/calendar-url", responses=error_responses(401))
async def calendar_url(request: Request) -> dict[str, str]:
    token = admin_token(request)
    if token is None:  # not reached: the staff check has already refused a deployment without a token
        raise HTTPException(status_code=401, detail="a valid admin token is required")
    return {"path": f"/calendar/{calendar_token(token)}.ics"}


@feed_router.get("/calendar/{token}.ics")
async def calendar_feed(request: Request, token: str) -> Response:
    admin = admin_token(request)  # read per request: rotating ADMIN_TOKEN rotates the feed's URL
    if admin is None or not token_matches(calendar_token(admin), token):
        raise HTTPException(status_code=404, detail="not found")
    service = _service(request)
    since = slots.epoch(service.now() - dt.timedelta(days=FEED_PAST_DAYS))
    bookings = await service.bookings.between(since, 2**40)
    return Response(content=calendar_ics(service, bookings), media_type="text/calendar; charset=utf-8")


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


def _service(request: Request) -> BookingService:
    service = parts_of(request).maybe(BookingService)
    if service is None:
        raise HTTPException(status_code=503, detail="booking is not installed")
    return service
