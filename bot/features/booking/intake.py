"""The short 問診 before a runner confirms: their name (the LINE name in one tap) and, optionally, a phone
number; then the summary. A runner who told us before goes straight to the summary.

Typed answers reach here through a gate in front of ``message`` events (:func:`typed_answer`): while the bot
waits for a name or a number (for :data:`contact.INPUT_SECONDS`), the runner's next words are that answer,
not a question for the bot. Tapping anything else ends the wait. What was said is kept only in the runner's
own state (see :mod:`contact`) and never logged.
"""

from __future__ import annotations

import hashlib

from bot.delivery.profiles import Profiles
from bot.features.booking import contact, slots
from bot.features.booking import messages as say
from bot.features.booking.messages import Pick
from bot.features.booking.taps import int_param, service_of
from bot.webhook.events import Event
from flows.actions import ActionRegistry, Params
from flows.context import Conversation
from flows.intents import normalize

actions = ActionRegistry()
#: Typed words that end the 問診 instead of answering it.
STOP_WORDS = {normalize(w) for w in ("やめる", "やめます", "中止", "キャンセル", "戻る")}


def confirm_nonce(event_id: str, start: int) -> str:
    """One per summary shown: every tap on that summary's confirm button is the same request."""
    return hashlib.sha256(f"{event_id}:{start}".encode()).hexdigest()[:16]


def _booking_params(pick: Pick, start: int) -> dict[str, str | int | None]:
    return {"s": start, "mn": pick.menu or None, "p": pick.practitioner or None}


async def before_summary(conv: Conversation, pick: Pick, start: int) -> None:
    """Ask for the name when we do not have it yet; otherwise show the summary."""
    if contact.stored(conv.state) is None:
        await ask_name(conv, pick, start)
    else:
        show_summary(conv, pick, start)


async def ask_name(conv: Conversation, pick: Pick, start: int) -> None:
    known = contact.stored(conv.state)
    profiles = conv.deps.maybe(Profiles)
    display = await profiles.display_name(conv.user_id) if profiles is not None else None
    params = _booking_params(pick, start)
    contact.expect(conv.state, "name", {k: str(v) for k, v in params.items() if v is not None},
                   conv.now.timestamp())
    conv.say(say.ask_name(display, known.name if known else None, params))


def ask_phone(conv: Conversation, pick: Pick, start: int, *, again: bool = False) -> None:
    known = contact.stored(conv.state)
    params = _booking_params(pick, start)
    contact.expect(conv.state, "phone", {k: str(v) for k, v in params.items() if v is not None},
                   conv.now.timestamp())
    conv.say(say.ask_phone(known.phone if known else None, params, again=again))


def show_summary(conv: Conversation, pick: Pick, start: int) -> None:
    service = service_of(conv)
    contact.stop_expecting(conv.state)
    menu = service.clinic.booking.menu(pick.menu) or service.default_menu
    if pick.moving:
        confirm = say.postback("この日時に変更する", "booking.move", id=pick.moving, s=start)
    else:
        confirm = say.picked("この内容で予約する", "booking.confirm", pick, s=start,
                             r=confirm_nonce(conv.event_id, start))
    when = slots.from_epoch(service.clinic, start)
    conv.say(say.summary(service, when, menu, pick, contact.stored(conv.state), confirm))


@actions.register("booking.contact")
async def contact_tap(conv: Conversation, params: Params) -> None:
    """``f=name``: ask (``use=1``: the name shown is right); ``f=phone``: ``skip=1``/``keep=1``; ``f=stop``."""
    start, pick = int_param(params, "s"), Pick.of(params)
    field = params.get("f")
    if field == "stop" or start is None:
        contact.stop_expecting(conv.state)
        conv.say(say.stopped())
    elif field == "name" and params.get("use") == "1":
        known = contact.stored(conv.state)
        profiles = conv.deps.maybe(Profiles)
        name = known.name if known else (await profiles.display_name(conv.user_id) if profiles else None)
        if not name:
            await ask_name(conv, pick, start)
            return
        contact.remember(conv.state, name=contact.clean_name(name) or name[: contact.NAME_MAX])
        ask_phone(conv, pick, start)
    elif field == "name":
        await ask_name(conv, pick, start)
    elif field == "phone" and params.get("skip") == "1":
        contact.remember(conv.state, no_phone=True)
        show_summary(conv, pick, start)
    else:  # keep=1, or an old button: go on with what we have
        show_summary(conv, pick, start)


async def typed_answer(event: Event, conv: Conversation) -> bool:
    """Gate in front of ``message``: the runner's words answer the 問診 while it waits for them."""
    waiting = contact.awaiting(conv.state, conv.now.timestamp())
    message = event.raw.get("message")
    if waiting is None or not isinstance(message, dict) or message.get("type") != "text":
        return False
    typed = str(message.get("text", ""))
    start, pick = int_param(waiting, "s"), Pick.of(waiting)
    if start is None or normalize(typed) in STOP_WORDS:
        contact.stop_expecting(conv.state)
        conv.say(say.stopped())
    elif waiting.get("f") == "name":
        name = contact.clean_name(typed)
        if name is None:
            conv.say(say.bad_name())
        else:
            contact.remember(conv.state, name=name)
            ask_phone(conv, pick, start)
    else:
        phone = contact.clean_phone(typed)
        if phone is None:
            ask_phone(conv, pick, start, again=True)
        else:
            contact.remember(conv.state, phone=phone)
            show_summary(conv, pick, start)
    return True


async def tapped_elsewhere(event: Event, conv: Conversation) -> bool:
    """Gate in front of ``postback``: a tap outside booking ends the wait for typed answers."""
    postback = event.raw.get("postback")
    data = str(postback.get("data", "")) if isinstance(postback, dict) else ""
    if not data.startswith("a=booking."):
        contact.stop_expecting(conv.state)
    return False
