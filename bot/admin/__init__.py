"""The staff dashboard (``/admin``): bookings, the inbox with hand-off, the funnel and a content preview.

Kept light on purpose: ``handlers.message`` imports :mod:`bot.admin.handoff`, and the runtime imports
:mod:`bot.admin.plugin` (commit and forget hooks), so nothing here may import the web pages or the runtime at
import time. ``mount`` is what ``bot.app`` calls to add the pages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from bot.settings import Settings


def mount(app: FastAPI, settings: Settings) -> None:
    """Add the dashboard's pages and static files to the app."""
    from bot.admin.pages import mount_pages

    mount_pages(app, settings)
