"""The one way a web route reaches the bot's parts: ``Depends(parts_of)`` or ``parts_of(request)``.

Routes are added when the app is made, before its lifespan builds the parts, so they look them up per
request here rather than each reading ``request.app.state`` in its own way.
"""

from __future__ import annotations

from fastapi import HTTPException, Request

from bot.extension import Parts


def parts_if_ready(request: Request) -> Parts | None:
    """The parts, or ``None`` before start-up finished (or after shutdown)."""
    parts: Parts | None = getattr(request.app.state, "parts", None)
    return parts


def parts_of(request: Request) -> Parts:
    parts = parts_if_ready(request)
    if parts is None:
        raise HTTPException(status_code=503, detail="starting up")
    return parts
