"""The realistic event mix: what LINE would send for runners going through the knee-back check.

Each runner: follow → 「1分チェックを始める」 → where → feel → safety → timing (the result with the video),
then one more event — a 「相談を予約する」 tap (booking; the chat booking service in ``bot/booking`` is not
wired yet, so this is the phone-booking answer) or text the bot does not understand (the help message).
One runner in ten ticks a red flag at the safety screen (→ see a doctor) and then types unknown text.
Every event carries a reply token, so every event should get exactly one answer.

Taps are postbacks with the data the bot's own buttons carry (``flows/render.py``):
``f=<flow>&s=<step>&v=<value>&t=<turn>``; the turn counts questions asked, from 1.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from typing import Any
from urllib.parse import urlencode

SECRET = "bench-channel-secret-0123456789abcdef"
TOKEN = "bench-channel-access-token"
FLOW = "knee_back"
SIDES = ("outer", "inner", "center", "unsure")
FEELS = ("pain", "tension", "dull")
TIMINGS = ("during", "after", "morning")
RED_FLAGS = ("swelling", "deep_bend", "numbness")


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(stamp_ms: int | None = None, entropy: bytes | None = None) -> str:
    """A ULID, as LINE's ``webhookEventId``: 48-bit milliseconds then 80 bits (random unless given), in
    Crockford's base32. The bot drops events whose id is not one (``bot/webhook/validation.py``)."""
    stamp = int(time.time() * 1000) if stamp_ms is None else stamp_ms
    value = ((stamp & (2**48 - 1)) << 80) | int.from_bytes((entropy or os.urandom(10))[:10], "big")
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def event_id(salt: str, uid: str, k: int) -> str:
    """The stable ``webhookEventId`` of runner ``uid``'s ``k``-th event (a redelivery carries the same)."""
    digest = hashlib.sha256(f"{salt}:{uid}:{k}".encode()).digest()
    return ulid(int.from_bytes(digest[:5], "big"), digest[5:15])


def user_id(n: int, salt: str = "") -> str:
    """A LINE-looking user id (U + 32 hex), stable for ``n``."""
    return "U" + hashlib.md5(f"{salt}:{n}".encode()).hexdigest()


def _answer(step: str, value: str, turn: int) -> dict[str, Any]:
    return {"postback": {"data": urlencode({"f": FLOW, "s": step, "v": value, "t": turn})}}


def script(n: int) -> list[tuple[str, dict[str, Any]]]:
    """The events runner ``n`` sends, in order, as (type, type-specific fields)."""
    red_flag = n % 10 == 9
    steps: list[tuple[str, dict[str, Any]]] = [
        ("follow", {"follow": {"isUnblocked": False}}),
        ("postback", {"postback": {"data": urlencode({"f": FLOW, "g": "where"})}}),
        ("postback", _answer("where", SIDES[n % 4], 1)),
        ("postback", _answer("feel", FEELS[n % 3], 2)),
    ]
    if red_flag:
        steps.append(("postback", _answer("safety", RED_FLAGS[n % 3], 3)))
        steps.append(("message", {"message": {"id": f"m{n}", "type": "text", "text": "よろしくお願いします",
                                              "quoteToken": "q"}}))
        return steps
    steps.append(("postback", _answer("safety", "none", 3)))
    steps.append(("postback", _answer("timing", TIMINGS[n % 3], 4)))
    if n % 2:
        steps.append(("postback", {"postback": {"data": "a=booking.start"}}))
    else:
        steps.append(("message", {"message": {"id": f"m{n}", "type": "text", "text": "ありがとう",
                                              "quoteToken": "q"}}))
    return steps


def event(uid: str, kind: str, fields: dict[str, Any], event_id: str, token: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": kind, "mode": "active", "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": uid}, "webhookEventId": event_id,
        "deliveryContext": {"isRedelivery": False},
    }
    if token:
        body["replyToken"] = token
    body.update(fields)
    return body


def reply_token(uid: str, k: int, sent_ns: int = 0) -> str:
    """A bench stand-in token (``bench/standin.py``): whose it is, when it was sent (0: unknown)."""
    return f"b.{uid}.{sent_ns}.{k}"


def body(events: list[dict[str, Any]]) -> bytes:
    return json.dumps({"destination": "Ubench", "events": events}, ensure_ascii=False,
                      separators=(",", ":")).encode()


class Schedule:
    """Events of ``runners`` runners, interleaved in rounds (round k = every runner's k-th event), so one
    runner's events are spread out in time as a person's taps are, and arrive in order."""

    def __init__(self, runners: int, salt: str, start: int = 0) -> None:
        self.items: list[tuple[str, int, str, dict[str, Any]]] = []  # (uid, k, kind, fields)
        scripts = [(user_id(start + i, salt), script(start + i)) for i in range(runners)]
        longest = max((len(s) for _u, s in scripts), default=0)
        for k in range(longest):
            for uid, steps in scripts:
                if k < len(steps):
                    kind, fields = steps[k]
                    self.items.append((uid, k, kind, fields))

    def __len__(self) -> int:
        return len(self.items)

    def signed(self, i: int, salt: str, sent_ns: int = 0) -> tuple[bytes, str, str, str]:
        """(body, signature, webhookEventId, reply token) of item ``i``."""
        uid, k, kind, fields = self.items[i]
        eid = event_id(salt, uid, k)
        token = reply_token(uid, k, sent_ns)
        raw = body([event(uid, kind, fields, eid, token)])
        return raw, sign(raw), eid, token
