"""``POST /callback``: LINE's webhook (plain ASGI in front of the app: :class:`WebhookRoute`).

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

from fastapi import HTTPException
from linebot.v3 import SignatureValidator
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.ops import metrics
from bot.web.bodies import read_capped
from bot.webhook.events import Event
from bot.webhook.validation import LINE_MAY_SEND, BodyRefused, drop_reason, parse_body, type_label

log = logging.getLogger(__name__)


class Acceptor(Protocol):
    async def accept(self, events: Sequence[Event]) -> list[bool]: ...


class WebhookRoute:
    """``/callback`` answered as plain ASGI, in front of FastAPI's routing; every other path goes on to ``app``.

    Why not a FastAPI route: at 300 webhooks/s the framework's layers around the endpoint (routing, dependency
    solving, the exception and exit-stack middlewares) took about as much of the web process's time as the
    endpoint itself (py-spy, ``python -m bench.tailprobe``), and the endpoint uses none of them: it reads
    the raw bytes, checks the signature with line-bot-sdk's ``SignatureValidator`` and answers JSON. Added
    with ``app.add_middleware`` before the request-id middleware, so that one still wraps it.
    """

    def __init__(self, app: ASGIApp, *, validator: SignatureValidator, queue: Acceptor, max_body_bytes: int,
                 max_event_age_s: int, accept_timeout_s: float, path: str = "/callback") -> None:
        """``max_event_age_s``: the dedupe window (older events are replays); ``accept_timeout_s``: how long
        the store may take to persist a body before LINE is told 503 (it redelivers)."""
        self.app = app
        self.validator = validator
        self.queue = queue
        self.max_body_bytes = max_body_bytes
        self.max_event_age_s = max_event_age_s
        self.accept_timeout_s = accept_timeout_s
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        if scope["method"] != "POST":
            response: Response = JSONResponse({"detail": "Method Not Allowed"}, status_code=405,
                                              headers={"Allow": "POST"})
        else:
            try:
                response = await self.callback(Request(scope, receive))
            except ClientDisconnect:
                return  # LINE hung up before the body arrived: nobody to answer, nothing accepted
        await response(scope, receive, send)

    async def callback(self, request: Request) -> Response:
        try:  # the cap every unauthenticated body has: the declared length, then while reading
            body = await read_capped(request, self.max_body_bytes)
        except HTTPException as too_large:
            return _error(too_large.status_code, str(too_large.detail))
        signature = request.headers.get("x-line-signature", "")
        if not signature or not _signed(self.validator, body, signature):
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
        events, dropped = _admit(raw_events, self.max_event_age_s)
        if not events:
            if set(dropped) <= LINE_MAY_SEND:
                return JSONResponse({"status": "ok", "dropped": dropped})
            return _error(400, "no acceptable events", dropped=dropped)
        return await _persist(self.queue, events, self.accept_timeout_s, dropped)


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
    # DEBUG, not INFO: one line per webhook was the costliest log line at load (counts only; the metrics above
    # count the same, and LOG_LEVEL=DEBUG shows it again).
    log.debug("webhook accepted", extra={"events": len(events), "new": sum(fresh)})
    payload: dict[str, Any] = {"status": "ok"}
    if dropped:
        payload["dropped"] = dropped
    return JSONResponse(payload)


def _signed(validator: SignatureValidator, body: bytes, signature: str) -> bool:
    try:
        return bool(validator.validate(body.decode("utf-8"), signature))
    except UnicodeDecodeError:
        return False


def _error(status: int, message: str, **details: Any) -> JSONResponse:
    payload: dict[str, Any] = {"message": message, **details}
    return JSONResponse(payload, status_code=status)
