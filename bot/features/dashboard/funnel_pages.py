"""The funnel pages: the counters of a date range as SVG charts, and the same rows as a CSV download.

Both read the same rows (:func:`funnel_rows`), so the chart and the spreadsheet never disagree.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from bot.features.booking.service import BookingService
from bot.features.dashboard import funnel, funnel_charts
from bot.features.dashboard.views import page, require_staff
from bot.web.parts import parts_of

router = APIRouter(include_in_schema=False)


async def funnel_rows(request: Request, first: dt.date | None, last: dt.date | None
                      ) -> tuple[list[funnel.Day], dt.date, dt.date]:
    """The rows from ``first`` to ``last`` (default: the last 14 days), with bookings when booking is on."""
    parts = parts_of(request)
    clinic = parts.clinic
    now = dt.datetime.now(clinic.tz)
    last = last or now.date()
    first = first or last - dt.timedelta(days=13)
    days = funnel.days_between(first, last)
    bookings: list[Any] = []
    service = parts.maybe(BookingService)
    if service is not None:  # bookings made in the range start at most days_ahead after it
        ahead = dt.timedelta(days=clinic.booking.days_ahead + 2)
        start = dt.datetime.combine(days[0], dt.time(), clinic.tz)
        end = dt.datetime.combine(days[-1], dt.time(), clinic.tz) + ahead
        bookings = await service.bookings.between(int(start.timestamp()), int(end.timestamp()))
    rows = await funnel.load(parts.store.redis, days, bookings, tz=clinic.tz, now=now)
    return rows, days[0], days[-1]


@router.get("/admin/funnel")
async def funnel_page(request: Request, date_from: dt.date | None = None, date_to: dt.date | None = None
                      ) -> Response:
    session = require_staff(request)
    rows, first, last = await funnel_rows(request, date_from, date_to)
    total = funnel.totals(rows)
    path = funnel.stages(total)
    return page(request, "funnel.html", session, rows=rows, first=first, last=last, total=total,
                columns=funnel.COLUMNS, charts=funnel_charts.daily_charts(rows), stages=path,
                aside=[(funnel.LABELS[name], total[name]) for name in funnel.ASIDE],
                questions=funnel.question_rows(rows, parts_of(request).flows),
                summary=funnel_charts.funnel_chart(path), section="funnel")


@router.get("/admin/funnel.csv")
async def funnel_csv(request: Request, date_from: dt.date | None = None, date_to: dt.date | None = None
                     ) -> Response:
    require_staff(request)
    rows, first, last = await funnel_rows(request, date_from, date_to)
    name = f"funnel-{first.isoformat()}-{last.isoformat()}.csv"
    # A BOM so Excel on a clinic PC opens the Japanese headers as UTF-8.
    return Response("\ufeff" + funnel.to_csv(rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store"})
