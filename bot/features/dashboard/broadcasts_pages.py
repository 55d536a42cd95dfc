"""配信 (``/admin/broadcasts``, owners only): compose a segment message, see who it reaches and how it looks, then
send it now or at a set time; the list of broadcasts with how many they reached and how many tapped a link.

The page builds the same request ``POST /admin/api/messages`` takes and hands it to the same function
(:func:`bot.features.followups.api.submit`), so the rules are the API's: quiet hours refused, opted-out and
red-flag runners left out unless included explicitly, the form's nonce as the request id (a form sent twice
is one broadcast). A message from the flow file is one of its steps, rendered by the bot's own renderer.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from bot.extension import Parts
from bot.features.dashboard import preview
from bot.features.dashboard.auth import Session
from bot.features.dashboard.friends_pages import known_tags
from bot.features.dashboard.labels import tag_label
from bot.features.dashboard.views import back, page, read_form, read_form_lists, require_followups, require_owner
from bot.features.followups.api import SegmentRequest, dry_run, submit
from bot.features.followups.broadcasts import BroadcastRefused, Broadcasts
from bot.features.followups.staff_tags import STAFF_TAGS
from bot.web.parts import parts_of
from bot.web.staff_accounts import StaffAccounts
from flows.render import Renderer
from flows.state import ConversationState

router = APIRouter(include_in_schema=False)
CHECK_INPUT = "本文(またはフローのメッセージ)と日時を確かめてください。"
STATUS_JA = {"scheduled": "予約中", "sending": "送信中", "sent": "送信済み", "partly_sent": "一部未送信",
             "cancelled": "取消"}


def flow_steps(parts: Parts) -> list[tuple[str, str]]:
    """(``flow/step``, what staff read) for every step with messages to send."""
    return [(f"{loaded.flow.flow}/{name}", f"{loaded.flow.title}: {step.title or name}")
            for loaded in parts.flows for name, step in loaded.flow.steps.items() if step.messages]


def step_messages(parts: Parts, chosen: str) -> list[dict[str, Any]]:
    """A flow step's messages as a runner with no answers gets them (quick replies left off: they answer a
    question the broadcast does not ask)."""
    flow_name, _, step_name = chosen.partition("/")
    loaded = parts.flows.get(flow_name)
    step = loaded.flow.steps.get(step_name) if loaded is not None else None
    if loaded is None or step is None:
        return []
    renderer = Renderer(loaded.flow, parts.template_variables())
    rendered = (renderer.render(spec, step_name, ConversationState()) for spec in step.messages)
    return [{k: v for k, v in m.items() if k != "quickReply"} for m in rendered if m is not None][:5]


def request_from(parts: Parts, form: dict[str, str], tags: list[str], without: list[str]) -> SegmentRequest:
    """The API's request for this form (ValueError / ValidationError when something is missing or wrong)."""
    body: dict[str, Any] = {"tags": tags or ["friend"], "exclude_tags": without,
                            "include_red_flag": form.get("include_red_flag") == "1",
                            "request_id": form.get("nonce") or None}
    if form.get("source", "text") == "text":
        body["text"] = form.get("text", "").strip() or None
    else:
        body["messages"] = step_messages(parts, form.get("step", "")) or None
    if form.get("when") == "later":
        local = dt.datetime.fromisoformat(form.get("send_at", ""))
        body["send_at"] = local.replace(tzinfo=parts.clinic.tz) if local.tzinfo is None else local
    return SegmentRequest(**body)


async def _render(request: Request, session: Session, *, form: dict[str, str] | None = None,
                  tags: list[str] | None = None, without: list[str] | None = None, **extra: Any) -> Response:
    parts = parts_of(request)
    staff_made = {str(t) for t in await parts.store.redis.smembers(STAFF_TAGS)}
    return page(request, "broadcasts.html", session, section="broadcasts", form=form or {"source": "text"},
                chosen_tags=tags or [], chosen_not=without or [], tags=known_tags(parts, staff_made),
                steps=flow_steps(parts), sent=await parts.need(Broadcasts).recent(), status_ja=STATUS_JA,
                label=lambda t: tag_label(parts.flows, t), nonce=secrets.token_urlsafe(12), **extra)


@router.get("/admin/broadcasts")
async def broadcast_page(request: Request) -> Response:
    session = require_owner(request)
    require_followups(request)
    return await _render(request, session)


@dataclass(slots=True)
class Posted:
    """A posted compose form: its fields, the tags to include and leave out, and the API request it makes
    (``None`` when something is missing or wrong)."""

    request: Request
    session: Session
    form: dict[str, str]
    tags: list[str]
    without: list[str]
    body: SegmentRequest | None

    async def again(self, **extra: Any) -> Response:
        """The page with this form filled in as it was sent."""
        return await _render(self.request, self.session, form=self.form, tags=self.tags, without=self.without,
                             **extra)


async def _posted(request: Request) -> Posted:
    session = require_owner(request)
    require_followups(request)
    lists = await read_form_lists(request, session)
    form = {k: v[0] for k, v in lists.items()}
    tags, without = lists.get("tag", [])[:10], lists.get("not", [])[:10]
    try:
        body: SegmentRequest | None = request_from(parts_of(request), form, tags, without)
    except (ValueError, ValidationError):
        body = None
    return Posted(request, session, form, tags, without, body)


@router.post("/admin/broadcasts/preview")
async def broadcast_preview(request: Request) -> Response:
    posted = await _posted(request)
    if posted.body is None:
        return await posted.again(error=CHECK_INPUT)
    counted = await dry_run(parts_of(request), posted.body)
    return await posted.again(counted=counted, bubbles=[preview.bubble(m) for m in posted.body.line_messages()],
                              confirm=True)


@router.post("/admin/broadcasts/send")
async def broadcast_send(request: Request) -> Response:
    posted = await _posted(request)
    if posted.body is None:
        return await posted.again(error=CHECK_INPUT)
    parts = parts_of(request)
    try:
        done = await submit(parts, posted.body, by=posted.session.actor)
    except BroadcastRefused as refused:
        return await posted.again(error=refused.detail.get("message") or CHECK_INPUT)
    did = "broadcast_scheduled" if done.status == "scheduled" else "broadcast_sent"
    await parts.need(StaffAccounts).record(posted.session.actor, did, "配信", done.summary[:40])
    return back("/admin/broadcasts", did)


@router.post("/admin/broadcasts/{broadcast_id}/cancel")
async def broadcast_cancel(request: Request, broadcast_id: str) -> Response:
    session = require_owner(request)
    require_followups(request)
    await read_form(request, session)
    parts = parts_of(request)
    cancelled = await parts.need(Broadcasts).cancel(broadcast_id)
    if cancelled is None:
        return back("/admin/broadcasts", "missing")
    await parts.need(StaffAccounts).record(session.actor, "broadcast_cancelled", "配信", cancelled.summary[:40])
    return back("/admin/broadcasts", "broadcast_cancelled")
