"""What an operator sees: ``GET /metrics`` (Prometheus text) and a request id on every HTTP log line.

Why the queue gauges are read on scrape: the stream and its pending list live in Redis and are shared by
every replica and worker, so no single process can keep an accurate count; asking Redis (XLEN, XPENDING
summary) when Prometheus scrapes gives every replica the same, true figure at the cost of three commands.

``/metrics`` carries no runner data and no secrets, only counts. Keep it off the public internet all the
same (the reverse proxy in front should route only ``/callback`` and the staff pages).
"""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.config.settings import Settings
from bot.ops import metrics
from bot.ops.logs import correlation_id
from bot.store import Store, keys
from bot.web.parts import parts_if_ready

log = logging.getLogger(__name__)

#: An incoming ``X-Request-Id`` (from the proxy) is kept only if it looks like an id, not free text.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class RequestIdMiddleware:
    """Give each HTTP request an id (the proxy's ``X-Request-Id`` or a new one), log lines carry it as
    ``id``, and the response returns it, so a runner-facing failure can be found in the logs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"x-request-id"), "")
        request_id = given if _SAFE_ID.match(given) else "r-" + secrets.token_hex(8)
        token = correlation_id.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            correlation_id.reset(token)


async def refresh_queue_gauges(store: Store, timeout_s: float | None = None) -> None:
    """Read the shared queue's figures from Redis into the gauges (best effort: a scrape never fails, and a
    stalled store costs it ``timeout_s`` at most — the ping comes first)."""
    redis = store.redis
    up = await store.ping(timeout_s)
    metrics.STORE_UP.set(1 if up else 0)
    if not up:
        return
    try:
        summary: Any = await redis.xpending(keys.EVENT_STREAM, keys.CONSUMER_GROUP)
        metrics.QUEUE_DEPTH.set(int(summary.get("pending", 0)) if isinstance(summary, dict) else 0)
    except Exception as exc:  # NOGROUP before the first consumer ran: nothing is pending
        if "NOGROUP" not in str(exc):
            log.warning("could not read the queue's pending count", extra={"error": type(exc).__name__})
        metrics.QUEUE_DEPTH.set(0)
    try:
        metrics.STREAM_LENGTH.set(int(await redis.xlen(keys.EVENT_STREAM)))
        metrics.DEAD_LETTERS.set(int(await redis.llen(keys.DEAD_LETTERS)))
    except Exception as exc:
        log.warning("could not read the queue's length", extra={"error": type(exc).__name__})


def mount(app: FastAPI, settings: Settings) -> None:
    """``GET /metrics`` and the request-id middleware."""
    app.add_middleware(RequestIdMiddleware)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics(request: Request) -> Response:
        parts = parts_if_ready(request)
        if parts is not None:
            await refresh_queue_gauges(parts.store, settings.store_answer_timeout_s)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
