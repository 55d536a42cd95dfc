"""Local mode's LINE: the API stand-in at ``/_line`` and the chat simulator at ``/simulator``.

Both exist only in local mode (no LINE credentials). With a real channel configured nothing here is
mounted, so production answers 404 for ``/simulator`` and ``/_line``: no unauthenticated way to inject
webhooks or read what runners were sent.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from bot.line_standin import StandinState, create_standin_router
from bot.settings import Settings
from bot.simulator.routes import HERE, SimulatorState, create_simulator_router

#: Where the bot's LINE client finds the stand-in in local mode (``Settings.api_base_url``).
STANDIN_PREFIX = "/_line"


def simulator_url(settings: Settings) -> str:
    """The address to open in a browser (a wildcard bind address is reached through loopback)."""
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}/simulator"


def mount(app: FastAPI, settings: Settings) -> None:
    """Mount the stand-in and the simulator in local mode; do nothing when a LINE channel is set."""
    if not settings.local_mode:
        return
    standin = StandinState(validate=True, access_token=settings.access_token())
    simulator = SimulatorState(standin, settings.channel_secret())
    app.state.standin = standin
    app.state.simulator = simulator
    app.include_router(create_standin_router(standin), prefix=STANDIN_PREFIX)
    app.include_router(create_simulator_router(simulator))
    app.mount("/simulator/static", StaticFiles(directory=HERE / "static"), name="simulator-static")


__all__ = ["STANDIN_PREFIX", "SimulatorState", "mount", "simulator_url"]
