"""Staff sessions for the dashboard: a session id in Redis behind a signed cookie, a CSRF token per session.

- A logged-in session is a record in Redis (``lb:{staff}:session:<id>``: who, role, how they logged in, the
  CSRF nonce), expiring after ``SESSION_SECONDS``. The cookie carries only its id and expiry, signed. Logging
  out deletes the record; removing an account, or changing its password or role, deletes all of that person's
  records (:mod:`bot.web.staff_accounts`) — a copied cookie is worthless from then on.
- The login form's own session is anonymous and lives only in its signed cookie (nothing is stored for a
  stranger who opens the login page).
- The signing key comes from ``SESSION_SECRET``, or — when unset — from a random secret generated once and
  kept in Redis, so every replica shares it. It is never derived from ``ADMIN_TOKEN``: a cookie must not be
  a way to test guesses of the token offline.

The cookie is HttpOnly, SameSite=Strict, and Secure when the dashboard is reached over https. CSRF: every
form carries ``HMAC(key, "csrf:" + nonce)``; a token from another session (or none) is refused.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response

from bot.config.settings import Settings
from bot.store.keys import PREFIX
from bot.web.parts import parts_of
from bot.web.staff_accounts import session_key, sessions_of

COOKIE = "lb_admin"
SESSION_SECONDS = 12 * 3600
ANONYMOUS_SECONDS = 3600
#: Where a generated signing secret is kept when ``SESSION_SECRET`` is not set.
GENERATED_SECRET = f"{PREFIX}:{{staff}}:session-secret"
#: How the person proved who they are: their own password, or the deployment's ``ADMIN_TOKEN``.
VIA_PASSWORD, VIA_TOKEN = "password", "token"


class SessionKey:
    """The dashboard's signing key, a service in the parts. Read on the first request (not at start-up: the
    app must start, and say it is not ready, while Redis is away); ``on_first_use`` runs once with it
    (importing ``ADMIN_STAFF_PASSWORDS``)."""

    def __init__(self, redis: Any, settings: Settings,
                 on_first_use: Callable[[], Awaitable[object]] | None = None) -> None:
        self.redis, self.settings, self.on_first_use = redis, settings, on_first_use
        self._key: bytes | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> bytes:
        if self._key is None:
            async with self._lock:
                if self._key is None:
                    if self.on_first_use is not None:
                        await self.on_first_use()
                    self._key = await signing_key(self.redis, self.settings)
        return self._key


@dataclass(frozen=True, slots=True)
class Session:
    nonce: str
    expires: float
    staff: str | None = None  # None: not logged in (a login form's session)
    role: str = "staff"
    session_id: str | None = None
    via: str = VIA_PASSWORD

    @property
    def logged_in(self) -> bool:
        return self.staff is not None

    @property
    def owner(self) -> bool:
        return self.logged_in and self.role == "owner"

    @property
    def actor(self) -> str:
        """Who a change is recorded as: the name, marked when it was typed beside the shared token."""
        return f"{self.staff}(管理トークン)" if self.via == VIA_TOKEN else str(self.staff)


async def signing_key(redis: Any, settings: Settings) -> bytes:
    """From ``SESSION_SECRET``, else the secret kept in Redis (made by whichever replica asks first)."""
    if settings.session_secret is not None:
        secret = settings.session_secret.get_secret_value()
    else:
        await redis.set(GENERATED_SECRET, secrets.token_urlsafe(48), nx=True)
        secret = str(await redis.get(GENERATED_SECRET))
    return hmac.new(secret.encode(), b"lb-admin-session-v2", hashlib.sha256).digest()


def _key(request: Request) -> bytes:
    """The key :func:`load` fetched for this request (every dashboard route loads it first)."""
    key: bytes = request.state.admin_key
    return key


def _sign(key: bytes, payload: bytes) -> str:
    return base64.urlsafe_b64encode(hmac.new(key, payload, hashlib.sha256).digest()).decode().rstrip("=")


def encode(key: bytes, data: dict[str, Any]) -> str:
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return f"{base64.urlsafe_b64encode(payload).decode().rstrip('=')}.{_sign(key, payload)}"


def decode(key: bytes, value: str, now: float | None = None) -> dict[str, Any] | None:
    """The cookie's signed data, or None when forged, edited or expired."""
    body, _, signature = value.partition(".")
    try:
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        if not hmac.compare_digest(_sign(key, payload), signature):
            return None
        data = json.loads(payload)
        expires = float(data["e"])
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(data, dict) or expires < (time.time() if now is None else now):
        return None
    return data


