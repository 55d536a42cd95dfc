"""Who may use the staff API: a bearer ``ADMIN_TOKEN``, compared in constant time.

Without ``ADMIN_TOKEN`` set the staff API answers 401 to everyone — except in local mode, where there is no
secret to protect and a developer uses the token ``local`` (printed at start-up).
"""

from __future__ import annotations

import hmac

from fastapi import Header, HTTPException, Request

LOCAL_ADMIN_TOKEN = "local"


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
