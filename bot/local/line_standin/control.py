"""``/_standin/*``: the test-control and inspection API (issue tokens, inject faults, inspect, reset).

No auth and not recorded: it is how tests and the chat simulator drive the stand-in, not part of LINE.
The routes are bound to one state (a stand-in may be mounted more than once in a process, each with its own),
so they are methods of :class:`StandinControl`, registered by :func:`create_control_router`.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from bot.local.line_standin.records import Fault, fault_to_json
from bot.local.line_standin.state import StandinState

EVENTS_MAX_WAIT_S = 30.0


class ReplyTokenRequest(BaseModel):
    """Ask for a reply token, as if a webhook event from ``userId`` had carried it."""

    userId: str = Field(min_length=1)
    ttl: float | None = Field(default=None, ge=0)


class FaultRequest(BaseModel):
    """See ``Fault``: mode slow|status|down, status, delay, count (None: until cleared), paths."""

    mode: Literal["slow", "status", "down"]
    status: int = Field(default=503, ge=400, le=599)
    delay: float = Field(default=0.0, ge=0)
    count: int | None = Field(default=None, ge=1)
    paths: list[str] = Field(default_factory=list)
    retryAfter: float | None = Field(default=None, ge=0)


class ProfileRequest(BaseModel):
    """A user's profile for ``GET /v2/bot/profile/{userId}``."""

    userId: str = Field(min_length=1)
    displayName: str
    pictureUrl: str | None = None
    statusMessage: str | None = None
    language: str | None = None


class StandinControl:
    """The control routes over one state; each method is one route (see :func:`create_control_router`)."""

    def __init__(self, state: StandinState) -> None:
        self.state = state

    def issue_reply_token(self, spec: ReplyTokenRequest) -> dict[str, Any]:
        """What a webhook event would carry for ``userId``."""
        token = self.state.issue_reply_token(spec.userId, spec.ttl)
        ttl = self.state.reply_token_ttl if spec.ttl is None else spec.ttl
        return {"replyToken": token, "userId": spec.userId, "expiresIn": ttl}

    def add_fault(self, spec: FaultRequest) -> dict[str, Any]:
        """Queue a fault for matching LINE calls."""
        fault = Fault(spec.mode, spec.status, spec.delay, spec.count, tuple(spec.paths), spec.retryAfter)
        self.state.add_fault(fault)
        return {"fault": fault_to_json(fault), "faults": [fault_to_json(f) for f in self.state.faults]}

    def list_faults(self) -> dict[str, Any]:
        """Active faults with their remaining counts."""
        return {"faults": [fault_to_json(f) for f in self.state.faults]}

    def clear_faults(self) -> dict[str, Any]:
        """Back to normal service."""
        self.state.clear_faults()
        return {}

    def set_profile(self, spec: ProfileRequest) -> dict[str, Any]:
        """What ``GET /v2/bot/profile/{userId}`` returns for this user."""
        extra = spec.model_dump(exclude={"userId", "displayName"}, exclude_none=True)
        self.state.set_profile(spec.userId, spec.displayName, **extra)
        return {}

    def list_requests(self) -> dict[str, Any]:
        """Every recorded LINE call (no Authorization header)."""
        return {"requests": [r.to_json() for r in self.state.requests]}

    def list_messages(self, user_id: Annotated[str | None, Query(alias="userId")] = None) -> dict[str, Any]:
        """Delivered messages, for one user or everyone."""
        return {"messages": [m.to_json() for m in self.state.messages_for(user_id)]}

    async def poll_events(self, after: int = 0, wait: Annotated[float, Query(ge=0)] = 0.0) -> dict[str, Any]:
        """Events after ``after``; with ``wait``, long-poll up to that many seconds (max 30)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(wait, EVENTS_MAX_WAIT_S)
        while not (found := self.state.events_after(after)) and loop.time() < deadline:
            await asyncio.sleep(0.05)
        return {"events": [e.to_json() for e in found], "lastSeq": self.state.last_seq}

    def default_rich_menu(self) -> dict[str, Any]:
        """The default rich menu object (for the simulator), or null."""
        rich_menu_id = self.state.default_rich_menu_id
        return {"richMenu": self.state.rich_menu(rich_menu_id).to_json() if rich_menu_id else None}

    def user_rich_menu(self, user_id: str) -> dict[str, Any]:
        """The menu one user's chat shows (linked to them, else the default), or null."""
        rich_menu_id = self.state.rich_menu_shown_to(user_id)
        return {"richMenu": self.state.rich_menu(rich_menu_id).to_json() if rich_menu_id else None}

    def rich_menu_image(self, rich_menu_id: str) -> Response:
        """A rich menu's image without auth, for the simulator's <img>."""
        menu = next((m for m in self.state.rich_menus if m.rich_menu_id == rich_menu_id), None)
        if menu is None or menu.image is None:
            return JSONResponse({"message": "Not found"}, 404)
        return Response(menu.image, media_type=menu.content_type)

    def reset(self) -> dict[str, Any]:
        """Forget everything (settings such as validation stay)."""
        self.state.reset()
        return {}


def create_control_router(state: StandinState) -> APIRouter:
    """``/_standin/*`` over ``state``: issue tokens, inject faults, inspect, reset (no auth, not recorded)."""
    control = StandinControl(state)
    router = APIRouter(prefix="/_standin", include_in_schema=False)
    router.add_api_route("/reply-tokens", control.issue_reply_token, methods=["POST"])
    router.add_api_route("/faults", control.add_fault, methods=["POST"])
    router.add_api_route("/faults", control.list_faults, methods=["GET"])
    router.add_api_route("/faults", control.clear_faults, methods=["DELETE"])
    router.add_api_route("/profiles", control.set_profile, methods=["POST"])
    router.add_api_route("/requests", control.list_requests, methods=["GET"])
    router.add_api_route("/messages", control.list_messages, methods=["GET"])
    router.add_api_route("/events", control.poll_events, methods=["GET"])
    router.add_api_route("/richmenus/default", control.default_rich_menu, methods=["GET"])
    router.add_api_route("/richmenus/user/{user_id}", control.user_rich_menu, methods=["GET"])
    router.add_api_route("/richmenus/{rich_menu_id}/image", control.rich_menu_image, methods=["GET"])
    router.add_api_route("/reset", control.reset, methods=["DELETE"])
    return router
