"""HTTP face of the local LINE stand-in: LINE's paths, status codes, headers and error bodies.

Why: LINE is unreachable from tests and from local mode, yet the bot's failure handling
(invalid reply token, retry-key 409, 429/5xx back-off, contract 400s) must be exercised for
real. Every LINE call goes through ``_serve``: injected fault -> auth -> body parsing ->
contract validation (bot.local.line_schema) -> the endpoint's rule -> a recorded answer carrying
``x-line-request-id``. ``/_standin/*`` is the control and inspection API for tests and the
chat simulator. Paths are recorded relative to the LINE base URL (from ``/v2/``), so the
router works mounted under any prefix (local mode mounts it at ``/_line``).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from bot.local.line_schema import validate_body_issues
from bot.local.line_standin.state import (
    RETRY_KEY_ACCEPTED,
    Fault,
    LineApiError,
    StandinState,
    fault_to_json,
)

AUTH_FAILED = "Authentication failed. Confirm that the access token in the authorization header is valid."
FAULT_MESSAGES = {429: "Too many requests", 500: "An unexpected error occurred", 503: "Service unavailable"}
IMAGE_TYPES = ("image/png", "image/jpeg")
IMAGE_MAX_BYTES = 1_000_000
USER_ID = re.compile(r"^U[0-9a-f]{32}$")
EVENTS_MAX_WAIT_S = 30.0


class ContractError(LineApiError):
    """A 400 for a body that breaks the contract; recorded as an invalid request."""


@dataclass
class Call:
    """One LINE call in flight: what an endpoint rule needs and what gets recorded."""

    request: Request
    state: StandinState
    path: str
    request_id: str
    retry_key: str | None
    raw: bytes = b""
    body: Any = None

    @property
    def json(self) -> dict[str, Any]:
        """The body as an object ({} when validation is off and the body is not one)."""
        return self.body if isinstance(self.body, dict) else {}

    def param(self, name: str) -> str:
        """A path parameter such as ``richMenuId``."""
        return str(self.request.path_params[name])


Result = tuple[int, Any] | Response
Rule = Callable[[Call], Result]


def line_path(url_path: str) -> str:
    """The path relative to LINE's base URL, whatever prefix the router is mounted under."""
    index = url_path.find("/v2/")
    return url_path[index:] if index >= 0 else url_path


async def _apply_fault(call: Call) -> None:
    """Delay and/or fail this call as an injected fault says (before anything is processed)."""
    fault = call.state.take_fault(call.path)
    if fault is None:
        return
    if fault.delay > 0:
        await asyncio.sleep(fault.delay)
    if fault.mode == "slow":
        return
    status = 503 if fault.mode == "down" else fault.status
    headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
    raise LineApiError(status, FAULT_MESSAGES.get(status, "Injected fault"), headers=headers)


def _check_auth(call: Call) -> None:
    """``Authorization: Bearer <token>`` (the configured one, if any) or 401 like LINE."""
    scheme, _, token = call.request.headers.get("authorization", "").partition(" ")
    expected = call.state.access_token
    if scheme.lower() != "bearer" or not token.strip() or (expected is not None and token != expected):
        raise LineApiError(401, AUTH_FAILED)


def _parse_and_validate(call: Call, schema: str | None) -> None:
    """Parse a JSON body; with ``schema`` and validation on, 400 with LINE-style details."""
    is_json = schema is not None or "json" in call.request.headers.get("content-type", "")
    if call.raw and is_json:
        try:
            call.body = json.loads(call.raw)
        except ValueError as exc:
            call.body = call.raw[:2000].decode("utf-8", "replace")
            if schema is not None:
                details = [{"message": "The request body is not valid JSON", "property": ""}]
                raise ContractError(400, "The request body has 1 error(s)", details=details) from exc
    if schema is None or not call.state.validate:
        return
    issues = validate_body_issues(schema, call.body)
    if issues:
        details = [{"message": i.message, "property": i.property} for i in issues]
        raise ContractError(400, f"The request body has {len(issues)} error(s)", details=details)


def _recorded_body(call: Call) -> Any:
    """JSON bodies as sent; binary uploads as their type and size only."""
    if call.body is not None or not call.raw:
        return call.body
    return {"contentType": call.request.headers.get("content-type"), "size": len(call.raw)}


