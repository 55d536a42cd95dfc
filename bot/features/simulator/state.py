"""What the simulator remembers: its simulated runners and the webhooks it sent for them.

Kept in memory (local mode is one process) and behind a lock: the page's long-poll reads it while a send is
being recorded. The app holds one on ``app.state.simulator``; routes reach it through
:func:`bot.features.simulator.routes.simulator_of`.
"""

from __future__ import annotations

import threading
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any

from bot.local.line_standin import StandinState

MAX_WEBHOOKS = 5_000


@dataclass(slots=True)
class SentWebhook:
    """A webhook the simulator posted: what, for whom, when, how the bot answered, and what LINE shows."""

    index: int
    user_id: str
    timestamp: float
    body: dict[str, Any]
    status: int | None  # None while /callback has not answered yet
    display: str | None  # a postback's displayText: LINE shows it in the chat as the runner's words

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "userId": self.user_id, "timestamp": self.timestamp, "body": self.body,
                "status": self.status, "display": self.display}


class SimulatorState:
    """Simulated runners and the webhooks sent for them (kept in memory: local mode is one process)."""

    def __init__(self, standin: StandinState, channel_secret: str) -> None:
        self.standin = standin
        self.channel_secret = channel_secret
        self.users: dict[str, str] = {}  # userId -> display name, in creation order
        self._webhooks: deque[SentWebhook] = deque(maxlen=MAX_WEBHOOKS)
        self._count = 0
        self._lock = threading.Lock()

    def add_user(self, display_name: str | None = None) -> dict[str, str]:
        user_id = "U" + uuid.uuid4().hex
        return self.ensure_user(user_id, display_name)

    def ensure_user(self, user_id: str, display_name: str | None = None) -> dict[str, str]:
        """Register a runner (and the profile LINE would return for them) unless already known."""
        with self._lock:
            if user_id not in self.users:
                name = display_name or f"ランナー{len(self.users) + 1}"
                self.users[user_id] = name
                self.standin.set_profile(user_id, name, language="ja")
            return {"userId": user_id, "displayName": self.users[user_id]}

    def record(self, user_id: str, body: dict[str, Any], display: str | None, sent_at: float) -> SentWebhook:
        """Remember a webhook *before* it is posted, so the page never sees the bot's answer first."""
        with self._lock:
            entry = SentWebhook(self._count, user_id, sent_at, body, None, display)
            self._count += 1
            self._webhooks.append(entry)
            return entry

    @property
    def webhook_count(self) -> int:
        with self._lock:
            return self._count

    def webhooks_from(self, index: int) -> list[SentWebhook]:
        with self._lock:
            return [w for w in self._webhooks if w.index >= index]
