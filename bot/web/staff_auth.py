"""Who may use the staff API: a bearer ``ADMIN_TOKEN``, compared in constant time.

Without ``ADMIN_TOKEN`` set the staff API answers 401 to everyone — except in local mode, where there is no
secret to protect and a developer uses the token ``local`` (printed at start-up).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Header, HTTPException, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel

from bot.web.bodies import read_capped, replay

LOCAL_ADMIN_TOKEN = "local"
#: The largest JSON body the staff API reads (a segment message is a few kilobytes).
MAX_API_BODY_BYTES = 256 * 1024

_ERRORS = {
    400: "The body could not be read as JSON text.",
    413: "The body is larger than the staff API reads.",
    401: "No admin token, or a wrong one (`Authorization: Bearer <ADMIN_TOKEN>`).",
    404: "No such booking or runner.",
    409: "The request conflicts with the current state (a cancelled booking; quiet hours).",
    503: "The feature is not installed in this deployment.",
}


class ErrorBody(BaseModel):
    """What the staff API answers on an error: ``{"detail": ...}`` (a sentence, or an object with ``error``)."""

    detail: str | dict[str, Any]


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the staff routes' error answers (so clients and schemathesis know them)."""
    return {code: {"model": ErrorBody, "description": _ERRORS[code]} for code in codes}


def admin_token(request: Request) -> str | None:
    settings = request.app.state.settings
    if settings.admin_token is not None:
        return str(settings.admin_token.get_secret_value())
    return LOCAL_ADMIN_TOKEN if settings.local_mode else None


def token_matches(expected: str | None, given: str | None) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


async def require_admin(request: Request, authorization: str | None = Header(default=None)) -> None:
    """FastAPI dependency: 401 unless ``Authorization: Bearer <ADMIN_TOKEN>``."""
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token_matches(admin_token(request), given.strip()):
        raise HTTPException(status_code=401, detail="a valid admin token is required",
                            headers={"WWW-Authenticate": "Bearer"})


class StaffRoute(APIRoute):
    """A staff route that checks the token before FastAPI reads the body, and reads it with a cap.

    FastAPI parses a JSON body before it runs dependencies, so without this a stranger posting junk would get
    400/422 describing the body instead of 401. FastAPI would also read any body whole; here it is read once,
    stopping at ``MAX_API_BODY_BYTES`` (413), and handed to FastAPI from memory.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            await require_admin(request, request.headers.get("authorization"))
            if request.method in ("GET", "HEAD", "DELETE", "OPTIONS"):
                return await handler(request)
            body = await read_capped(request, MAX_API_BODY_BYTES)
            return await handler(Request(request.scope, replay(body, request.receive)))

        return checked
