"""``bot.app:app`` — the ASGI application LINE calls (``uvicorn bot.app:app``).

It is a complete bot on its own: the lifespan starts a consumer inside the process, so events are handled
without any worker. With no LINE credentials it runs in local mode: a generated channel secret, the embedded
store and the built-in LINE stand-in, so a laptop with nothing installed can talk to it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from linebot.v3 import SignatureValidator

from bot.config.settings import Settings, load_settings
from bot.config.strength import weak_secrets
from bot.extension import Parts
from bot.local.mount import mount_standin
from bot.ops import heap
from bot.ops.logs import configure_logging
from bot.ops.observability import mount as mount_observability
from bot.plugins import FEATURES, enabled
from bot.runtime import build_runtime
from bot.web.favicon import mount_favicon
from bot.web.parts import parts_if_ready
from bot.webhook.events import Event
from bot.webhook.router import WebhookRoute

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    configure_logging(settings.log_level, json_logs=settings.log_json,
                      secrets=settings.secrets_for_logs())
    if settings.production and settings.missing_for_production():
        raise RuntimeError(f"production needs {', '.join(settings.missing_for_production())}")
    if settings.production and weak_secrets(settings):  # the same rules `python -m bot check` applies
        raise RuntimeError("production refuses weak secrets: " + "; ".join(weak_secrets(settings)))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await build_runtime(settings, FEATURES)
        app.state.runtime = runtime
        app.state.parts = runtime.parts
        runtime.start_consumers(settings.inline_consumers, concurrency=settings.inline_consumer_concurrency)
        if settings.inline_scheduler:
            runtime.start_worker_loops()
        heap.settle()  # after start-up: the collector no longer walks what start-up built (bot/ops/heap.py)
        if settings.local_mode:
            log.info("local mode: no LINE channel configured",
                     extra={"simulator": f"http://{settings.host}:{settings.port}/simulator"})
        try:
            yield
        finally:
            await runtime.shutdown()

    # No API browser in production: /docs, /redoc and /openapi.json would map the staff API for anyone.
    hidden: dict[str, None] = {"docs_url": None, "redoc_url": None, "openapi_url": None} if settings.production else {}
    app = FastAPI(title="Seitai clinic LINE assistant", lifespan=lifespan, **hidden)  # type: ignore[arg-type]
    app.state.settings = settings
    queue_proxy = _LazyQueue(app)
    # Added first, so the request-id middleware (added later, hence outside it) still wraps the webhook.
    app.add_middleware(
        WebhookRoute, validator=SignatureValidator(settings.channel_secret()), queue=queue_proxy,
        max_body_bytes=settings.max_body_bytes, max_event_age_s=settings.event_dedupe_seconds,
        accept_timeout_s=settings.store_answer_timeout_s)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        parts = parts_if_ready(request)
        if parts is not None and await parts.store.ping(settings.store_answer_timeout_s):
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "store unavailable"}, status_code=503)

    _mount_extras(app, settings)
    return app


class _LazyQueue:
    """The webhook is routed before the lifespan has built the queue; look it up per request."""

    def __init__(self, app: FastAPI) -> None:
        self._app = app

    async def accept(self, events: Sequence[Event]) -> list[bool]:
        parts: Parts = self._app.state.parts
        return await parts.queue.accept(events)


def _mount_extras(app: FastAPI, settings: Settings) -> None:
    """Routes beyond the webhook: the core's own, then each enabled feature's (each says what it serves)."""
    mount_standin(app, settings)  # local mode only: LINE's API stand-in at /_line
    mount_observability(app, settings)  # GET /metrics, a request id on every log line
    mount_favicon(app)  # the pages' icon, served here (nothing is loaded from elsewhere)
    for feature in enabled(settings):
        if feature.routes is not None:
            feature.routes(app, settings)


app = create_app()