async def load(request: Request) -> Session | None:
    """The request's valid session (logged in or anonymous), if any; a logged-in one only while its record
    is in Redis. Remembered on the request, so the pages' ``require_staff`` can stay synchronous."""
    if hasattr(request.state, "admin_session"):
        found: Session | None = request.state.admin_session
        return found
    request.state.admin_key = await parts_of(request).need(SessionKey).get()
    request.state.admin_session = await _load(request)
    return request.state.admin_session  # type: ignore[no-any-return]


async def _load(request: Request) -> Session | None:
    raw = request.cookies.get(COOKIE)
    data = decode(_key(request), raw) if raw else None
    if data is None:
        return None
    if "i" not in data:
        return Session(nonce=str(data.get("n", "")), expires=float(data["e"]))
    record = await parts_of(request).store.redis.hgetall(session_key(str(data["i"])))
    if not record:
        return None  # logged out, revoked, or expired
    return Session(nonce=record["nonce"], expires=float(record["expires"]), staff=record["staff"],
                   role=record.get("role", "staff"), session_id=str(data["i"]), via=record.get("via", VIA_PASSWORD))


def current(request: Request) -> Session | None:
    """The session :func:`load` found for this request (pages run it as a router dependency)."""
    found: Session | None = getattr(request.state, "admin_session", None)
    return found


def csrf_token(request: Request, session: Session) -> str:
    return _sign(_key(request), f"csrf:{session.nonce}".encode())


def csrf_ok(request: Request, session: Session | None, given: str | None) -> bool:
    if session is None or not given:
        return False
    return hmac.compare_digest(csrf_token(request, session), given)


def secure(request: Request) -> bool:
    """Mark the cookie Secure whenever the staff reach the dashboard over https."""
    public_url = str(getattr(request.app.state.settings, "public_url", "") or "")
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded == "https" or public_url.startswith("https://")


def set_cookie(request: Request, response: Response, session: Session) -> None:
    data: dict[str, Any] = {"e": int(session.expires)}
    if session.session_id is not None:
        data["i"] = session.session_id
    else:
        data["n"] = session.nonce
    response.set_cookie(COOKIE, encode(_key(request), data), max_age=int(session.expires - time.time()),
                        path="/admin", httponly=True, samesite="strict", secure=secure(request))


def clear_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(COOKIE, path="/admin", httponly=True, samesite="strict", secure=secure(request))


def anonymous() -> Session:
    return Session(nonce=secrets.token_urlsafe(16), expires=time.time() + ANONYMOUS_SECONDS)


async def start(request: Request, staff: str, role: str, via: str) -> Session:
    """A new session in Redis, with a fresh nonce: a CSRF token seen before login is worthless after it."""
    session = Session(nonce=secrets.token_urlsafe(16), expires=time.time() + SESSION_SECONDS, staff=staff,
                      role=role, session_id=secrets.token_urlsafe(24), via=via)
    assert session.session_id is not None
    redis = parts_of(request).store.redis
    key = session_key(session.session_id)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hset(key, mapping={"staff": staff, "role": role, "via": via, "nonce": session.nonce,
                                "expires": str(session.expires), "created": str(time.time())})
        pipe.expire(key, SESSION_SECONDS)
        pipe.sadd(sessions_of(staff), session.session_id)
        pipe.expire(sessions_of(staff), SESSION_SECONDS)
        await pipe.execute()
    return session


async def end(request: Request, session: Session) -> None:
    """Logout: the record goes, so the cookie (and any copy of it) no longer opens anything."""
    if session.session_id is None or session.staff is None:
        return
    redis = parts_of(request).store.redis
    await redis.delete(session_key(session.session_id))
    await redis.srem(sessions_of(session.staff), session.session_id)
