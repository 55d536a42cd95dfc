"""Key names, in one place.

Every key that belongs to one runner carries the runner's id as a Redis Cluster hash tag (``{U…}``), so the
multi-key scripts that touch a runner's state, inbox and outbox stay in one slot.
"""

from __future__ import annotations

PREFIX = "lb"


def runner_key(user_id: str, what: str) -> str:
    """A key that belongs to one runner; services with their own per-runner data build theirs here too."""
    return f"{PREFIX}:{{{user_id}}}:{what}"


def state(user_id: str) -> str:
    """The runner's conversation: flow, step, version, answers (a JSON string)."""
    return runner_key(user_id, "state")


def inbox(user_id: str) -> str:
    """Events accepted for the runner and not yet handled, oldest first."""
    return runner_key(user_id, "inbox")


def outbox(user_id: str) -> str:
    """Messages decided for the runner and not yet confirmed sent (a transactional outbox)."""
    return runner_key(user_id, "outbox")


def lock(user_id: str) -> str:
    """Held by the one consumer handling this runner's events, so they run in order."""
    return runner_key(user_id, "lock")


def seen_event(user_id: str, webhook_event_id: str) -> str:
    """Marks a webhookEventId as accepted, so a redelivery is not handled twice."""
    return runner_key(user_id, f"evt:{webhook_event_id}")


def tap_guard(user_id: str, data: str) -> str:
    """Briefly remembers a tapped button, so a double tap acts once."""
    return runner_key(user_id, f"tap:{data}")


def failures(user_id: str, webhook_event_id: str) -> str:
    """How often handling this event failed; past a limit it becomes a dead letter."""
    return runner_key(user_id, f"fail:{webhook_event_id}")


def profile(user_id: str) -> str:
    """The runner's LINE profile as cached (display name), a hash kept with the runner's data."""
    return runner_key(user_id, "profile")


DEAD_LETTERS = f"{PREFIX}:dead"
EVENT_STREAM = f"{PREFIX}:events"
CONSUMER_GROUP = "handlers"
