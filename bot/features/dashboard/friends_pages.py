"""友だち pages: the friend list (search, tag filters, pages) and one friend's page — profile, answers, tags,
bookings, scheduled sends and the 1:1 talk — where staff write to the runner and add or remove tags.

Writing goes through the inbox's ``send_reply``: queued into the runner's own inbox (ordered, sent once by push
with a retry key) and starting the hand-off, as a reply from the inbox does. Tag changes are queued the same
way (:mod:`bot.features.followups.staff_tags`). Each change names the staff member who made it.
"""

from __future__ import annotations

import secrets
import time
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from bot.extension import Parts
from bot.features.booking.service import BookingService
from bot.features.dashboard import friends, handoff, inbox, talk
from bot.features.dashboard.inbox_pages import staff_message
from bot.features.dashboard.labels import CODE_TAGS, tag_label
from bot.features.dashboard.talk_copy import SharedCopy
from bot.features.dashboard.views import back, page, read_form, require_followups, require_staff
from bot.features.followups.staff_tags import PROTECTED, STAFF_TAGS, TagRefused, queue_change, staff_tag
from bot.features.followups.users import user_view
from bot.web.parts import parts_of
from bot.web.staff_accounts import StaffAccounts

router = APIRouter(include_in_schema=False)


def known_tags(parts: Parts, staff_made: set[str]) -> list[tuple[str, str]]:
    """(tag, label) of every tag a friend can have, for the filters: the code's, the flows', staff's own."""
    tags = set(CODE_TAGS) - {"friend"} | staff_made
    for loaded in parts.flows:
        for step in loaded.flow.steps.values():
            tags.update(step.tags)
            for choice in step.ask.choices if step.ask is not None else []:
                tags.update(choice.tags)
    return sorted(((t, tag_label(parts.flows, t)) for t in tags), key=lambda pair: pair[1])


@router.get("/admin/friends")
async def friend_list(request: Request, q: str = "", tag: list[str] = Query(default=[]),  # noqa: B008
                      not_: list[str] = Query(default=[], alias="not"), status: str = "all",  # noqa: B008
                      page_no: int = Query(default=1, alias="page", ge=1, le=100_000)) -> Response:
    session = require_staff(request)
    started = time.perf_counter()
    parts = parts_of(request)
    chosen = friends.FriendFilter(query=q[:40], with_tags=tag[:10], without_tags=not_[:10],
                                  status=status if status in friends.STATUSES else "all", page=page_no)
    found = await friends.list_friends(parts, chosen)
    staff_made = {str(t) for t in await parts.store.redis.smembers(STAFF_TAGS)}
    response = page(request, "friends.html", session, section="friends", found=found, chosen=chosen,
                    tags=known_tags(parts, staff_made), statuses=friends.STATUSES,
                    label=lambda t: tag_label(parts.flows, t), query_for=_query_for(chosen))
    # The server's own time for this page (the 10,000-friend budget is 300 ms), for the browser's dev tools.
    response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
    return response


def _query_for(chosen: friends.FriendFilter) -> object:
    def link(page_no: int) -> str:
        parts = [("q", chosen.query), ("status", chosen.status), ("page", str(page_no))]
        parts += [("tag", t) for t in chosen.with_tags] + [("not", t) for t in chosen.without_tags]
        return "/admin/friends?" + "&".join(f"{k}={quote(v)}" for k, v in parts if v)

    return link


@router.get("/admin/friends/{user_id}")
async def friend_detail(request: Request, user_id: str) -> Response:
    session = require_staff(request)
    parts = parts_of(request)
    redis = parts.store.redis
    view = await user_view(parts, user_id)
    context: dict[str, object] = {"user_id": user_id, "view": view, "section": "friends",
                                  "blocked_at": await friends.blocked_at(redis, user_id)}
    if view is not None:
        booking = parts.maybe(BookingService)
        context.update(
            friend_name=await redis.hget(friends.NAMES, user_id) or await parts.profiles.cached_name(user_id),
            answers=view["answers"],
            tags=[(t, tag_label(parts.flows, t), t not in PROTECTED) for t in view["tags"]],
            talk=await talk.timeline(redis, user_id, known=parts.need(SharedCopy).texts),
            handoff=await handoff.status(redis, user_id),
            bookings=await booking.upcoming(user_id) if booking is not None else None,
            visits=await booking.visit_history(user_id) if booking is not None else None,
            now=time.time(), nonce=secrets.token_urlsafe(12), max_chars=inbox.MAX_REPLY_CHARS,
            last_at=await redis.zscore(friends.SEEN, user_id))
    return page(request, "friend_detail.html", session, **context)


@router.post("/admin/friends/{user_id}/message")
async def friend_message(request: Request, user_id: str) -> Response:
    return await staff_message(request, user_id, f"/admin/friends/{quote(user_id)}", key_prefix="friend:")


@router.post("/admin/friends/{user_id}/tags")
async def friend_tags(request: Request, user_id: str) -> Response:
    session = require_staff(request)
    require_followups(request)
    data = await read_form(request, session)
    parts = parts_of(request)
    url = f"/admin/friends/{quote(user_id)}"
    try:
        add = [staff_tag(data["add"])] if data.get("add", "").strip() else []
        remove = [data["remove"]] if data.get("remove") else []
        if not add and not remove:
            return back(url, "empty")
        queued = await queue_change(parts, user_id, add=add, remove=remove, staff=session.actor,
                                    nonce=data.get("nonce") or secrets.token_urlsafe(12))
    except TagRefused:
        return back(url, "tag_refused")
    if queued:
        labels = "・".join(tag_label(parts.flows, t) for t in add + remove)
        did = "tags_added" if add else "tags_removed"
        await parts.need(StaffAccounts).record(session.actor, did, user_id, labels)
        text = f"{session.actor} さんがタグ「{labels}」を{'追加しました' if add else '外しました'}"
        await talk.note(parts.store.redis, user_id, text, parts.settings.runner_ttl_seconds)
    return back(url, "tagged" if queued else "again")
