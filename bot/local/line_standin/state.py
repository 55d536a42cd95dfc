"""In-memory state and rules of the local LINE stand-in.

Why separate from the HTTP layer: tests (and the local-mode chat simulator) act on the same
state in-process — issue a reply token, read what a user received, inject a fault — and
the LINE-like rules (single-use expiring reply tokens, 24 h retry keys, quota, faults; rich
menus in ``richmenus.py``) are easier to read and to test without HTTP. What it records is
in ``records.py``.

Thread safety: the stand-in usually serves from a uvicorn thread while a test thread reads
and mutates the same object, so every access goes through one lock. Nothing here awaits.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal

from bot.local.line_standin.records import (
    DeliveredMessage,
    Fault,
    LineApiError,
    RecordedRequest,
    StandinEvent,
    Via,
)
from bot.local.line_standin.richmenus import RichMenus

RETRY_KEY_WINDOW_S = 24 * 60 * 60
MAX_RECORDS = 10_000  # oldest requests/messages/events are dropped beyond this (local mode runs long)
INVALID_REPLY_TOKEN = "Invalid reply token"


@dataclass
class _ReplyToken:
    """Whose token it is, until when, and whether it was spent."""

    user_id: str
    expires_at: float
    used: bool = False


class StandinState(RichMenus):
    """Everything the stand-in remembers; typed accessors for in-process use."""

    def __init__(self, *, validate: bool = True, reply_token_ttl: float = 60.0,
                 access_token: str | None = None, clock: Callable[[], float] = time.time) -> None:
        """``access_token`` None accepts any non-empty bearer token; ``clock`` eases expiry tests."""
        self.validate = validate
        self.reply_token_ttl = reply_token_ttl
        self.access_token = access_token
        self.quota_limit: int | None = None  # None: LINE's "type: none" (no monthly limit)
        self.strict_user_ids = False  # True: push/multicast ``to`` must look like U + 32 hex
        self.clock = clock
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Forget every request, message, token, key, fault, rich menu and profile."""
        with self._lock:
            self._seq = 0
            self._requests: deque[RecordedRequest] = deque(maxlen=MAX_RECORDS)
            self._messages: deque[DeliveredMessage] = deque(maxlen=MAX_RECORDS)
            self._events: deque[StandinEvent] = deque(maxlen=MAX_RECORDS)
            self._tokens: dict[str, _ReplyToken] = {}
            self._retry_keys: dict[str, tuple[str, float, dict[str, Any]]] = {}
            self._faults: list[Fault] = []
            self._reset_rich_menus()
            self._profiles: dict[str, dict[str, Any]] = {}
            self._usage = 0

    def _next_seq(self) -> int:
        """One sequence for requests, messages and events, so pollers can resume anywhere."""
        self._seq += 1
        return self._seq

    # --- inspection -------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        """Every recorded LINE call, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def invalid_requests(self) -> list[RecordedRequest]:
        """Calls rejected for breaking the contract; tests assert this stays empty."""
        return [r for r in self.requests if r.invalid]

    def messages_for(self, user_id: str | None = None) -> list[DeliveredMessage]:
        """Messages delivered to ``user_id`` (everyone when None), in order."""
        with self._lock:
            return [m for m in self._messages if user_id is None or m.user_id == user_id]

    def events_after(self, seq: int = 0) -> list[StandinEvent]:
        """Events newer than ``seq``, for a simulator that polls."""
        with self._lock:
            return [e for e in self._events if e.seq > seq]

    @property
    def last_seq(self) -> int:
        """The latest sequence number handed out (requests, messages and events share it)."""
        with self._lock:
            return self._seq

    def record(self, *, method: str, path: str, status: int, request_id: str, retry_key: str | None,
               body: Any, errors: list[dict[str, str]] | None = None) -> RecordedRequest:
        """Remember one LINE call (called by the HTTP layer for every answer)."""
        with self._lock:
            entry = RecordedRequest(self._next_seq(), method, path, status, request_id, retry_key, body,
                                    self.clock(), errors or [])
            self._requests.append(entry)
            return entry

    def add_event(self, kind: Literal["loading", "richmenu"], user_id: str | None,
                  data: dict[str, Any]) -> None:
        """Publish a non-message event (loading animation, default rich menu change)."""
        with self._lock:
            self._events.append(StandinEvent(self._next_seq(), kind, user_id, data, self.clock()))

    # --- reply tokens -----------------------------------------------------------------
    def issue_reply_token(self, user_id: str, ttl: float | None = None) -> str:
        """A token as a webhook event would carry: one use, valid for ``ttl`` seconds."""
        token = secrets.token_hex(16)
        with self._lock:
            lifetime = self.reply_token_ttl if ttl is None else ttl
            self._tokens[token] = _ReplyToken(user_id, self.clock() + lifetime)
        return token

    def consume_reply_token(self, token: str) -> str:
        """The token's user; unknown, used or expired -> 400 "Invalid reply token" like LINE."""
        with self._lock:
            entry = self._tokens.get(token)
            if entry is None or entry.used or self.clock() > entry.expires_at:
                raise LineApiError(400, INVALID_REPLY_TOKEN)
            entry.used = True
            return entry.user_id

    # --- retry keys -------------------------------------------------------------------
    def accepted_retry_key(self, key: str) -> tuple[str, dict[str, Any]] | None:
        """(request id, response body) of the accepted request with ``key`` in the last 24 h."""
        with self._lock:
            found = self._retry_keys.get(key)
            if found is None or self.clock() - found[1] > RETRY_KEY_WINDOW_S:
                return None
            return found[0], found[2]

    def accept_retry_key(self, key: str, request_id: str, response: dict[str, Any]) -> None:
        """Remember a key once its request succeeded (failed requests may be retried)."""
        with self._lock:
            self._retry_keys[key] = (request_id, self.clock(), response)

    # --- delivery ---------------------------------------------------------------------
    def deliver(self, user_ids: Iterable[str], messages: list[dict[str, Any]], via: Via,
                request_id: str) -> list[dict[str, str]]:
        """Append messages to each user's chat; return LINE's ``sentMessages`` entries."""
        sent: list[dict[str, str]] = []
        with self._lock:
            for user_id in user_ids:
                for message in messages:
                    seq = self._next_seq()
                    entry = DeliveredMessage(seq, user_id, via, message, str(500_000_000_000_000 + seq),
                                             request_id, self.clock())
                    self._messages.append(entry)
                    self._events.append(StandinEvent(seq, "message", user_id, {
                        "via": via, "message": message, "messageId": entry.message_id}, entry.timestamp))
                    sent.append({"id": entry.message_id, "quoteToken": secrets.token_urlsafe(12)})
                if via != "reply":
                    self._usage += len(messages)
        return sent

    def check_quota(self, recipients: int, messages: int) -> None:
        """429 "monthly limit" when a limited quota would be exceeded (replies are free)."""
        with self._lock:
            if self.quota_limit is not None and self._usage + recipients * messages > self.quota_limit:
                raise LineApiError(429, "You have reached your monthly limit.")

    def quota(self) -> dict[str, Any]:
        """The MessageQuotaResponse shape."""
        if self.quota_limit is None:
            return {"type": "none"}
        return {"type": "limited", "value": self.quota_limit}

    @property
    def usage(self) -> int:
        """Messages counted against the monthly quota (push and multicast, per recipient)."""
        with self._lock:
            return self._usage

    # --- faults -----------------------------------------------------------------------
    def add_fault(self, fault: Fault) -> None:
        """Queue a fault; the first matching fault applies to each LINE call."""
        with self._lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        """Back to normal service."""
        with self._lock:
            self._faults.clear()

    @property
    def faults(self) -> list[Fault]:
        """Active faults, in match order."""
        with self._lock:
            return list(self._faults)

    def take_fault(self, path: str) -> Fault | None:
        """The fault for this call, counting it down (and dropping it when spent)."""
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.matches(path):
                    if fault.count is not None:
                        left = fault.count - 1
                        if left <= 0:
                            del self._faults[index]
                        else:
                            self._faults[index] = replace(fault, count=left)
                    return fault
        return None

    # --- profiles ---------------------------------------------------------------------
    def set_profile(self, user_id: str, display_name: str, **extra: Any) -> None:
        """Give a user a display name (and pictureUrl/statusMessage/language if wanted)."""
        with self._lock:
            self._profiles[user_id] = {"displayName": display_name, "userId": user_id, **extra}

    def profile(self, user_id: str) -> dict[str, Any]:
        """The UserProfileResponse; users without a set profile get a stable generated one."""
        with self._lock:
            found = self._profiles.get(user_id)
        return dict(found) if found else {"displayName": f"User {user_id[-4:]}", "userId": user_id,
                                          "language": "ja"}