def _respond(call: Call, result: Result | LineApiError) -> Response:
    """Turn a rule's result or error into the response, with LINE headers, and record it."""
    errors: list[dict[str, str]] = []
    if isinstance(result, LineApiError):
        errors = result.details if isinstance(result, ContractError) else []
        response: Response = JSONResponse(result.body(), result.status, headers=result.headers)
    elif isinstance(result, Response):
        response = result
    else:
        response = JSONResponse(result[1], result[0])
    response.headers["x-line-request-id"] = call.request_id
    call.state.record(method=call.request.method, path=call.path, status=response.status_code,
                      request_id=call.request_id, retry_key=call.retry_key, body=_recorded_body(call),
                      errors=errors)
    return response


def _endpoint(state: StandinState, rule: Rule, schema: str | None) -> Callable[[Request], Any]:
    """Wrap a rule in the common pipeline (fault, auth, parse, validate, record)."""

    async def endpoint(request: Request) -> Response:
        """Always answers like LINE; never raises."""
        call = Call(request, state, line_path(request.url.path), str(uuid.uuid4()),
                    request.headers.get("x-line-retry-key"))
        call.raw = await request.body()  # read first: a slow LINE has already received the body
        try:
            await _apply_fault(call)
            _check_auth(call)
            _parse_and_validate(call, schema)
            return _respond(call, rule(call))
        except LineApiError as exc:
            return _respond(call, exc)

    return endpoint


# --- endpoint rules ---------------------------------------------------------------------------
def _messages(call: Call) -> list[dict[str, Any]]:
    """The message objects of a send (tolerant when validation is off)."""
    return [m for m in call.json.get("messages") or [] if isinstance(m, dict)]


def _reply(call: Call) -> Result:
    """A reply goes to the user the (single-use, expiring) token was issued for."""
    user_id = call.state.consume_reply_token(str(call.json.get("replyToken", "")))
    sent = call.state.deliver([user_id], _messages(call), "reply", call.request_id)
    return 200, {"sentMessages": sent}


def _check_recipients(call: Call, recipients: list[str]) -> None:
    """Optional strictness: LINE refuses ``to`` values that are not user IDs."""
    if call.state.strict_user_ids and not all(USER_ID.match(r) for r in recipients):
        raise LineApiError(400, "The property, 'to', in the request body is invalid (line: -, column: -)")


def _send_once(call: Call, recipients: list[str], via: Literal["push", "multicast"],
               response: Callable[[list[dict[str, str]]], dict[str, Any]]) -> Result:
    """Deliver unless the retry key was accepted within 24 h (then 409, nothing re-sent)."""
    key = call.retry_key
    if key is not None:
        try:
            uuid.UUID(key)
        except ValueError:
            raise LineApiError(400, "The value for the 'X-Line-Retry-Key' header is invalid") from None
        accepted = call.state.accepted_retry_key(key)
        if accepted is not None:
            raise LineApiError(409, RETRY_KEY_ACCEPTED, extra=accepted[1],
                               headers={"x-line-accepted-request-id": accepted[0]})
    _check_recipients(call, recipients)
    messages = _messages(call)
    call.state.check_quota(len(recipients), len(messages))
    body = response(call.state.deliver(recipients, messages, via, call.request_id))
    if key is not None:
        call.state.accept_retry_key(key, call.request_id, body)
    return 200, body


def _push(call: Call) -> Result:
    """One recipient; LINE answers with ``sentMessages``."""
    return _send_once(call, [str(call.json.get("to", ""))], "push", lambda sent: {"sentMessages": sent})


def _multicast(call: Call) -> Result:
    """Many recipients; LINE answers ``{}``."""
    recipients = [str(r) for r in call.json.get("to") or []]
    return _send_once(call, recipients, "multicast", lambda sent: {})


def _loading(call: Call) -> Result:
    """LINE answers 202 Accepted; the simulator sees a ``loading`` event."""
    chat_id = str(call.json.get("chatId", ""))
    call.state.add_event("loading", chat_id, {"loadingSeconds": call.json.get("loadingSeconds", 20)})
    return 202, {}


def _image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG IHDR or a JPEG SOFn segment; None if unreadable."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    index = 2 if data.startswith(b"\xff\xd8") else len(data)
    while index + 9 < len(data) and data[index] == 0xFF:
        marker = data[index + 1]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height = int.from_bytes(data[index + 5 : index + 7], "big")
            return int.from_bytes(data[index + 7 : index + 9], "big"), height
        index += 2 + int.from_bytes(data[index + 2 : index + 4], "big")
    return None


