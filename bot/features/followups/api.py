"""Staff routes for follow-ups (Bearer ``ADMIN_TOKEN``) and the public video-link redirect.

- ``GET  /admin/api/users/{user_id}`` — answers, tags, bookings, scheduled messages (404 if unknown).
- ``GET  /admin/api/users?tag=a&tag=b`` — runners having every tag.
- ``POST /admin/api/messages`` — a message to every runner with the tags; ``dry_run`` returns the count.
- ``GET  /v/{flow}/{video}?u=…`` — counts a tap on a video card and forwards to the video.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.config.settings import Settings
from bot.features.followups.segments import SegmentSender, chunks, new_request_id, quiet_until
from bot.features.followups.tracking import LinkSigner, create_router
from bot.features.followups.users import runners_by_tags, tag_index, user_view
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
        sender = SegmentSender(parts.store, tag_index(parts), parts.line)
        clinic = parts.clinic
        quiet = quiet_until(clinic, parts.scheduler.clock())
        if body.dry_run:
            audience = await sender.audience(body.tags, body.exclude_tags)
            return {"dry_run": True, "recipients": len(audience), "batches": len(chunks(audience)),
                    "not_before": quiet.isoformat() if quiet else None}
        if quiet is not None:
            raise HTTPException(status_code=409, detail={
                "error": "quiet_hours", "not_before": quiet.isoformat(),
                "message": f"配信しない時間帯です。送信していません。{quiet:%H:%M}以降に送ってください。",
            })
        report = await sender.send(body.request_id or new_request_id(), body.tags, body.exclude_tags,
                                   body.line_messages())
        return {"dry_run": False, **report.as_json()}

    return router


def mount(app: FastAPI, settings: Settings) -> None:
    """Called from ``bot.app``: the staff routes and the video redirect."""
    app.include_router(create_admin_router())
    app.include_router(create_router(LinkSigner(settings.channel_secret())))
