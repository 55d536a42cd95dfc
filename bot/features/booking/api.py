"""Staff endpoints: the bookings as JSON, confirm, cancel or mark one, and an iCalendar feed.

``GET /admin/api/bookings[?from=YYYY-MM-DD&to=YYYY-MM-DD]`` (``Authorization: Bearer $ADMIN_TOKEN``) lists
bookings soonest first: ``id``, ``user_id``, ``start``/``end`` (ISO 8601 with the clinic's offset),
``status`` (``confirmed``, ``pending`` awaiting approval, or ``cancelled``), ``staff_checked``, ``history``,
and who is coming and why: ``name``, ``phone`` (or null), ``menu``, ``practitioner`` (or null),
``attendance`` and ``answers`` (see :mod:`staff_view`). A moved booking keeps its id.
``POST /admin/api/bookings/{id}/confirm`` marks it checked by staff (a 仮予約 becomes confirmed),
``…/cancel`` cancels it (no deadline for staff), ``…/attended`` and ``…/no-show`` mark attendance; a change
is told to a LINE runner by push. ``GET /admin/api/calendar-url`` gives the feed's secret path
(:mod:`calendar`), ``POST /admin/api/calendar-url/rotate`` makes a new one.

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
from bot.features.booking.calendar import FEED_PAST_DAYS, calendar_ics, calendar_token, feed_secret, rotate_feed_secret
from bot.features.booking.notices import queue_staff_decision
from bot.features.booking.service import BookingService, Result
from bot.features.booking.staff_view import bookings_json
from bot.features.booking.store import ATTENDED, NO_SHOW
from bot.web.parts import parts_of
from bot.web.staff_auth import StaffRoute, admin_token, error_responses, require_admin, token_matches

#: Who the history names for a change made through the API (the token names no person).
API_STAFF = "管理API"
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
    return await bookings_json(parts_of(request), service, bookings)


@router.get("/bookings/{booking_id}", responses=error_responses(401, 404, 503))
async def one_booking(request: Request, booking_id: str) -> dict[str, Any]:
    service = _service(request)
    booking = await service.bookings.get(booking_id)
    if booking is None:
        raise HTTPException(status_code=404, detail="no such booking")
    return (await bookings_json(parts_of(request), service, [booking]))[0]


@router.post("/bookings/{booking_id}/confirm", responses=error_responses(401, 404, 409, 503))
async def staff_confirm(request: Request, booking_id: str) -> dict[str, Any]:
    service = _service(request)
    result = await service.staff_confirm(booking_id, cause=f"staff:{uuid.uuid4().hex}", staff=API_STAFF)
    return await _decided(request, result, "confirmed")


@router.post("/bookings/{booking_id}/cancel", responses=error_responses(401, 404, 503))
async def staff_cancel(request: Request, booking_id: str) -> dict[str, Any]:
    service = _service(request)
    result = await service.cancel(booking_id, by="staff", cause=f"staff:{uuid.uuid4().hex}", staff=API_STAFF)
    return await _decided(request, result, "cancelled")


@router.post("/bookings/{booking_id}/attended", responses=error_responses(401, 404, 409, 503))
async def staff_attended(request: Request, booking_id: str) -> dict[str, Any]:
    return await _attendance(request, booking_id, ATTENDED)


@router.post("/bookings/{booking_id}/no-show", responses=error_responses(401, 404, 409, 503))
async def staff_no_show(request: Request, booking_id: str) -> dict[str, Any]:
    return await _attendance(request, booking_id, NO_SHOW)


@router.get("/calendar-url", responses=error_responses(401))
async def calendar_url(request: Request) -> dict[str, str]:
    token = admin_token(request)
    if token is None:  # not reached: the staff check has already refused a deployment without a token
        raise HTTPException(status_code=401, detail="a valid admin token is required")
    secret = await feed_secret(parts_of(request).store.redis)
    return {"path": f"/calendar/{calendar_token(token, secret)}.ics"}


@router.post("/calendar-url/rotate", responses=error_responses(401))
async def rotate_calendar_url(request: Request) -> dict[str, str]:
    """A new secret URL for the feed; calendars subscribed to the old one stop receiving bookings."""
    await rotate_feed_secret(parts_of(request).store.redis)
    return await calendar_url(request)


@feed_router.get("/calendar/{token}.ics")
async def calendar_feed(request: Request, token: str) -> Response:
    admin = admin_token(request)  # read per request: rotating ADMIN_TOKEN rotates the feed's URL
    secret = await feed_secret(parts_of(request).store.redis)
    if admin is None or not token_matches(calendar_token(admin, secret), token):
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
    if result.outcome == "ok" and result.booking.on_line:
        await queue_staff_decision(parts_of(request).queue, result.booking.user_id, result.booking.id, did)
    return (await bookings_json(parts_of(request), service, [result.booking]))[0]


async def _attendance(request: Request, booking_id: str, attendance: str) -> dict[str, Any]:
    service = _service(request)
    result = await service.mark_attendance(booking_id, attendance, cause=f"staff:{uuid.uuid4().hex}",
                                           staff=API_STAFF)
    if result.booking is None:
        raise HTTPException(status_code=404, detail="no such booking")
    if result.outcome in ("cancelled", "early"):
        detail = "the booking is cancelled" if result.outcome == "cancelled" else "the booking's day has not come"
        raise HTTPException(status_code=409, detail=detail)
    return (await bookings_json(parts_of(request), service, [result.booking]))[0]


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
