"""The inbox pages: runners waiting for a person, one runner's thread, and staff replying or taking over.

A reply is queued into the runner's own inbox (see :mod:`bot.features.dashboard.inbox`), so the page only
collects the form; the nonce in the form makes a form sent twice one reply.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from bot.extension import Parts
from bot.features.dashboard import inbox, labels
from bot.features.dashboard.views import back, page, read_form, require_staff
from bot.web.parts import parts_of
from flows.state import ConversationState

router = APIRouter(include_in_schema=False)


def in_japanese(parts: Parts) -> dict[str, Any]:
    """Template helpers: tags and answers in the flow's own Japanese, never the codes the bot keeps."""
    flows = parts.flows

    def answers_of(state: ConversationState) -> dict[str, str]:
        return labels.answer_labels(flows, state.flow, state.answers)

    return {"tag_name": lambda tag: labels.tag_label(flows, tag), "answers_of": answers_of}


async def names_of(parts: Parts, user_ids: list[str]) -> dict[str, str]:
    """LINE display names already known (no LINE call per row); a runner without one shows a short id."""
    found = {u: await parts.profiles.cached_name(u) for u in user_ids}
    return {u: name for u, name in found.items() if name}


@router.get("/admin/inbox")
async def inbox_list(request: Request, all: int = 0) -> Response:
    session = require_staff(request)
    parts = parts_of(request)
    items = await inbox.list_items(parts, only_open=not all)
    return page(request, "inbox.html", session, items=items, show_all=bool(all), section="inbox",
                names=await names_of(parts, [i.user_id for i in items]), **in_japanese(parts))


@router.get("/admin/inbox/{user_id}")
async def inbox_detail(request: Request, user_id: str) -> Response:
    session = require_staff(request)
    parts = parts_of(request)
    item = await inbox.load_item(parts, user_id, is_open=await inbox.is_open(parts, user_id))
    return page(request, "inbox_detail.html", session, item=item, nonce=secrets.token_urlsafe(12),
                section="inbox", max_chars=inbox.MAX_REPLY_CHARS, names=await names_of(parts, [user_id]),
                **in_japanese(parts))


@router.post("/admin/inbox/{user_id}/reply")
async def inbox_reply(request: Request, user_id: str) -> Response:
    return await staff_message(request, user_id, f"/admin/inbox/{quote(user_id)}")


async def staff_message(request: Request, user_id: str, url: str, key_prefix: str = "") -> Response:
    """A staff member's words from a page's form to the runner: queued once per form (its nonce) into the
    runner's inbox, pushed in order with a retry key; back to ``url`` saying whether it went."""
    session = require_staff(request)
    data = await read_form(request, session)
    text = data.get("text", "").strip()
    if not text:
        return back(url, "empty")
    nonce = data.get("nonce") or secrets.token_urlsafe(12)
    sent = await inbox.send_reply(parts_of(request), user_id, text, session.staff or "", key_prefix + nonce)
    return back(url, "sent" if sent else "again")


@router.post("/admin/inbox/{user_id}/take")
async def inbox_take(request: Request, user_id: str) -> Response:
    """Staff start answering by hand: the bot keeps quiet for this runner."""
    return await _hand_off(request, user_id, inbox.take, "taken")


@router.post("/admin/inbox/{user_id}/close")
async def inbox_close(request: Request, user_id: str) -> Response:
    """Staff are done: the bot answers the runner again."""
    return await _hand_off(request, user_id, inbox.close, "closed")


async def _hand_off(request: Request, user_id: str, change: Callable[[Parts, str, str], Awaitable[None]],
                    done: str) -> Response:
    session = require_staff(request)
    await read_form(request, session)
    await change(parts_of(request), user_id, session.staff or "")
    return back(f"/admin/inbox/{quote(user_id)}", done)
