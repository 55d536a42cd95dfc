"""Local mode's LINE: the Messaging API stand-in, mounted inside the app at ``/_line``.

With no LINE credentials the bot's LINE client calls this stand-in over loopback (``Settings.api_base_url``),
so a laptop with nothing installed runs the very same code path as production. With a real channel
configured nothing is mounted: production answers 404 for ``/_line``.
"""

from __future__ import annotations

import ipaddress

from fastapi import FastAPI

from bot.config.settings import Settings
from bot.local.line_standin import StandinState, create_standin_router

#: Where the bot's LINE client finds the stand-in in local mode (``Settings.api_base_url``).
STANDIN_PREFIX = "/_line"


def is_loopback(host: str) -> bool:
    """True for an address only this machine reaches (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def local_url(settings: Settings, path: str) -> str:
    """The address of ``path`` to open in a browser (a wildcard bind address is reached through loopback)."""
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}{path}"


def mount_standin(app: FastAPI, settings: Settings) -> None:
    """Mount the stand-in in local mode (its state on ``app.state.standin``); nothing with a LINE channel."""
    if not settings.local_mode:
        return
    standin = StandinState(validate=True, access_token=settings.access_token())
    app.state.standin = standin
    app.include_router(create_standin_router(standin), prefix=STANDIN_PREFIX)
