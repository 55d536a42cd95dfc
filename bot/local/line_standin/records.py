"""What the LINE stand-in records and answers: requests, delivered messages, events, faults, LINE's errors.

Frozen values, so tests and the simulator can hold them after the state has moved on; and LINE's error
answer as an exception, raised by the state's rules and turned into a response by the HTTP layer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Via = Literal["reply", "push", "multicast"]
FaultMode = Literal["slow", "status", "down"]


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


def fault_to_json(fault: Fault) -> dict[str, Any]:
    """A fault as the control API shows it."""
    data = asdict(fault)
    data["paths"] = list(fault.paths)
    data["retryAfter"] = data.pop("retry_after")
    return data
