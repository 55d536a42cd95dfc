"""The dashboard's pages: login/logout, inbox (with hand-off), funnel (SVG + CSV) and content preview.

Every page needs a logged-in staff session; a browser is sent to the login page, anything else gets 401.
Every form is a POST carrying the session's CSRF token; forms are parsed from the raw body (no multipart
dependency) and refused with 403 without a valid token.
"""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from bot.admin import auth, funnel, inbox, preview
from bot.admin.auth import Session
from bot.admin_auth import admin_token

if TYPE_CHECKING:
    from bot.runtime import Runtime
    from bot.settings import Settings

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
MAX_FORM_BYTES = 64 * 1024
WEEKDAYS_JA = "月火水木金土日"

#: Notices shown after a form, by key (no staff-typed text travels in a URL).
NOTICES = {
    "sent": "送信しました。このランナーさんへのボットの自動返信は止まっています。",
    "again": "この送信はすでに受け付けています(二重送信は送られません)。",
    "taken": "対応を始めました。ボットは止まっています。",
    "closed": "対応を終えました。ボットが再び応答します。",
    "empty": "メッセージが空です。",
    "confirmed": "予約を確認済みにし、ランナーさんにお知らせしました。",
    "cancelled": "予約をキャンセルし、ランナーさんにお知らせしました。",
    "moved": "予約の日時を変更し、ランナーさんにお知らせしました。",
    "added": "予約を追加しました。",
    "full": "その枠は満席です。",
    "unavailable": "その日時は予約できません(営業時間外・締切後など)。",
    "missing": "予約が見つかりません。",
    "already": "すでにその状態です。",
    "late": "変更の締切を過ぎています。",
}


class LoginRequired(Exception):
    """Raised by :func:`require_staff`; a browser goes to the login page, an API client gets 401."""


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def require_staff(request: Request) -> Session:
    session = auth.current(request)
    if session is None or not session.logged_in:
        raise LoginRequired
    return session


async def read_form(request: Request, session: Session | None) -> dict[str, str]:
    """The posted form, only with this session's CSRF token (and from this site, when the browser says)."""
    origin = request.headers.get("origin")
    if origin and origin.rstrip("/") != f"{request.url.scheme}://{request.url.netloc}" and \
            origin.rstrip("/") != f"{request.headers.get('x-forwarded-proto', '')}://{request.url.netloc}":
        raise HTTPException(status_code=403, detail="cross-site form refused")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise HTTPException(status_code=413, detail="form too large")
    data = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
    if not auth.csrf_ok(request, session, data.get("csrf")):
        raise HTTPException(status_code=403, detail="the form's CSRF token is missing or wrong")
    return data


def page(request: Request, name: str, session: Session, **context: Any) -> HTMLResponse:
    tz = runtime_of(request).services.clinic.tz
    context.update(staff=session.staff, csrf=auth.csrf_token(request, session),
                   notice=NOTICES.get(request.query_params.get("done", "")),
                   when=lambda ts: format_when(ts, tz), short=short_id)
    response = templates.TemplateResponse(request, name, context)
    response.headers["Cache-Control"] = "no-store"
    return response


def format_when(ts: float | int | None, tz: dt.tzinfo) -> str:
    if not ts:
        return ""
    moment = dt.datetime.fromtimestamp(float(ts), tz)
    return f"{moment.month}/{moment.day}({WEEKDAYS_JA[moment.weekday()]}) {moment:%H:%M}"


def short_id(user_id: str) -> str:
    return f"{user_id[:5]}…{user_id[-4:]}" if len(user_id) > 12 else user_id


def back(url: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"{url}{'&' if '?' in url else '?'}done={done}", status_code=303)


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
        items = await inbox.list_items(runtime_of(request), only_open=not all)
        return page(request, "inbox.html", session, items=items, show_all=bool(all), section="inbox")

    @router.get("/admin/inbox/{user_id}")
    async def inbox_detail(request: Request, user_id: str) -> Response:
        session = require_staff(request)
        runtime = runtime_of(request)
        item = await inbox.load_item(runtime, user_id, is_open=await inbox.is_open(runtime, user_id))
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
        sent = await inbox.send_reply(runtime_of(request), user_id, text, session.staff or "", nonce)
        return back(url, "sent" if sent else "again")

    @router.post("/admin/inbox/{user_id}/take")
    async def inbox_take(request: Request, user_id: str) -> Response:
        session = require_staff(request)
        await read_form(request, session)
        await inbox.take(runtime_of(request), user_id, session.staff or "")
        return back(f"/admin/inbox/{quote(user_id)}", "taken")

    @router.post("/admin/inbox/{user_id}/close")
    async def inbox_close(request: Request, user_id: str) -> Response:
        session = require_staff(request)
        await read_form(request, session)
        await inbox.close(runtime_of(request), user_id, session.staff or "")
        return back(f"/admin/inbox/{quote(user_id)}", "closed")

    # --- funnel ------------------------------------------------------------------------------------

    async def funnel_rows(request: Request, first: dt.date | None, last: dt.date | None
                          ) -> tuple[list[funnel.Day], dt.date, dt.date]:
        runtime = runtime_of(request)
        clinic = runtime.services.clinic
        now = dt.datetime.now(clinic.tz)
        last = last or now.date()
        first = first or last - dt.timedelta(days=13)
        days = funnel.days_between(first, last)
        bookings: list[Any] = []
        service = runtime.services.booking
        if service is not None:  # bookings made in the range start at most days_ahead after it
            ahead = dt.timedelta(days=clinic.booking.days_ahead + 2)
            start = dt.datetime.combine(days[0], dt.time(), clinic.tz)
            end = dt.datetime.combine(days[-1], dt.time(), clinic.tz) + ahead
            bookings = await service.bookings.between(int(start.timestamp()), int(end.timestamp()))
        rows = await funnel.load(runtime.store.redis, days, bookings, tz=clinic.tz, now=now)
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
        services = runtime_of(request).services
        flows = [preview.build(loaded, services.template_variables()) for loaded in services.flows]
        return page(request, "content.html", session, flows=flows, warnings=services.flows.warnings,
                    section="content")

    return router


async def _login_required(request: Request, exc: Exception) -> Response:
    wants_html = "text/html" in request.headers.get("accept", "")
    if wants_html and request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/admin/login?next={quote(target)}", status_code=303)
    return JSONResponse({"detail": "login required"}, status_code=401)


def mount_pages(app: FastAPI, settings: Settings) -> None:
    from bot.admin.bookings import create_bookings_router

    app.add_exception_handler(LoginRequired, _login_required)
    app.include_router(create_router())
    app.include_router(create_bookings_router())
    app.mount("/admin/static", StaticFiles(directory=str(HERE / "static")), name="admin-static")