def _upload_image(call: Call) -> Result:
    """api-data: PNG/JPEG <= 1 MB, 800-2500 wide, >= 250 high, width/height >= 1.45; once."""
    content_type = call.request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in IMAGE_TYPES:
        raise LineApiError(415, "Unsupported Media Type: use image/png or image/jpeg")
    if len(call.raw) > IMAGE_MAX_BYTES:
        raise LineApiError(413, "Request Entity Too Large: the image must be at most 1 MB")
    size = _image_size(call.raw)
    if size is None:
        raise LineApiError(400, f"The image is not a valid {content_type.split('/')[1].upper()} file")
    width, height = size
    if not (800 <= width <= 2500 and height >= 250 and width / height >= 1.45):
        raise LineApiError(400, f"Invalid image size {width}x{height}: width 800-2500, height >= 250, "
                                "width/height >= 1.45")
    call.state.set_rich_menu_image(call.param("richMenuId"), content_type, call.raw)
    return 200, {}


def _download_image(call: Call) -> Result:
    """api-data: the uploaded image, byte for byte."""
    menu = call.state.rich_menu(call.param("richMenuId"))
    if menu.image is None:
        raise LineApiError(404, "Not found")
    return Response(menu.image, media_type=menu.content_type)


def _default_menu(call: Call) -> Result:
    """The default rich menu's id, or 404 when none is set."""
    rich_menu_id = call.state.default_rich_menu_id
    if rich_menu_id is None:
        raise LineApiError(404, "no default richmenu")
    return 200, {"richMenuId": rich_menu_id}


def _ok(action: Callable[[Call], object]) -> Rule:
    """A rule that only acts (errors are raised by the state); LINE then answers 200 ``{}``."""

    def rule(call: Call) -> Result:
        action(call)
        return 200, {}

    return rule


LINE_ROUTES: list[tuple[str, str, Rule, str | None]] = [
    ("POST", "/v2/bot/message/reply", _reply, "ReplyMessageRequest"),
    ("POST", "/v2/bot/message/push", _push, "PushMessageRequest"),
    ("POST", "/v2/bot/message/multicast", _multicast, "MulticastRequest"),
    ("POST", "/v2/bot/chat/loading/start", _loading, "ShowLoadingAnimationRequest"),
    ("GET", "/v2/bot/message/quota", lambda c: (200, c.state.quota()), None),
    ("GET", "/v2/bot/message/quota/consumption", lambda c: (200, {"totalUsage": c.state.usage}), None),
    ("GET", "/v2/bot/profile/{userId}", lambda c: (200, c.state.profile(c.param("userId"))), None),
    ("POST", "/v2/bot/richmenu", lambda c: (200, {"richMenuId": c.state.create_rich_menu(c.json)}),
     "RichMenuRequest"),
    ("POST", "/v2/bot/richmenu/validate", lambda c: (200, {}), "RichMenuRequest"),
    ("GET", "/v2/bot/richmenu/list",
     lambda c: (200, {"richmenus": [m.to_json() for m in c.state.rich_menus]}), None),
    ("GET", "/v2/bot/richmenu/{richMenuId}", lambda c: (200, c.state.rich_menu(c.param("richMenuId")).to_json()),
     None),
    ("DELETE", "/v2/bot/richmenu/{richMenuId}", _ok(lambda c: c.state.delete_rich_menu(c.param("richMenuId"))),
     None),
    ("POST", "/v2/bot/richmenu/{richMenuId}/content", _upload_image, None),
    ("GET", "/v2/bot/richmenu/{richMenuId}/content", _download_image, None),
    ("POST", "/v2/bot/user/all/richmenu/{richMenuId}",
     _ok(lambda c: c.state.set_default_rich_menu(c.param("richMenuId"))), None),
    ("GET", "/v2/bot/user/all/richmenu", _default_menu, None),
    ("DELETE", "/v2/bot/user/all/richmenu", _ok(lambda c: c.state.clear_default_rich_menu()), None),
]


# --- control and inspection API ----------------------------------------------------------------
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


