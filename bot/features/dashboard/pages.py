"""The dashboard's pages: login/logout, inbox (with hand-off), funnel (SVG + CSV) and content preview."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from bot.features.booking.service import BookingService
from bot.features.dashboard import auth, funnel, inbox, preview
from bot.features.dashboard.views import back, page, read_form, require_staff, templates
from bot.web.parts import parts_of
from bot.web.staff_auth import admin_token


def _safe_next(value: str | None) -> str:
    """Only a path inside the dashboard: the login form must not become an open redirect."""
    if value and value.startswith("/admin") and not value.startswith("//") and "\\" not in value:
        return value
    return "/admin/inbox"


def create_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/admin")
    async def home(request: Request) -> Response:
        require_staff(request)
        return RedirectResponse("/admin/bookings", status_code=303)

    @router.get("/admin/login")
    async def login_form(request: Request, next: str | None = None, failed: int = 0) -> Response:
        session = auth.current(request)
        if session is None or session.logged_in:
            session = auth.anonymous()
        response = templates.TemplateResponse(request, "login.html", {
            "csrf": auth.csrf_token(request, session), "next": _safe_next(next), "failed": bool(failed),
            "configured": admin_token(request) is not None})
        auth.set_cookie(request, response, session)
        response.headers["Cache-Control"] = "no-store"
        return response

    @router.post("/admin/login")
    async def login(request: Request) -> Response:
        data = await read_form(request, auth.current(request))
        staff = auth.check_login(request, data.get("name", ""), data.get("token", ""))
        target = _safe_next(data.get("next"))
        if staff is None:
            return RedirectResponse(f"/admin/login?failed=1&next={quote(target)}", status_code=303)
        response = RedirectResponse(target, status_code=303)
        auth.set_cookie(request, response, auth.logged_in_as(staff))
        return response

    @router.post("/admin/logout")
    async def logout(request: Request) -> Response:
        await read_form(request, require_staff(request))
        response = RedirectResponse("/admin/login", status_code=303)
        auth.clear_cookie(request, response)
        return response

    # --- inbox -------------------------------------------------------------------------------------

    @router.get("/admin/inbox")
    async def inbox_list(request: Request, all: int = 0) -> Response:
        session = require_staff(request)
        items = await inbox.list_items(parts_of(request), only_open=not all)
        return page(request, "inbox.html", session, items=items, show_all=bool(all), section="inbox")

    @router.get("/admin/inbox/{user_id}")
    async def inbox_detail(request: Request, user_id: str) -> Response:
        session = require_staff(request)
        parts = parts_of(request)
        item = await inbox.load_item(parts, user_id, is_open=await inbox.is_open(parts, user_id))
        return page(request, "inbox_detail.html", session, item=item, nonce=secrets.token_urlsafe(12),
                    section="inbox", max_chars=inbox.MAX_REPLY_CHARS)

    @router.post("/admin/inbox/{user_id}/reply")
    async def inbox_reply(request: Request, user_id: str) -> Response:
        session = require_staff(request)
        data = await read_form(request, session)
        text = data.get("text", "").strip()
        url = f"/admin/inbox/{quote(user_id)}"
        if not text:
            return back(url, "empty")
        nonce = data.get("nonce") or secrets.token_urlsafe(12)
        sent = await inbox.send_reply(parts_of(request), user_id, text, session.staff or "", nonce)
        return back(url, "sent" if sent else "again")

    @router.post("/admin/inbox/{user_id}/take")
    async def inbox_take(request: Request, user_id: str) -> Response:
        session = require_staff(request)
        await read_form(request, session)
        await inbox.take(parts_of(request), user_id, session.staff or "")
        return back(f"/admin/inbox/{quote(user_id)}", "taken")

    @router.post("/admin/inbox/{user_id}/close")
    async def inbox_close(request: Request, user_id: str) -> Response:
        session = require_staff(request)
        await read_form(request, session)
        await inbox.close(parts_of(request), user_id, session.staff or "")
        return back(f"/admin/inbox/{quote(user_id)}", "closed")

    # --- funnel ------------------------------------------------------------------------------------

    async def funnel_rows(request: Request, first: dt.date | None, last: dt.date | None
                          ) -> tuple[list[funnel.Day], dt.date, dt.date]:
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
        charts = [funnel.bar_chart(rows, name, label, funnel.COLORS[i % len(funnel.COLORS)])
                  for i, (name, label) in enumerate(funnel.COLUMNS)]
        return page(request, "funnel.html", session, rows=rows, first=first, last=last, total=total,
                    columns=funnel.COLUMNS, charts=charts, summary=funnel.funnel_chart(total), section="funnel")

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

    # --- content -----------------------------------------------------------------------------------

    @router.get("/admin/content")
    async def content(request: Request) -> Response:
        session = require_staff(request)
        parts = parts_of(request)
        flows = [preview.build(loaded, parts.template_variables()) for loaded in parts.flows]
        return page(request, "content.html", session, flows=flows, warnings=parts.flows.warnings,
                    section="content")

    return router


