"""``POST /callback``: LINE's webhook.

Order matters: size, then signature on the raw bytes, then JSON within limits, then each event's shape
(``validation.py``: LINE's types, LINE's id formats, the replay window), then persist, then 200.
Nothing slow happens here — handling and sending to LINE happen in the consumers — so the answer comes in
milliseconds even when LINE's API stalls. If the store is down we answer 503: LINE redelivers later, and
nothing was acknowledged that we could lose.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any, Protocol

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from linebot.v3 import SignatureValidator

from bot.ops import metrics
from bot.webhook.events import Event
from bot.webhook.validation import LINE_MAY_SEND, BodyRefused, drop_reason, parse_body, type_label

log = logging.getLogger(__name__)


class Acceptor(Protocol):
    async def accept(self, events: Sequence[Event]) -> list[bool]: ...


def create_webhook_router(validator: SignatureValidator, queue: Acceptor, *, max_body_bytes: int,
                          max_event_age_s: int, accept_timeout_s: float) -> APIRouter:
    """``max_event_age_s``: the dedupe window (older events are replays); ``accept_timeout_s``: how long the
    store may take to persist a body before LINE is told 503 (it redelivers)."""
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
            payload = parse_body(body)
        except BodyRefused as refused:
            return _error(400, str(refused))
        raw_events = payload.get("events") if isinstance(payload, dict) else None
        if not isinstance(raw_events, list):
            return _error(400, "missing events")
        if not raw_events:
            return JSONResponse({"status": "ok"})  # LINE's URL verification sends no events
        events, dropped = _admit(raw_events, max_event_age_s)
        if not events:
            if set(dropped) <= LINE_MAY_SEND:
                return JSONResponse({"status": "ok", "dropped": dropped})
            return _error(400, "no acceptable events", dropped=dropped)
        return await _persist(queue, events, accept_timeout_s, dropped)

    return router


def _admit(raw_events: list[Any], max_age_s: int) -> tuple[list[Event], dict[str, int]]:
    """The events that may enter, and how many were dropped by reason (each logged and counted)."""
    now = time.time()
    now_ms = int(now * 1000)
    events: list[Event] = []
    dropped: dict[str, int] = {}
    for raw in raw_events:
        reason = drop_reason(raw, now_ms, max_age_s)
        if reason is None:
            events.append(Event(raw=raw, received_at=now))
            continue
        kind = type_label(raw.get("type") if isinstance(raw, dict) else None)
        dropped[reason] = dropped.get(reason, 0) + 1
        metrics.DROPPED.labels(reason, kind).inc()
        # Neither ids nor content: a dropped event's fields are whatever the sender chose to put there.
        log.warning("webhook event dropped", extra={"reason": reason, "event_type": kind})
    return events, dropped


async def _persist(queue: Acceptor, events: list[Event], timeout_s: float, dropped: dict[str, int]) -> Response:
    """Persist the events before 200; a store that fails or stalls gets LINE a 503, and LINE redelivers.

    A timed-out accept may still have been applied (the script ran, the answer was late). That is safe: the
    redelivery carries the same ``webhookEventId``, which the accept script finds already remembered, so the
    event is handled once — and the notice the redelivery adds makes sure the runner's inbox is looked at.
    """
    try:
        fresh = await asyncio.wait_for(queue.accept(events), timeout_s)
    except Exception as exc:  # TimeoutError included: a stalled store is an unavailable store
        log.warning("could not persist webhook events; LINE will redeliver", extra={"error": type(exc).__name__})
        return _error(503, "temporarily unavailable")
    for event, is_new in zip(events, fresh, strict=True):
        if is_new:
            metrics.EVENTS.labels(type_label(event.type)).inc()
        else:
            metrics.DUPLICATES.inc()
    log.info("webhook accepted", extra={"events": len(events), "new": sum(fresh)})  # counts only
    payload: dict[str, Any] = {"status": "ok"}
    if dropped:
        payload["dropped"] = dropped
    return JSONResponse(payload)


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


def _error(status: int, message: str, **details: Any) -> JSONResponse:
    payload: dict[str, Any] = {"message": message, **details}
    return JSONResponse(payload, status_code=status)
