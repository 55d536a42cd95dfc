"""Who a booking is for: the name and (optional) phone number a runner gives in the short 問診.

Kept in the runner's own state (``extra["booking_contact"]``), so it goes with their data — TTL, block,
「データ削除」 — and a runner who booked before is not asked again. Never logged. Phone numbers are read by
libphonenumber's rules for Japan (mobile, landline, 050, 0120…; full-width digits and +81 too) and kept in
the national format staff dial (``090-1234-5678``).
"""

from __future__ import annotations

import re
import time
import unicodedata
from typing import Any

from bot.features.booking.service import Contact
from flows.state import ConversationState

CONTACT = "booking_contact"
#: What the runner is typing for (``{"f": "name" | "phone", ...the booking in progress}``).
INPUT = "booking_input"
#: A question left unanswered this long no longer takes typed words (they go to the bot as usual).
INPUT_SECONDS = 30 * 60
NAME_MAX = 30
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean_name(text: str) -> str | None:
    """A name as typed, tidied; ``None`` when it cannot be one (empty, too long, a link)."""
    name = re.sub(r"\s+", " ", _CONTROL.sub(" ", unicodedata.normalize("NFKC", text))).strip()
    if not name or len(name) > NAME_MAX or "://" in name:
        return None
    return name


def clean_phone(text: str) -> str | None:
    """A Japanese phone number in the national format, or ``None`` when it is not a valid one."""
    typed = unicodedata.normalize("NFKC", text).replace("ー", "-").strip()
    if not typed or len(typed) > 30:
        return None
    # Imported when a runner first types a phone number, not at start-up: its metadata is ~1 MiB of every
    # web process, and most processes never book by chat (bench/README.md, memory).
    import phonenumbers

    try:
        number = phonenumbers.parse(typed, "JP")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 81 or not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))


def stored(state: ConversationState) -> Contact | None:
    """What the runner told before, if they gave a name."""
    raw = state.extra.get(CONTACT)
    if not isinstance(raw, dict) or not raw.get("name"):
        return None
    phone = raw.get("phone")
    return Contact(name=str(raw["name"]), phone=str(phone) if phone else None)


def remember(state: ConversationState, *, name: str | None = None, phone: str | None = None,
             no_phone: bool = False) -> None:
    raw = state.extra.get(CONTACT)
    kept: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {}
    if name is not None:
        kept["name"] = name
    if phone is not None or no_phone:
        kept["phone"] = phone
    state.extra[CONTACT] = kept


def awaiting(state: ConversationState, now: float | None = None) -> dict[str, str] | None:
    """The question the runner's next typed words answer, while it is fresh."""
    raw = state.extra.get(INPUT)
    if not isinstance(raw, dict):
        return None
    if (now or time.time()) - float(raw.get("at", 0)) > INPUT_SECONDS:
        return None
    return {str(k): str(v) for k, v in raw.items() if k != "at"}


def expect(state: ConversationState, field: str, booking: dict[str, str], now: float) -> None:
    state.extra[INPUT] = {**booking, "f": field, "at": now}


def stop_expecting(state: ConversationState) -> None:
    state.extra.pop(INPUT, None)
