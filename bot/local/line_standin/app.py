"""HTTP face of the local LINE stand-in: LINE's paths, status codes, headers and error bodies.

Why: LINE is unreachable from tests and from local mode, yet the bot's failure handling
(invalid reply token, retry-key 409, 429/5xx back-off, contract 400s) must be exercised for
real. This module only wires the parts: LINE's endpoints (the rules in ``api.py``, each served
through the pipeline in ``calls.py``) and ``/_standin/*``, the control and inspection API for
tests and the chat simulator (``control.py``), over one :class:`StandinState`. Local mode
mounts the router at ``/_line``.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from bot.local.line_standin.api import LINE_ROUTES
from bot.local.line_standin.calls import line_endpoint
from bot.local.line_standin.control import create_control_router
from bot.local.line_standin.state import StandinState


def create_standin_router(state: StandinState) -> APIRouter:
    """LINE's endpoints plus ``/_standin/*`` over ``state``; mount under any prefix."""
    router = APIRouter()
    for method, path, rule, schema in LINE_ROUTES:
        router.add_api_route(path, line_endpoint(state, rule, schema), methods=[method],
                             include_in_schema=False)
    router.include_router(create_control_router(state))
    return router


def create_standin_app(*, validate: bool = True, reply_token_ttl: float = 60.0,
                       state: StandinState | None = None) -> FastAPI:
    """A standalone stand-in app; ``validate``/``reply_token_ttl`` apply only to a new state."""
    state = state or StandinState(validate=validate, reply_token_ttl=reply_token_ttl)
    app = FastAPI(title="LINE Messaging API stand-in", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.standin = state
    app.include_router(create_standin_router(state))
    return app
