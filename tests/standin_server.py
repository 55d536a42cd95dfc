"""Run the LINE stand-in on a real loopback port for tests.

Why a real server (not ASGI transport): the bot talks to LINE through line-bot-sdk over
aiohttp, so tests must exercise real HTTP — timeouts, connection refused, keep-alive — and
the bot only needs ``LINE_API_BASE_URL = server.base_url``. The state is shared in-process,
so a test can issue reply tokens, inject faults and read deliveries without HTTP.

"LINE is down" for real (connection refused) is ``with server.down(): ...``: the server stops
and restarts on the same port afterwards. The ``down`` fault mode answers 503 instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from bot.local.line_standin import (
    DeliveredMessage,
    Fault,
    FaultMode,
    StandinState,
    create_standin_app,
    create_standin_router,
)

TEST_ACCESS_TOKEN = "standin-test-token"
START_TIMEOUT_S = 10.0


class StandinServer:
    """A stand-in served by uvicorn in a daemon thread on 127.0.0.1 (free port by default)."""

    def __init__(self, *, validate: bool = True, reply_token_ttl: float = 60.0, port: int = 0,
                 host: str = "127.0.0.1", prefix: str = "") -> None:
        """Configure; ``start()`` (or ``with``) binds the port.

        ``prefix`` mounts the router under a path, as local mode does inside the bot
        (``/_line``); ``base_url`` then includes it.
        """
        self.host = host
        self.port = port
        self.prefix = prefix.rstrip("/")
        self._defaults = (validate, reply_token_ttl)
        self.state = StandinState(validate=validate, reply_token_ttl=reply_token_ttl)
        self._app = create_standin_app(state=self.state)
        if self.prefix:
            self._app = FastAPI()
            self._app.include_router(create_standin_router(self.state), prefix=self.prefix)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------------
    def start(self) -> StandinServer:
        """Serve until ``stop()``; after the first start the port stays the same."""
        if self.running:
            return self
        config = uvicorn.Config(self._app, host=self.host, port=self.port, log_level="warning",
                                access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="line-standin", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"LINE stand-in did not start on {self.host}:{self.port}")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        """Stop serving; new connections are refused until ``start()``."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=START_TIMEOUT_S)
        self._server = self._thread = None

    @property
    def running(self) -> bool:
        """Whether the server thread is serving."""
        return self._thread is not None and self._thread.is_alive()

    @contextmanager
    def down(self) -> Iterator[None]:
        """LINE unreachable (connection refused) inside the block; back up afterwards."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def __enter__(self) -> StandinServer:
        """Start on entry."""
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        """Stop on exit."""
        self.stop()

    # --- what tests use ---------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """The LINE base URL to give the bot (for api.line.me and api-data.line.me alike)."""
        return f"http://{self.host}:{self.port}{self.prefix}"

    def client(self, token: str | None = TEST_ACCESS_TOKEN, **kwargs: Any) -> httpx.Client:
        """An httpx client on ``base_url`` sending ``Authorization: Bearer <token>``."""
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return httpx.Client(base_url=self.base_url, headers=headers, **kwargs)

    def reset(self) -> None:
        """Fresh state and default settings, and serving again (between tests)."""
        self.state.reset()
        self.state.validate, self.state.reply_token_ttl = self._defaults
        self.state.access_token = None
        self.state.quota_limit = None
        self.state.strict_user_ids = False
        self.start()

    def issue_reply_token(self, user_id: str, ttl: float | None = None) -> str:
        """A reply token for ``user_id``, as a webhook event would carry it."""
        return self.state.issue_reply_token(user_id, ttl)

    def set_fault(self, mode: FaultMode, *, status: int = 503, delay: float = 0.0, count: int | None = None,
                  paths: tuple[str, ...] = (), retry_after: float | None = None) -> Fault:
        """Inject a fault (see ``bot.local.line_standin.records.Fault``); returns it."""
        fault = Fault(mode, status, delay, count, paths, retry_after)
        self.state.add_fault(fault)
        return fault

    def clear_faults(self) -> None:
        """Back to normal service."""
        self.state.clear_faults()

    def messages_for(self, user_id: str) -> list[DeliveredMessage]:
        """What ``user_id`` received, in order (``.message`` is the message JSON)."""
        return self.state.messages_for(user_id)

    def texts_for(self, user_id: str) -> list[str]:
        """Just the texts of the text messages ``user_id`` received."""
        return [str(m.message.get("text")) for m in self.messages_for(user_id)
                if m.message.get("type") in ("text", "textV2")]
