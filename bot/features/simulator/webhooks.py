"""LINE-shaped webhook events and their signature, as LINE's platform would send them.

Why here and not in the tests' harness: the simulator is part of the product (local mode), and what it
sends must be indistinguishable from LINE's own webhooks — ULID ``webhookEventId``, ``deliveryContext``,
millisecond timestamps, a user source — so the bot's real pipeline (signature, queue, engine) handles it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from typing import Any, Literal

Kind = Literal["follow", "unblock", "unfollow", "message", "postback"]

#: The bot's own user ID as LINE names it in ``destination`` (fixed: there is one local "channel").
DESTINATION = "U" + "0" * 31 + "1"

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(now_ms: int | None = None) -> str:
    """A ULID like LINE's webhookEventId: 48-bit millisecond time + 80 random bits, Crockford base32."""
    stamp = int(time.time() * 1000) if now_ms is None else now_ms
    value = (stamp << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def build_event(kind: Kind, user_id: str, reply_token: str | None, *, text: str | None = None,
                data: str | None = None, params: dict[str, str] | None = None) -> dict[str, Any]:
    """One webhook event; ``unblock`` is LINE's follow event with ``isUnblocked: true``."""
    now_ms = int(time.time() * 1000)
    event: dict[str, Any] = {
        "type": "follow" if kind == "unblock" else kind,
        "mode": "active",
        "timestamp": now_ms,
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": ulid(now_ms),
        "deliveryContext": {"isRedelivery": False},
    }
    if reply_token is not None:
        event["replyToken"] = reply_token
    if kind in ("follow", "unblock"):
        event["follow"] = {"isUnblocked": kind == "unblock"}
    elif kind == "message":
        event["message"] = {"id": str(secrets.randbelow(10**17) + 10**17), "type": "text", "text": text or "",
                            "quoteToken": secrets.token_urlsafe(24)}
    elif kind == "postback":
        postback: dict[str, Any] = {"data": data or ""}
        if params:
            postback["params"] = params
        event["postback"] = postback
    return event


def envelope(events: list[dict[str, Any]]) -> bytes:
    """The request body LINE posts: compact UTF-8 JSON (the signature covers these exact bytes)."""
    body = {"destination": DESTINATION, "events": events}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sign(body: bytes, channel_secret: str) -> str:
    """``X-Line-Signature``: Base64(HMAC-SHA256(channel secret, body))."""
    digest = hmac.new(channel_secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")
