"""``POST /callback``: LINE's webhook.

Order matters: size, then signature on the raw bytes, then JSON, then persist every event, then 200.
Nothing slow happens here — handling and sending to LINE happen in the consumers — so the answer comes in
milliseconds even when LINE's API stalls. If the store is down we answer 503: LINE redelivers later, and
nothing was acknowledged that we could lose.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from typing import Any, Protocol

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from linebot.v3 import SignatureValidator

from bot.ops import metrics
from bot.webhook.events import Event

log = logging.getLogger(__name__)


class Acceptor(Protocol):
    async def accept(self, events: Sequence[Event]) -> list[bool]: ...


def create_webhook_router(validator: SignatureValidator, queue: Acceptor, max_body_bytes: int) -> APIRouter:
    router = APIRouter()

    @router.post("/callback", include_in_schema=False)
    async def callback(request: Request) -> Response:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_body_bytes:
            return _error(413, "request body too large")
        body = await _read_limited(request, max_body_bytes)
        if body is None:
            return _error(413, "request body too large")
        signature = request.headers.get("x-line-signature", "")
        if not signature or not _signed(validator, body, signature):
            return _error(400, "invalid signature")
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _error(400, "malformed JSON")
        raw_events = payload.get("events") if isinstance(payload, dict) else None
        if not isinstance(raw_events, list):
            return _error(400, "missing events")
        now = time.time()
        events = [Event(raw=e, received_at=now) for e in raw_events if isinstance(e, dict)]
        if not events:
            return JSONResponse({"status": "ok"})  # LINE's URL verification sends no events
        try:
            fresh = await queue.accept(events)
        except Exception:
            log.exception("could not persist webhook events; LINE will redeliver")
            return _error(503, "temporarily unavailable")
        for event, is_new in zip(events, fresh, strict=True):
            if is_new:
                metrics.EVENTS.labels(event.type or "unknown").inc()
            else:
                metrics.DUPLICATES.inc()
        log.info("webhook accepted", extra={"events": len(events), "new": sum(fresh)})  # counts only
        return JSONResponse({"status": "ok"})

    return router


async def _read_limited(request: Request, limit: int) -> bytes | None:
    """Read the body, giving up as soon as it passes ``limit`` (a missing Content-Length proves nothing)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _signed(validator: SignatureValidator, body: bytes, signature: str) -> bool:
    try:
        return bool(validator.validate(body.decode("utf-8"), signature))
    except UnicodeDecodeError:
        return False


def _error(status: int, message: str) -> JSONResponse:
    payload: dict[str, Any] = {"message": message}
    return JSONResponse(payload, status_code=status)
