"""Tags staff add to or take from a runner by hand (「VIP」, 「紹介」...), changed the way every tag changes.

A runner's tags live in their conversation state, which belongs to the consumer. So a change from the
dashboard is not written there directly: it is queued as a bot-made event (``x-staff-tags``) into the runner's
own inbox, handled in order with what the runner does, and the tag index follows through the usual commit
stage (so segment messages and the rich menu follow too). The form's nonce makes a form sent twice one change.

Staff add their own labels (kept as ``staff:<label>``). They may take off any tag but these: ``friend`` (the
bot's own record), ``opted_out`` (the runner's own wish: only 「配信再開」 lifts it) and ``red_flag`` (a warning
sign: only the runner's own answers clear it, as the safety rules say).
"""

from __future__ import annotations

import time
import unicodedata

from bot.extension import Parts
from bot.features.followups.optout import OPTED_OUT
from bot.store import keys
from bot.store.keys import PREFIX
from bot.webhook.events import Event
from flows.context import Conversation
from handlers.router import Router

EVENT = "x-staff-tags"
PREFIX_STAFF = "staff:"
PROTECTED = frozenset({"friend", OPTED_OUT, "red_flag"})
MAX_LABEL = 20
#: Every label staff ever made, so the friend list can offer them as filters.
STAFF_TAGS = f"{PREFIX}:{{friends}}:staff_tags"

router = Router("followups.staff_tags")


class TagRefused(ValueError):
    """The change cannot be made; the message is for staff, in Japanese."""


def staff_tag(label: str) -> str:
    label = " ".join(unicodedata.normalize("NFKC", label).split())
    if not label or len(label) > MAX_LABEL or not label.isprintable() or any(c in label for c in ":,"):
        raise TagRefused(f"タグ名は{MAX_LABEL}文字以内で、「:」「,」を含めずに入力してください。")
    return PREFIX_STAFF + label


async def queue_change(parts: Parts, user_id: str, *, add: list[str], remove: list[str], staff: str,
                       nonce: str) -> bool:
    """Queue the change for the runner; False when this form was already sent (or the runner is unknown)."""
    if any(tag in PROTECTED for tag in remove):
        raise TagRefused("このタグはスタッフが外すことはできません。")
    redis = parts.store.redis
    if not await redis.exists(keys.state(user_id)):
        raise TagRefused("このランナーさんのデータはありません(ブロックまたは削除済み)。")
    now = time.time()
    event = {"type": EVENT, "timestamp": int(now * 1000), "add": add, "remove": remove, "staff": staff}
    queued = await parts.queue.enqueue_internal(user_id, f"staff-tags:{nonce}", event, now)
    if queued and add:
        await redis.sadd(STAFF_TAGS, *add)
    return bool(queued)


@router.on(EVENT)
async def handle_staff_tags(event: Event, conv: Conversation) -> None:
    """``x-staff-tags``: change the tags, say nothing to the runner."""
    conv.silent = True
    if not conv.state.flow:
        return  # the runner was forgotten since the change was queued
    add = [str(t) for t in event.raw.get("add") or [] if str(t).startswith(PREFIX_STAFF)]
    remove = {str(t) for t in event.raw.get("remove") or [] if str(t) not in PROTECTED}
    conv.state.add_tags(add)
    conv.state.tags = [t for t in conv.state.tags if t not in remove]
