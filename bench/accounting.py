"""Counting what happened to every event: sent, acknowledged, handled, duplicated, lost.

An event is *handled* when its answer reached the stand-in: its reply token was consumed, or a push carried
the retry key the bot derives from its webhookEventId (``bot.delivery.outbox.retry_key``). Handled twice — token and
push, or one push key accepted twice — is a *duplicate*; acknowledged (HTTP 200) but never handled is *lost*.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench.procs import Standin
from bot.delivery.outbox import retry_key


@dataclass
class Counts:
    sent: int
    acknowledged: int
    handled: int
    duplicated: int
    lost: int
    pushes: int

    def row(self) -> str:
        return (f"{self.sent} | {self.acknowledged} | {self.handled} | {self.duplicated} | {self.lost} | "
                f"{self.pushes}")


def wait_answered(standin: Standin, expected: int, *, timeout: float, settle: float = 3.0) -> float:
    """Wait until ``expected`` answers arrived and then nothing new for ``settle`` s (or until ``timeout``).
    Returns the monotonic time the last new answer was seen.

    Why the settling: an event the bot accepted but whose 200 the generator gave up waiting for is answered
    too, so the count can reach ``expected`` (the acknowledged events) while acknowledged ones are still on
    their way — counting then would call them lost.
    """
    deadline = time.monotonic() + timeout
    last_count, last_change = -1, time.monotonic()
    while time.monotonic() < deadline:
        stats = standin.stats()
        count = int(stats["replies"]) + int(stats["pushes"])
        if count != last_count:
            last_count, last_change = count, time.monotonic()
        if count >= expected and time.monotonic() - last_change >= settle:
            return last_change
        time.sleep(0.2)
    return last_change


def count(standin: Standin, sent: int, acked: list[tuple[str, str]]) -> Counts:
    """``acked``: (webhookEventId, reply token) of every event that got a 200 (deduplicated by id)."""
    stats = standin.stats(keys=True)
    tokens = {_identity(t) for t in stats["tokens"]}
    push_keys: dict[str, int] = stats["push_keys"]
    handled = duplicated = lost = 0
    for event_id, token in dict(acked).items():
        times = (1 if _identity(token) in tokens else 0) + push_keys.get(retry_key(event_id, "reply", "0"), 0)
        if times:
            handled += 1
        else:
            lost += 1
        if times > 1:
            duplicated += 1
    return Counts(sent=sent, acknowledged=len(dict(acked)), handled=handled, duplicated=duplicated, lost=lost,
                  pushes=sum(push_keys.values()))


def _identity(token: str) -> str:
    """``b.<user>.<sent_ns>.<k>`` → ``<user>.<k>``: a redelivery re-sent with a new send time is the same event."""
    parts = token.split(".")
    return f"{parts[1]}.{parts[-1]}" if len(parts) == 4 else token
