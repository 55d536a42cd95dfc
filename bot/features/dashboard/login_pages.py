"""Where staff come in and go out: the dashboard's entry, the login form and logout.

The login form sets an anonymous session first, so its CSRF token is tied to a cookie before anyone logs in.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from bot.features.dashboard import auth
from bot.features.dashboard.views import booking_on, read_form, require_staff, templates
from bot.web.parts import parts_of
from bot.web.staff_auth import admin_token

router = APIRouter(include_in_schema=False)


def _safe_next(value: str | None) -> str:
    """Only a path inside the dashboard: the login form must not become an open redirect."""
    if value and value.startswith("/admin") and not value.startswith("//") and "\\" not in value:
        return value
    return "/admin/inbox"


@router.get("/admin")
async def home(request: Request) -> Response:
    require_staff(request)
    return RedirectResponse("/admin/bookings" if booking_on(parts_of(request)) else "/admin/inbox", status_code=303)


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