def _control_router(state: StandinState) -> APIRouter:
    """``/_standin/*``: issue tokens, inject faults, inspect, reset (no auth, not recorded)."""
    router = APIRouter(prefix="/_standin", include_in_schema=False)

    @router.post("/reply-tokens")
    def issue_reply_token(spec: ReplyTokenRequest) -> dict[str, Any]:
        """What a webhook event would carry for ``userId``."""
        token = state.issue_reply_token(spec.userId, spec.ttl)
        ttl = state.reply_token_ttl if spec.ttl is None else spec.ttl
        return {"replyToken": token, "userId": spec.userId, "expiresIn": ttl}

    @router.post("/faults")
    def add_fault(spec: FaultRequest) -> dict[str, Any]:
        """Queue a fault for matching LINE calls."""
        fault = Fault(spec.mode, spec.status, spec.delay, spec.count, tuple(spec.paths), spec.retryAfter)
        state.add_fault(fault)
        return {"fault": fault_to_json(fault), "faults": [fault_to_json(f) for f in state.faults]}

    @router.get("/faults")
    def list_faults() -> dict[str, Any]:
        """Active faults with their remaining counts."""
        return {"faults": [fault_to_json(f) for f in state.faults]}

    @router.delete("/faults")
    def clear_faults() -> dict[str, Any]:
        """Back to normal service."""
        state.clear_faults()
        return {}

    @router.post("/profiles")
    def set_profile(spec: ProfileRequest) -> dict[str, Any]:
        """What ``GET /v2/bot/profile/{userId}`` returns for this user."""
        extra = spec.model_dump(exclude={"userId", "displayName"}, exclude_none=True)
        state.set_profile(spec.userId, spec.displayName, **extra)
        return {}

    @router.get("/requests")
    def list_requests() -> dict[str, Any]:
        """Every recorded LINE call (no Authorization header)."""
        return {"requests": [r.to_json() for r in state.requests]}

    @router.get("/messages")
    def list_messages(user_id: Annotated[str | None, Query(alias="userId")] = None) -> dict[str, Any]:
        """Delivered messages, for one user or everyone."""
        return {"messages": [m.to_json() for m in state.messages_for(user_id)]}

    @router.get("/events")
    async def poll_events(after: int = 0, wait: Annotated[float, Query(ge=0)] = 0.0) -> dict[str, Any]:
        """Events after ``after``; with ``wait``, long-poll up to that many seconds (max 30)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(wait, EVENTS_MAX_WAIT_S)
        while not (found := state.events_after(after)) and loop.time() < deadline:
            await asyncio.sleep(0.05)
        return {"events": [e.to_json() for e in found], "lastSeq": state.last_seq}

    @router.get("/richmenus/default")
    def default_rich_menu() -> dict[str, Any]:
        """The default rich menu object (for the simulator), or null."""
        rich_menu_id = state.default_rich_menu_id
        return {"richMenu": state.rich_menu(rich_menu_id).to_json() if rich_menu_id else None}

    @router.get("/richmenus/{rich_menu_id}/image")
    def rich_menu_image(rich_menu_id: str) -> Response:
        """A rich menu's image without auth, for the simulator's <img>."""
        menu = next((m for m in state.rich_menus if m.rich_menu_id == rich_menu_id), None)
        if menu is None or menu.image is None:
            return JSONResponse({"message": "Not found"}, 404)
        return Response(menu.image, media_type=menu.content_type)

    @router.delete("/reset")
    def reset() -> dict[str, Any]:
        """Forget everything (settings such as validation stay)."""
        state.reset()
        return {}

    return router


def create_standin_router(state: StandinState) -> APIRouter:
    """LINE's endpoints plus ``/_standin/*`` over ``state``; mount under any prefix."""
    router = APIRouter()
    for method, path, rule, schema in LINE_ROUTES:
        router.add_api_route(path, _endpoint(state, rule, schema), methods=[method],
                             include_in_schema=False)
    router.include_router(_control_router(state))
    return router


def create_standin_app(*, validate: bool = True, reply_token_ttl: float = 60.0,
                       state: StandinState | None = None) -> FastAPI:
    """A standalone stand-in app; ``validate``/``reply_token_ttl`` apply only to a new state."""
    state = state or StandinState(validate=validate, reply_token_ttl=reply_token_ttl)
    app = FastAPI(title="LINE Messaging API stand-in", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.standin = state
    app.include_router(create_standin_router(state))
    return app
