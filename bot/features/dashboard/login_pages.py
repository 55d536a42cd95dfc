"""Where staff come in and go out: the dashboard's entry, the login form and logout.

The login form sets an anonymous session first, so its CSRF token is tied to a cookie before anyone logs in.
A login is checked against the person's own account (``bot.web.staff_accounts``) or, as an owner, against
``ADMIN_TOKEN`` (the deployment's key; the name typed beside it is recorded as such). Before any password is
checked, the address and the name must not be locked by too many failures (:mod:`.login_limits`): 429 with
``Retry-After`` then.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from bot.features.dashboard import auth
from bot.features.dashboard.login_limits import LoginLimits
from bot.features.dashboard.views import booking_on, read_form, require_staff, templates
from bot.web.parts import parts_of
from bot.web.staff_accounts import StaffAccounts
from bot.web.staff_auth import admin_token, token_matches

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
    return await _form(request, _safe_next(next), failed=bool(failed))


async def _form(request: Request, target: str, *, failed: bool = False, retry_after: int = 0) -> Response:
    session = auth.current(request)
    if session is None or session.logged_in:
        session = auth.anonymous()
    configured = admin_token(request) is not None or await parts_of(request).need(StaffAccounts).any()
    response = templates.TemplateResponse(request, "login.html", {
        "csrf": auth.csrf_token(request, session), "next": target, "failed": failed,
        "retry_after": retry_after, "configured": configured}, status_code=429 if retry_after else 200)
    auth.set_cookie(request, response, session)
    response.headers["Cache-Control"] = "no-store"
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


@router.post("/admin/login")
async def login(request: Request) -> Response:
    data = await read_form(request, auth.current(request))
    name, secret = data.get("name", "").strip()[:40], data.get("token", "")
    target = _safe_next(data.get("next"))
    parts = parts_of(request)
    limits = parts.need(LoginLimits)
    address = request.client.host if request.client else "unknown"
    wait = await limits.locked_for(address, name)
    if wait:
        return await _form(request, target, retry_after=wait)
    found = await _check(request, name, secret)
    if found is None:
        wait = await limits.failed(address, name)
        if wait:
            return await _form(request, target, failed=True, retry_after=wait)
        return RedirectResponse(f"/admin/login?failed=1&next={quote(target)}", status_code=303)
    await limits.succeeded(address, name)
    staff, role, via = found
    response = RedirectResponse(target, status_code=303)
    auth.set_cookie(request, response, await auth.start(request, staff, role, via))
    return response


async def _check(request: Request, name: str, secret: str) -> tuple[str, str, str] | None:
    """(name, role, how) for a right password or the admin token; None otherwise."""
    account = await parts_of(request).need(StaffAccounts).verify(name, secret)
    if account is not None:
        return account.name, account.role, auth.VIA_PASSWORD
    if token_matches(admin_token(request), secret):
        return name or "管理者", "owner", auth.VIA_TOKEN
    return None


@router.post("/admin/logout")
async def logout(request: Request) -> Response:
    session = require_staff(request)
    await read_form(request, session)
    await auth.end(request, session)
    response = RedirectResponse("/admin/login", status_code=303)
    auth.clear_cookie(request, response)
    return response
