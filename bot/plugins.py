"""The services every runtime installs, in order, and the actions they bring.

Listed here, explicitly, rather than registered as a side effect of imports: a reader finds in one place
what a running bot is made of, and importing this module is what makes their actions known to the flow
loader (``booking.*``, ``followups.*``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot import booking, builtin_actions, followups
from bot.admin import plugin as dashboard

if TYPE_CHECKING:
    from bot.runtime import Runtime

Installer = Callable[["Runtime"], Awaitable[None] | None]

#: Booking first: follow-ups and the dashboard read bookings.
INSTALLERS: tuple[Installer, ...] = (booking.install, followups.install, dashboard.install)

__all__ = ["INSTALLERS", "Installer", "builtin_actions"]
