"""In-memory state and rules of the local LINE stand-in.

Why separate from the HTTP layer: tests (and the local-mode chat simulator) act on the same
state in-process — issue a reply token, read what a user received, inject a fault — and
the LINE-like rules (single-use expiring reply tokens, 24 h retry keys, rich menus needing
an image before they become default) are easier to read and to test without HTTP.

Thread safety: the stand-in usually serves from a uvicorn thread while a test thread reads
and mutates the same object, so every access goes through one lock. Nothing here awaits.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

Via = Literal["reply", "push", "multicast"]
FaultMode = Literal["slow", "status", "down"]

RETRY_KEY_WINDOW_S = 24 * 60 * 60
MAX_RECORDS = 10_000  # oldest requests/messages/events are dropped beyond this (local mode runs long)
INVALID_REPLY_TOKEN = "Invalid reply token"
RETRY_KEY_ACCEPTED = "The retry key is already accepted"


class LineApiError(Exception):
    """An error answer the way LINE shapes it: status, ``{"message", "details"?}``, headers."""

    def __init__(self, status: int, message: str, *, details: list[dict[str, str]] | None = None,
                 headers: dict[str, str] | None = None, extra: dict[str, Any] | None = None) -> None:
        """Keep the parts the HTTP layer turns into a response."""
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.details = details or []
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        """JSON body; ``details`` only when non-empty, as LINE does."""
        out: dict[str, Any] = {"message": self.message, **self.extra}
        if self.details:
            out["details"] = self.details
        return out


@dataclass(frozen=True)
class RecordedRequest:
    """One call to a LINE endpoint as the stand-in saw it (never the Authorization header)."""

    seq: int
    method: str
    path: str
    status: int
    request_id: str
    retry_key: str | None
    body: Any
    timestamp: float
    errors: list[dict[str, str]] = field(default_factory=list)

    @property
    def invalid(self) -> bool:
        """True when the body broke the contract (a bug in the bot, never a LINE hiccup)."""
        return bool(self.errors)

    def to_json(self) -> dict[str, Any]:
        """Camel-cased like the rest of the API."""
        return {"seq": self.seq, "method": self.method, "path": self.path, "status": self.status,
                "requestId": self.request_id, "retryKey": self.retry_key, "body": self.body,
                "timestamp": self.timestamp, "invalid": self.invalid, "errors": self.errors}


@dataclass(frozen=True)
class DeliveredMessage:
    """A message that reached a user's chat, in delivery order."""

    seq: int
    user_id: str
    via: Via
    message: dict[str, Any]
    message_id: str
    request_id: str
    timestamp: float

    def to_json(self) -> dict[str, Any]:
        """Camel-cased for the inspection API."""
        return {"seq": self.seq, "userId": self.user_id, "via": self.via, "message": self.message,
                "messageId": self.message_id, "requestId": self.request_id, "timestamp": self.timestamp}


@dataclass(frozen=True)
class StandinEvent:
    """Something a chat simulator shows: a message, a loading animation, a rich menu change."""

    seq: int
    kind: Literal["message", "loading", "richmenu"]
    user_id: str | None
    data: dict[str, Any]
    timestamp: float

    def to_json(self) -> dict[str, Any]:
        """Flat JSON for polling clients."""
        return {"seq": self.seq, "kind": self.kind, "userId": self.user_id, **self.data,
                "timestamp": self.timestamp}


@dataclass(frozen=True)
class Fault:
    """An injected failure for the next ``count`` matching LINE calls (None: until cleared).

    ``slow`` delays then answers normally (a client may time out although LINE accepted);
    ``status`` answers ``status`` (429/500/503...) without processing; ``down`` answers 503
    at once for every call. Real "connection refused" needs the server stopped (see
    tests/standin_server.py).
    """

    mode: FaultMode
    status: int = 503
    delay: float = 0.0
    count: int | None = None
    paths: tuple[str, ...] = ()
    retry_after: float | None = None

    def matches(self, path: str) -> bool:
        """Empty ``paths`` means every LINE endpoint; otherwise any prefix match."""
        return not self.paths or any(path.startswith(prefix) for prefix in self.paths)


@dataclass
class _ReplyToken:
    """Whose token it is, until when, and whether it was spent."""

    user_id: str
    expires_at: float
    used: bool = False


@dataclass
class RichMenu:
    """A created rich menu and its uploaded image (LINE accepts one image, once)."""

    rich_menu_id: str
    body: dict[str, Any]
    image: bytes | None = None
    content_type: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The RichMenuResponse shape."""
        return {"richMenuId": self.rich_menu_id, **self.body}


class StandinState:
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
            self._rich_menus: dict[str, RichMenu] = {}
            self._default_rich_menu: str | None = None
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

    # --- rich menus -------------------------------------------------------------------
    def create_rich_menu(self, body: dict[str, Any]) -> str:
        """Store a rich menu; ids look like LINE's ``richmenu-<32 hex>``."""
        menu = RichMenu(f"richmenu-{uuid.uuid4().hex}", body)
        with self._lock:
            self._rich_menus[menu.rich_menu_id] = menu
        return menu.rich_menu_id

    def rich_menu(self, rich_menu_id: str) -> RichMenu:
        """A rich menu, or 404 like LINE."""
        with self._lock:
            menu = self._rich_menus.get(rich_menu_id)
        if menu is None:
            raise LineApiError(404, "Not found")
        return menu

    @property
    def rich_menus(self) -> list[RichMenu]:
        """All rich menus, in creation order."""
        with self._lock:
            return list(self._rich_menus.values())

    def delete_rich_menu(self, rich_menu_id: str) -> None:
        """Delete (404 if unknown); deleting the default menu unsets the default."""
        with self._lock:
            self.rich_menu(rich_menu_id)
            del self._rich_menus[rich_menu_id]
            if self._default_rich_menu == rich_menu_id:
                self._set_default(None)

    def set_rich_menu_image(self, rich_menu_id: str, content_type: str, image: bytes) -> None:
        """Attach the image; LINE refuses a second upload for the same menu."""
        with self._lock:
            menu = self.rich_menu(rich_menu_id)
            if menu.image is not None:
                raise LineApiError(400, "An image has already been uploaded to the richmenu")
            menu.image, menu.content_type = image, content_type

    def set_default_rich_menu(self, rich_menu_id: str) -> None:
        """Make a menu everyone's default; it must exist and have its image (as on LINE)."""
        with self._lock:
            if self.rich_menu(rich_menu_id).image is None:
                raise LineApiError(400, "must upload richmenu image before applying it to user")
            self._set_default(rich_menu_id)

    def clear_default_rich_menu(self) -> None:
        """Unset the default rich menu (no error when none is set)."""
        with self._lock:
            self._set_default(None)

    @property
    def default_rich_menu_id(self) -> str | None:
        """The rich menu shown to every user, if any."""
        with self._lock:
            return self._default_rich_menu

    def _set_default(self, rich_menu_id: str | None) -> None:
        """Change the default and tell pollers (the simulator redraws the menu)."""
        if self._default_rich_menu != rich_menu_id:
            self._default_rich_menu = rich_menu_id
            self._events.append(StandinEvent(self._next_seq(), "richmenu", None,
                                             {"richMenuId": rich_menu_id}, self.clock()))


def fault_to_json(fault: Fault) -> dict[str, Any]:
    """A fault as the control API shows it."""
    data = asdict(fault)
    data["paths"] = list(fault.paths)
    data["retryAfter"] = data.pop("retry_after")
    return data
