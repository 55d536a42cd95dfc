"""The features a bot is made of, listed here, explicitly, in the order they are installed.

This is the one module that names the features (with the entry points that hand this list to the runtime):
the core takes the list, never imports a feature. A feature is switched off with ``DISABLED_FEATURES``.
"""

from __future__ import annotations

from bot.config.settings import Settings
from bot.extension import Feature
from bot.features.booking.feature import feature as booking
from bot.features.dashboard.feature import feature as dashboard
from bot.features.followups.feature import feature as followups
from bot.features.simulator.feature import feature as simulator

#: Booking first: follow-ups and the dashboard use its service when it is there.
FEATURES: tuple[Feature, ...] = (booking, followups, dashboard, simulator)


def enabled(settings: Settings, features: tuple[Feature, ...] = FEATURES) -> tuple[Feature, ...]:
    return tuple(f for f in features if settings.feature_enabled(f.name))
