"""Staff sessions for the dashboard: a signed cookie, a CSRF token per session, and the login check.

Why our own HMAC instead of a session store: the cookie carries only who is logged in, a random nonce and
an expiry, signed with a key derived from ``ADMIN_TOKEN`` — so changing the token logs everyone out, and any
replica can check a cookie without asking Redis. The cookie is HttpOnly, SameSite=Strict, and Secure when
the dashboard is reached over https (directly, behind a proxy that says so, or ``PUBLIC_URL`` is https).

CSRF: every form carries ``csrf = HMAC(key, "csrf:" + nonce)``; the nonce lives in the signed cookie, so a
token from another session (or none) is refused. The login form is protected the same way by an anonymous
session cookie that the login page hands out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response

from bot.web.staff_auth import admin_token, token_matches

COOKIE = "lb_admin"
SESSION_SECONDS = 12 * 3600
ANONYMOUS_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class Session:
    nonce: str
    expires: float
    staff: str | None = None  # None: not logged in (a login form's session)

    @property
    def logged_in(self) -> bool:
        return self.staff is not None


def _key(request: Request) -> bytes | None:
    token = admin_token(request)
    if not token:
        return None
    return hmac.new(token.encode(), b"lb-admin-session-v1", hashlib.sha256).digest()


def _sign(key: bytes, payload: bytes) -> str:
    return base64.urlsafe_b64encode(hmac.new(key, payload, hashlib.sha256).digest()).decode().rstrip("=")


def encode(key: bytes, session: Session) -> str:
    payload = json.dumps({"n": session.nonce, "e": int(session.expires), "s": session.staff},
                         ensure_ascii=False, separators=(",", ":")).encode()
    body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    return f"{body}.{_sign(key, payload)}"


def decode(key: bytes, value: str, now: float | None = None) -> Session | None:
    body, _, signature = value.partition(".")
    try:
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (ValueError, TypeError):
        return None
    if not hmac.compare_digest(_sign(key, payload), signature):
        return None
    try:
        data: dict[str, Any] = json.loads(payload)
        session = Session(nonce=str(data["n"]), expires=float(data["e"]),
                          staff=None if data.get("s") is None else str(data["s"]))
    except (ValueError, KeyError, TypeError):
        return None
    if session.expires < (time.time() if now is None else now):
        return None
    return session


def current(request: Request) -> Session | None:
    """The request's valid session (logged in or anonymous), if any."""
    key = _key(request)
    raw = request.cookies.get(COOKIE)
    if key is None or not raw:
        return None
    return decode(key, raw)


def csrf_token(request: Request, session: Session) -> str:
    key = _key(request) or b""
    return _sign(key, f"csrf:{session.nonce}".encode())


def csrf_ok(request: Request, session: Session | None, given: str | None) -> bool:
    if session is None or not given or _key(request) is None:
        return False
    return hmac.compare_digest(csrf_token(request, session), given)


def secure(request: Request) -> bool:
    """Mark the cookie Secure whenever the staff reach the dashboard over https."""
    public_url = str(getattr(request.app.state.settings, "public_url", "") or "")
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded == "https" or public_url.startswith("https://")


def set_cookie(request: Request, response: Response, session: Session) -> None:
    key = _key(request)
    if key is None:
        return
    response.set_cookie(COOKIE, encode(key, session), max_age=int(session.expires - time.time()),
                        path="/admin", httponly=True, samesite="strict", secure=secure(request))


def clear_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(COOKIE, path="/admin", httponly=True, samesite="strict", secure=secure(request))


def anonymous() -> Session:
    return Session(nonce=secrets.token_urlsafe(16), expires=time.time() + ANONYMOUS_SECONDS)


def logged_in_as(staff: str) -> Session:
    """A fresh nonce at login: a session (and CSRF token) seen before login is worthless after it."""
    return Session(nonce=secrets.token_urlsafe(16), expires=time.time() + SESSION_SECONDS, staff=staff)


def check_login(request: Request, name: str, secret: str) -> str | None:
    """The staff name to log in as, or None. Per-staff passwords (``ADMIN_STAFF_PASSWORDS``) or the token."""
    name = name.strip()[:40]
    staff_passwords = _staff_passwords(request)
    if name and name in staff_passwords and token_matches(staff_passwords[name], secret):
        return name
    if token_matches(admin_token(request), secret):
        return name or "スタッフ"
    return None


def _staff_passwords(request: Request) -> dict[str, str]:
    """``ADMIN_STAFF_PASSWORDS="山田:pw1,佐藤:pw2"``: each person logs in with their own password."""
    raw = getattr(request.app.state.settings, "admin_staff_passwords", None)
    if raw is None:
        return {}
    text = raw.get_secret_value() if hasattr(raw, "get_secret_value") else str(raw)
    pairs = (item.split(":", 1) for item in text.split(",") if ":" in item)
    return {name.strip(): password.strip() for name, password in pairs if name.strip() and password.strip()}
