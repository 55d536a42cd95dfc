"""A local stand-in for LINE's Messaging API (api.line.me and api-data.line.me).

Why: LINE is never reachable from tests or local mode, but the bot's handling of LINE's
answers must be exercised for real: single-use expiring reply tokens, ``X-Line-Retry-Key``
409s, 401s, contract 400s with LINE-style details, injected 429/5xx/slowness. Point
``LINE_API_BASE_URL`` (and the api-data base URL) at it, or mount ``create_standin_router``
inside the bot. ``python -m bot.local.line_standin --port 9999`` runs it alone.
"""

from bot.local.line_standin.app import create_standin_app, create_standin_router
from bot.local.line_standin.records import (
    DeliveredMessage,
    Fault,
    FaultMode,
    LineApiError,
    RecordedRequest,
    StandinEvent,
)
from bot.local.line_standin.richmenus import RichMenu
from bot.local.line_standin.state import StandinState

__all__ = [
    "DeliveredMessage",
    "Fault",
    "FaultMode",
    "LineApiError",
    "RecordedRequest",
    "RichMenu",
    "StandinEvent",
    "StandinState",
    "create_standin_app",
    "create_standin_router",
]
