"""The webhook's trust boundary: what a signed body may carry before any of it becomes a key or an event.

A valid signature proves the body came from LINE — or from whoever captured one of LINE's bodies, or holds
the channel secret. So the shape is checked too, with pure CPU work and nothing stored:

- the JSON itself: nesting at most :data:`MAX_DEPTH` deep and numbers of at most :data:`MAX_NUMBER_CHARS`
  characters, checked while parsing (a 5,000-digit integer or a body nested 1,000 deep is a 400, not a
  500 from Python's integer-string limit or its recursion limit);
- each event: one of LINE's own event types (never the bot's ``x-…`` events, which only the bot makes), a
  ``webhookEventId`` that is a ULID (it becomes part of a key name), a source whose ids are in LINE's formats
  (``U``/``C``/``R`` and 32 hex digits: they become hash tags of key names), and a timestamp inside the
  replay window. An event that fails is dropped, with a log line and a count by reason; the others go on.

Why the replay window is the dedupe window less a margin: an event is remembered by its ``webhookEventId``
for ``event_dedupe_seconds`` after it was accepted. Refusing events whose timestamp is older than that (less
:data:`CLOCK_SKEW_S`), or more than :data:`CLOCK_SKEW_S` in the future, means a captured body is either
still remembered (a duplicate) or too old (refused) — never handled twice.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from array import array
from collections.abc import Mapping
from typing import Any

#: LINE's webhook event types (LINE's webhook OpenAPI spec, plus ``messageEdited`` from its samples).
LINE_EVENT_TYPES = frozenset({
    "message", "messageEdited", "unsend", "follow", "unfollow", "join", "leave", "memberJoined", "memberLeft",
    "postback", "videoPlayComplete", "beacon", "accountLink", "membership", "module", "activated",
    "deactivated", "botSuspended", "botResumed", "delivery",
})
#: Why an event was dropped (a metric label: a fixed set).
DROP_REASONS = ("not_an_object", "internal_type", "unknown_type", "no_chat", "source", "event_id", "timestamp")
#: Reasons LINE itself may cause (a type added after this list, a module channel's event with no chat):
#: a body of only these is still answered 200, so LINE does not redeliver what we will never take.
LINE_MAY_SEND = frozenset({"unknown_type", "no_chat"})

MAX_DEPTH = 32
MAX_NUMBER_CHARS = 32
CLOCK_SKEW_S = 300

_SOURCE_IDS = {"user": ("userId", re.compile(r"U[0-9a-f]{32}")),
               "group": ("groupId", re.compile(r"C[0-9a-f]{32}")),
               "room": ("roomId", re.compile(r"R[0-9a-f]{32}"))}
_USER_ID = _SOURCE_IDS["user"][1]
#: A ULID: 48-bit time and 80 random bits in Crockford's base32 (the first character carries 3 bits).
ULID = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")

_STRINGS = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_BRACKET_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1 / -1 as signed bytes
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))


class BodyRefused(ValueError):
    """The body is not JSON the webhook accepts; the message is the 400's."""


def parse_body(body: bytes) -> Any:
    """Parse a (signed, UTF-8) body within the depth and number limits, or raise :class:`BodyRefused`."""
    if _depth(body) > MAX_DEPTH:
        raise BodyRefused("JSON nested too deeply")
    try:
        return json.loads(body.decode("utf-8"), parse_int=_parse_int, parse_float=_parse_float,
                          parse_constant=_refuse_constant)
    except BodyRefused:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise BodyRefused("malformed JSON") from exc


def drop_reason(raw: object, now_ms: int, max_age_s: int) -> str | None:
    """Why this event may not enter (one of :data:`DROP_REASONS`), or ``None`` when it may."""
    if not isinstance(raw, Mapping):
        return "not_an_object"
    kind = raw.get("type")
    if isinstance(kind, str) and kind.startswith("x-"):
        return "internal_type"
    if not isinstance(kind, str) or kind not in LINE_EVENT_TYPES:
        return "unknown_type"
    source = raw.get("source")
    if source is None:
        return "no_chat"
    if not _source_ok(source):
        return "source"
    event_id = raw.get("webhookEventId")
    if not isinstance(event_id, str) or not ULID.fullmatch(event_id):
        return "event_id"
    stamp = raw.get("timestamp")
    if not isinstance(stamp, int) or isinstance(stamp, bool):
        return "timestamp"
    if not now_ms - (max_age_s - CLOCK_SKEW_S) * 1000 <= stamp <= now_ms + CLOCK_SKEW_S * 1000:
        return "timestamp"
    return None


def type_label(kind: object) -> str:
    """A metric label for an event type: LINE's own, else ``other`` (labels must stay a small set)."""
    return kind if isinstance(kind, str) and kind in LINE_EVENT_TYPES else "other"


def _source_ok(source: object) -> bool:
    if not isinstance(source, Mapping):
        return False
    kind = source.get("type")
    expected = _SOURCE_IDS.get(kind) if isinstance(kind, str) else None
    if expected is None:
        return False
    field, pattern = expected
    chat = source.get(field)
    if not isinstance(chat, str) or not pattern.fullmatch(chat):
        return False
    user = source.get("userId")  # in groups and rooms: who spoke, when LINE says
    return user is None or (isinstance(user, str) and _USER_ID.fullmatch(user) is not None)


def _depth(body: bytes) -> int:
    """How deeply the JSON nests, counted on the bytes with strings removed (C loops only: no recursion)."""
    steps = _STRINGS.sub(b"", body).translate(_BRACKET_STEPS, _NOT_BRACKETS)
    return max(itertools.accumulate(array("b", steps)), default=0)


def _parse_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise BodyRefused("number too long")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text) if len(text) <= MAX_NUMBER_CHARS else math.inf
    if not math.isfinite(value):
        raise BodyRefused("number too long")
    return value


def _refuse_constant(name: str) -> Any:
    raise BodyRefused(f"{name} is not JSON")
