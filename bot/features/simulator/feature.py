"""The simulator as the core sees it: routes only, and only in local mode.

With a real channel configured nothing here is mounted, so production answers 404 for ``/simulator``: no
unauthenticated way to inject webhooks or read what runners were sent. It talks to the LINE stand-in the
core mounts in local mode (``bot.local.mount``).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from bot.config.settings import Settings
from bot.extension import Feature


def mount(app: FastAPI, settings: Settings) -> None:
    """Mount the simulator in local mode (after the core mounted the stand-in); nothing otherwise."""
    if not settings.local_mode:
        return
    # Imported only in local mode: a production process never loads the simulator's routes or httpx, its
    # in-process client (~3 MiB of every web process; bench/README.md, memory).
    from bot.features.simulator.routes import HERE, router
    from bot.features.simulator.state import SimulatorState

    simulator = SimulatorState(app.state.standin, settings.channel_secret())
    app.state.simulator = simulator
    app.include_router(router)
    app.mount("/simulator/static", StaticFiles(directory=HERE / "static"), name="simulator-static")


feature = Feature(name="simulator", routes=mount)
