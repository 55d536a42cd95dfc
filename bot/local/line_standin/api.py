"""LINE's endpoints as rules: reply, push, multicast, the loading animation, quota, profiles, rich menus
(everyone's default and per user).

Each rule does what LINE does with a call that passed the pipeline (:mod:`.calls`), on the state's rules;
``LINE_ROUTES`` lists them with LINE's method, path and the request schema the body is checked against.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any, Literal

from fastapi.responses import Response

from bot.local.line_standin.calls import Call, Result, Rule
from bot.local.line_standin.records import LineApiError

RETRY_KEY_ACCEPTED = "The retry key is already accepted"
IMAGE_TYPES = ("image/png", "image/jpeg")
IMAGE_MAX_BYTES = 1_000_000
USER_ID = re.compile(r"^U[0-9a-f]{32}$")


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


def _user_menu(call: Call) -> Result:
    """The menu linked to one user; 404 when none is (the default does not count, as on LINE)."""
    rich_menu_id = call.state.linked_rich_menu_id(call.param("userId"))
    if rich_menu_id is None:
        raise LineApiError(404, "the user has no richmenu")
    return 200, {"richMenuId": rich_menu_id}


def _bulk(call: Call, link: bool) -> Result:
    """Up to 500 users at once; LINE answers 202 Accepted."""
    users = [str(u) for u in call.json.get("userIds") or []]
    _check_recipients(call, users)
    for user_id in users:
        if link:
            call.state.link_rich_menu(user_id, str(call.json.get("richMenuId", "")))
        else:
            call.state.unlink_rich_menu(user_id)
    return 202, {}


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
    ("POST", "/v2/bot/richmenu/bulk/link", lambda c: _bulk(c, True), "RichMenuBulkLinkRequest"),
    ("POST", "/v2/bot/richmenu/bulk/unlink", lambda c: _bulk(c, False), "RichMenuBulkUnlinkRequest"),
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
    ("POST", "/v2/bot/user/{userId}/richmenu/{richMenuId}",
     _ok(lambda c: c.state.link_rich_menu(c.param("userId"), c.param("richMenuId"))), None),
    ("GET", "/v2/bot/user/{userId}/richmenu", _user_menu, None),
    ("DELETE", "/v2/bot/user/{userId}/richmenu", _ok(lambda c: c.state.unlink_rich_menu(c.param("userId"))), None),
]
