"""Staff routes for follow-ups (Bearer ``ADMIN_TOKEN``) and the public video-link redirect.

- ``GET  /admin/api/users/{user_id}`` — answers, tags, bookings, scheduled messages (404 if unknown).
- ``GET  /admin/api/users?tag=a&tag=b`` — runners having every tag.
- ``POST /admin/api/messages`` — a message to every runner with the tags, now or at ``send_at``; ``dry_run``
  returns the count. ``red_flag`` runners only when included explicitly.
- ``GET  /admin/api/messages`` — the broadcasts: status, who sent them, how many they reached, link taps.
- ``DELETE /admin/api/messages/{id}`` — take back a scheduled broadcast.
- ``GET  /b/{id}/{n}`` — counts a tap on a broadcast's link and forwards to it.
- ``GET  /v/{flow}/{video}?u=…`` — counts a tap on a video card and forwards to the video.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from bot.config.settings import Settings
from bot.extension import Parts
from bot.features.followups.broadcasts import Broadcast, BroadcastRefused, Broadcasts
from bot.features.followups.segments import chunks, new_request_id, quiet_until
from bot.features.followups.tracking import LinkSigner, create_router
from bot.features.followups.users import runners_by_tags, user_view
from bot.web.parts import parts_of
from bot.web.staff_auth import StaffRoute, error_responses, require_admin

MAX_MESSAGES = 5
MAX_TEXT = 5000


class SegmentRequest(BaseModel):
    """A message for every runner with all of ``tags`` and none of ``exclude_tags``."""

    # The schema says what ``_something_to_say`` checks: exactly one of ``text`` and ``messages``, not null.
    model_config = ConfigDict(extra="forbid", json_schema_extra={"oneOf": [
        {"required": ["text"], "properties": {"text": {"type": "string"}}},
        {"required": ["messages"], "properties": {"messages": {"type": "array"}}},
    ]})

    tags: list[str] = Field(min_length=1, max_length=10)
    exclude_tags: list[str] = Field(default_factory=list, max_length=10)
    text: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT)
    messages: list[dict[str, Any]] | None = Field(default=None, min_length=1, max_length=MAX_MESSAGES)
    dry_run: bool = Field(default=False, strict=True)  # not 0/1 or "no": a typo must not send
    #: Runners tagged ``red_flag`` (told to see a doctor) are left out unless this is true (or ``red_flag`` is
    #: one of ``tags``).
    include_red_flag: bool = Field(default=False, strict=True)
    #: Send later (ISO 8601 with offset); refused inside the quiet hours like a send now.
    send_at: AwareDatetime | None = None
    #: The same id sends the same batches with the same retry keys: a retried request is not sent twice.
    request_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")

    @model_validator(mode="after")
    def _something_to_say(self) -> SegmentRequest:
        if (self.text is None) == (self.messages is None):
            raise ValueError("give exactly one of text or messages")
        return self

    def line_messages(self) -> list[dict[str, Any]]:
        return self.messages if self.messages is not None else [{"type": "text", "text": self.text}]


def create_admin_router() -> APIRouter:
    router = APIRouter(prefix="/admin/api", dependencies=[Depends(require_admin)],
                       responses=error_responses(401), route_class=StaffRoute)

    @router.get("/users/{user_id}", responses=error_responses(404))
    async def get_user(user_id: str, request: Request) -> dict[str, Any]:
        view = await user_view(parts_of(request), user_id)
        if view is None:
            raise HTTPException(status_code=404, detail="no such runner")
        return view

    @router.get("/users")
    async def list_users(request: Request, tag: Annotated[list[str], Query(min_length=1)]) -> dict[str, Any]:
        users = await runners_by_tags(parts_of(request), tag)
        return {"tags": tag, "count": len(users), "users": users}

    @router.post("/messages", responses=error_responses(400, 409))
    async def send_segment(body: SegmentRequest, request: Request) -> dict[str, Any]:
        parts = parts_of(request)
        if body.dry_run:
            return await dry_run(parts, body)
        try:
            done = await submit(parts, body, by="API(管理トークン)")
        except BroadcastRefused as refused:
            raise HTTPException(status_code=refused.status, detail=refused.detail) from None
        return {"dry_run": False, "request_id": done.id, **done.as_json(parts.clinic.tz)}

    @router.get("/messages")
    async def list_broadcasts(request: Request) -> dict[str, Any]:
        parts = parts_of(request)
        found = await parts.need(Broadcasts).recent()
        return {"broadcasts": [b.as_json(parts.clinic.tz, taps) for b, taps in found]}

    @router.delete("/messages/{broadcast_id}", responses=error_responses(404))
    async def cancel_broadcast(request: Request, broadcast_id: Annotated[str, Path(pattern=ID)]) -> dict[str, Any]:
        parts = parts_of(request)
        cancelled = await parts.need(Broadcasts).cancel(broadcast_id)
        if cancelled is None:
            raise HTTPException(status_code=404, detail="no scheduled broadcast with this id")
        return cancelled.as_json(parts.clinic.tz)

    return router


ID = r"^[A-Za-z0-9_-]{1,64}$"


async def dry_run(parts: Parts, body: SegmentRequest) -> dict[str, Any]:
    """The count, at any hour; ``not_before`` when a send now would be refused."""
    broadcasts = parts.need(Broadcasts)
    audience = await broadcasts.audience(body.tags, body.exclude_tags, body.include_red_flag)
    quiet = quiet_until(parts.clinic, parts.scheduler.clock())
    left_out = await broadcasts.red_flag_left_out(body.tags, body.exclude_tags, body.include_red_flag)
    return {"dry_run": True, "recipients": len(audience), "batches": len(chunks(audience)),
            "not_before": quiet.isoformat() if quiet else None, "red_flag_left_out": left_out}


async def submit(parts: Parts, body: SegmentRequest, *, by: str) -> Broadcast:
    """What the API and the 配信 page both do: send now, or schedule for ``send_at``."""
    broadcast = Broadcast(id=body.request_id or new_request_id(), created_at=time.time(), created_by=by,
                          tags=body.tags, exclude_tags=body.exclude_tags, messages=body.line_messages(),
                          include_red_flag=body.include_red_flag)
    send_at = body.send_at.astimezone(dt.UTC) if body.send_at is not None else None
    return await parts.need(Broadcasts).submit(broadcast, send_at=send_at)


def create_tap_router() -> APIRouter:
    router = APIRouter()

    @router.get("/b/{broadcast_id}/{index}", include_in_schema=False)
    async def open_link(request: Request, broadcast_id: Annotated[str, Path(pattern=ID)],
                        index: Annotated[int, Path(ge=0, le=100)]) -> RedirectResponse:
        target = await parts_of(request).need(Broadcasts).tap(broadcast_id, index)
        if target is None:
            raise HTTPException(status_code=404, detail="no such link")
        return RedirectResponse(target, status_code=302)

    return router


def mount(app: FastAPI, settings: Settings) -> None:
    """Called from ``bot.app``: the staff routes, the video redirect and the broadcast links' redirect."""
    app.include_router(create_admin_router())
    app.include_router(create_router(LinkSigner(settings.channel_secret())))
    app.include_router(create_tap_router())
