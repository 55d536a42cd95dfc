"""The LINE stand-in, specified by example: it answers the way LINE does.

Plain sync tests over real HTTP (httpx against a uvicorn thread), so they need no asyncio
configuration. ``line_standin`` is reset for every test.
"""

from __future__ import annotations

import struct
import threading
import time
import uuid
import zlib
from typing import Any

import httpx
import pytest

from tests import standin_fixtures
from tests.standin_server import StandinServer

line_standin_server = standin_fixtures.line_standin_server
line_standin = standin_fixtures.line_standin

USER = "U" + "1" * 32
OTHER = "U" + "2" * 32
Json = dict[str, Any]


def text(value: str = "hello") -> Json:
    return {"type": "text", "text": value}


def send_reply(server: StandinServer, token: str, *messages: Json) -> httpx.Response:
    with server.client() as client:
        return client.post("/v2/bot/message/reply", json={"replyToken": token, "messages": list(messages)})


def send_push(server: StandinServer, *messages: Json, retry_key: str | None = None,
              to: str = USER) -> httpx.Response:
    headers = {"X-Line-Retry-Key": retry_key} if retry_key else {}
    with server.client() as client:
        return client.post("/v2/bot/message/push", json={"to": to, "messages": list(messages)}, headers=headers)


def png(width: int, height: int) -> bytes:
    """A real (1-bit grey) PNG of the given size."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = (b"\x00" + b"\x00" * ((width + 7) // 8)) * height
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


# --- replies ------------------------------------------------------------------------------
def test_a_valid_text_reply_is_delivered_to_the_tokens_user(line_standin: StandinServer) -> None:
    token = line_standin.issue_reply_token(USER)
    response = send_reply(line_standin, token, text("Hi!"), text("How is your knee?"))
    assert response.status_code == 200
    assert len(response.json()["sentMessages"]) == 2
    assert response.headers["x-line-request-id"]
    assert line_standin.texts_for(USER) == ["Hi!", "How is your knee?"]
    assert [m.via for m in line_standin.messages_for(USER)] == ["reply", "reply"]


def test_a_reply_token_works_only_once(line_standin: StandinServer) -> None:
    token = line_standin.issue_reply_token(USER)
    assert send_reply(line_standin, token, text("first")).status_code == 200
    second = send_reply(line_standin, token, text("second"))
    assert second.status_code == 400
    assert second.json() == {"message": "Invalid reply token"}
    assert line_standin.texts_for(USER) == ["first"]


def test_an_expired_reply_token_is_invalid(line_standin: StandinServer) -> None:
    token = line_standin.issue_reply_token(USER, ttl=0.01)
    time.sleep(0.05)
    response = send_reply(line_standin, token, text())
    assert (response.status_code, response.json()) == (400, {"message": "Invalid reply token"})
    assert line_standin.messages_for(USER) == []


def test_an_unknown_reply_token_is_invalid(line_standin: StandinServer) -> None:
    assert send_reply(line_standin, "made-up", text()).json() == {"message": "Invalid reply token"}


def test_reply_tokens_can_be_issued_over_http(line_standin: StandinServer) -> None:
    with httpx.Client(base_url=line_standin.base_url) as client:
        issued = client.post("/_standin/reply-tokens", json={"userId": USER}).json()
    assert issued["expiresIn"] == 60.0
    assert send_reply(line_standin, issued["replyToken"], text()).status_code == 200


# --- push, retry keys, multicast --------------------------------------------------------------
def test_a_push_with_a_used_retry_key_is_409_and_not_delivered_again(line_standin: StandinServer) -> None:
    key = str(uuid.uuid4())
    first = send_push(line_standin, text("Reminder"), retry_key=key)
    second = send_push(line_standin, text("Reminder"), retry_key=key)
    assert first.status_code == 200
    assert second.status_code == 409
    assert second.json()["message"] == "The retry key is already accepted"
    assert second.headers["x-line-accepted-request-id"] == first.headers["x-line-request-id"]
    assert line_standin.texts_for(USER) == ["Reminder"]


def test_a_retry_key_of_a_failed_request_can_be_retried(line_standin: StandinServer) -> None:
    key = str(uuid.uuid4())
    line_standin.set_fault("status", status=500, count=1)
    assert send_push(line_standin, text(), retry_key=key).status_code == 500
    assert send_push(line_standin, text(), retry_key=key).status_code == 200
    assert len(line_standin.messages_for(USER)) == 1


def test_a_retry_key_must_be_a_uuid(line_standin: StandinServer) -> None:
    response = send_push(line_standin, text(), retry_key="not-a-uuid")
    assert response.status_code == 400
    assert line_standin.messages_for(USER) == []


def test_multicast_delivers_to_every_recipient(line_standin: StandinServer) -> None:
    with line_standin.client() as client:
        response = client.post("/v2/bot/message/multicast", json={"to": [USER, OTHER], "messages": [text("Hi")]})
    assert (response.status_code, response.json()) == (200, {})
    assert line_standin.texts_for(USER) == line_standin.texts_for(OTHER) == ["Hi"]
    assert line_standin.messages_for(OTHER)[0].via == "multicast"


# --- the contract ---------------------------------------------------------------------------------
def test_six_messages_are_rejected_like_line_and_recorded_as_invalid(line_standin: StandinServer) -> None:
    response = send_push(line_standin, *[text()] * 6)
    assert response.status_code == 400
    assert response.json() == {"message": "The request body has 1 error(s)",
                               "details": [{"message": "size must be at most 5 (got 6)", "property": "messages"}]}
    assert [r.path for r in line_standin.state.invalid_requests] == ["/v2/bot/message/push"]
    assert line_standin.messages_for(USER) == []


def test_a_flex_button_with_oversized_postback_data_is_rejected(line_standin: StandinServer) -> None:
    button = {"type": "button", "action": {"type": "postback", "label": "Book", "data": "x" * 301}}
    bubble = {"type": "bubble", "body": {"type": "box", "layout": "vertical", "contents": [button]}}
    response = send_push(line_standin, {"type": "flex", "altText": "book", "contents": bubble})
    assert response.status_code == 400
    assert response.json()["details"][0]["property"] == "messages[0].contents.body.contents[0].action.data"


def test_a_flex_message_with_an_unknown_component_type_is_rejected(line_standin: StandinServer) -> None:
    bubble = {"type": "bubble", "body": {"type": "box", "layout": "vertical", "contents": [{"type": "gif"}]}}
    response = send_push(line_standin, {"type": "flex", "altText": "x", "contents": bubble})
    assert response.status_code == 400
    assert "unknown FlexComponent type 'gif'" in response.json()["details"][0]["message"]


def test_a_quick_reply_with_14_items_is_rejected(line_standin: StandinServer) -> None:
    items = [{"type": "action", "action": {"type": "message", "label": f"{i}", "text": f"{i}"}} for i in range(14)]
    response = send_push(line_standin, {**text(), "quickReply": {"items": items}})
    assert response.status_code == 400


def test_a_flex_carousel_with_hero_image_and_uri_button_is_accepted(line_standin: StandinServer) -> None:
    bubble = {
        "type": "bubble",
        "hero": {"type": "image", "url": "https://example.com/a.png", "size": "full", "aspectMode": "cover"},
        "footer": {"type": "box", "layout": "vertical", "contents": [
            {"type": "button", "action": {"type": "uri", "label": "Open", "uri": "https://example.com"}}]},
    }
    message = {"type": "flex", "altText": "videos", "contents": {"type": "carousel", "contents": [bubble] * 3}}
    assert send_push(line_standin, message).status_code == 200
    assert line_standin.messages_for(USER)[0].message == message


def test_a_video_message_with_tracking_id_is_accepted(line_standin: StandinServer) -> None:
    video = {"type": "video", "originalContentUrl": "https://example.com/v.mp4",
             "previewImageUrl": "https://example.com/v.jpg", "trackingId": "stretch-1"}
    assert send_push(line_standin, video).status_code == 200


def test_validation_can_be_switched_off(line_standin: StandinServer) -> None:
    line_standin.state.validate = False
    assert send_push(line_standin, *[text()] * 6).status_code == 200


# --- auth ---------------------------------------------------------------------------------------
def test_a_request_without_authorization_is_401(line_standin: StandinServer) -> None:
    with line_standin.client(token=None) as client:
        response = client.post("/v2/bot/message/push", json={"to": USER, "messages": [text()]})
    assert response.status_code == 401
    assert response.json()["message"].startswith("Authentication failed")
    assert line_standin.state.requests[-1].status == 401
    assert line_standin.messages_for(USER) == []


def test_a_configured_access_token_must_match(line_standin: StandinServer) -> None:
    line_standin.state.access_token = "the-real-one"
    assert send_push(line_standin, text()).status_code == 401
    with line_standin.client(token="the-real-one") as client:
        assert client.post("/v2/bot/message/push", json={"to": USER, "messages": [text()]}).status_code == 200


# --- faults -------------------------------------------------------------------------------------
def test_a_429_fault_for_two_requests_then_success(line_standin: StandinServer) -> None:
    line_standin.set_fault("status", status=429, count=2, retry_after=1)
    statuses = [send_push(line_standin, text()) for _ in range(3)]
    assert [r.status_code for r in statuses] == [429, 429, 200]
    assert statuses[0].headers["Retry-After"] == "1"
    assert line_standin.texts_for(USER) == ["hello"]


def test_faults_can_target_paths_over_http(line_standin: StandinServer) -> None:
    with httpx.Client(base_url=line_standin.base_url) as client:
        client.post("/_standin/faults", json={"mode": "status", "status": 503, "paths": ["/v2/bot/message/reply"]})
    assert send_push(line_standin, text()).status_code == 200
    assert send_reply(line_standin, line_standin.issue_reply_token(USER), text()).status_code == 503
    with httpx.Client(base_url=line_standin.base_url) as client:
        client.delete("/_standin/faults")
    assert send_reply(line_standin, line_standin.issue_reply_token(USER), text()).status_code == 200


def test_a_slow_line_times_out_the_client_but_still_delivers(line_standin: StandinServer) -> None:
    line_standin.set_fault("slow", delay=0.5, count=1)
    with pytest.raises(httpx.ReadTimeout), line_standin.client(timeout=0.1) as client:
        client.post("/v2/bot/message/push", json={"to": USER, "messages": [text()]})
    deadline = time.monotonic() + 3
    while not line_standin.messages_for(USER) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert line_standin.texts_for(USER) == ["hello"]


def test_down_mode_answers_503_and_a_stopped_server_refuses(line_standin: StandinServer) -> None:
    line_standin.set_fault("down")
    assert send_push(line_standin, text()).status_code == 503
    line_standin.clear_faults()
    with line_standin.down(), pytest.raises(httpx.ConnectError):
        send_push(line_standin, text())
    assert send_push(line_standin, text()).status_code == 200


# --- other endpoints ----------------------------------------------------------------------------
def test_loading_animation_is_accepted_and_seen_as_an_event(line_standin: StandinServer) -> None:
    with line_standin.client() as client:
        response = client.post("/v2/bot/chat/loading/start", json={"chatId": USER, "loadingSeconds": 5})
        bad = client.post("/v2/bot/chat/loading/start", json={"chatId": USER, "loadingSeconds": 7})
    assert response.status_code == 202
    assert bad.status_code == 400
    [event] = line_standin.state.events_after(0)
    assert (event.kind, event.user_id, event.data) == ("loading", USER, {"loadingSeconds": 5})


def test_profiles_are_generated_or_set(line_standin: StandinServer) -> None:
    with line_standin.client() as client:
        assert client.get(f"/v2/bot/profile/{USER}").json()["userId"] == USER
        client.post("/_standin/profiles", json={"userId": USER, "displayName": "Aki", "language": "en"})
        assert client.get(f"/v2/bot/profile/{USER}").json() == {"displayName": "Aki", "userId": USER,
                                                                 "language": "en"}


def test_quota_endpoints_count_pushes(line_standin: StandinServer) -> None:
    send_push(line_standin, text(), text())
    with line_standin.client() as client:
        assert client.get("/v2/bot/message/quota").json() == {"type": "none"}
        assert client.get("/v2/bot/message/quota/consumption").json() == {"totalUsage": 2}
    line_standin.state.quota_limit = 2
    assert send_push(line_standin, text()).status_code == 429


def test_rich_menu_lifecycle(line_standin: StandinServer) -> None:
    area = {"bounds": {"x": 0, "y": 0, "width": 2500, "height": 843},
            "action": {"type": "postback", "label": "Book", "data": "book"}}
    menu = {"size": {"width": 2500, "height": 843}, "selected": True, "name": "main", "chatBarText": "Menu",
            "areas": [area]}
    with line_standin.client() as client:
        assert client.post("/v2/bot/richmenu/validate", json=menu).status_code == 200
        menu_id = client.post("/v2/bot/richmenu", json=menu).json()["richMenuId"]
        assert client.post(f"/v2/bot/user/all/richmenu/{menu_id}").status_code == 400  # no image yet
        upload = f"/v2/bot/richmenu/{menu_id}/content"
        assert client.post(upload, content=b"GIF89a", headers={"Content-Type": "image/gif"}).status_code == 415
        assert client.post(upload, content=png(2500, 843), headers={"Content-Type": "image/png"}).status_code == 200
        assert client.post(upload, content=png(2500, 843), headers={"Content-Type": "image/png"}).status_code == 400
        assert client.post(f"/v2/bot/user/all/richmenu/{menu_id}").status_code == 200
        assert client.get("/v2/bot/user/all/richmenu").json() == {"richMenuId": menu_id}
        assert client.get("/v2/bot/richmenu/list").json()["richmenus"][0]["richMenuId"] == menu_id
        assert client.get(f"/v2/bot/richmenu/{menu_id}").json()["chatBarText"] == "Menu"
        assert client.delete(f"/v2/bot/richmenu/{menu_id}").status_code == 200
        assert client.get("/v2/bot/user/all/richmenu").status_code == 404
        assert client.get(f"/v2/bot/richmenu/{menu_id}").status_code == 404
    upload_record = next(r for r in line_standin.state.requests if r.path.endswith("/content") and r.status == 200)
    assert upload_record.body == {"contentType": "image/png", "size": len(png(2500, 843))}


def test_a_rich_menu_image_must_have_line_dimensions(line_standin: StandinServer) -> None:
    menu = {"size": {"width": 2500, "height": 843}, "selected": False, "name": "m", "chatBarText": "Menu",
            "areas": []}
    with line_standin.client() as client:
        menu_id = client.post("/v2/bot/richmenu", json=menu).json()["richMenuId"]
        response = client.post(f"/v2/bot/richmenu/{menu_id}/content", content=png(500, 500),
                               headers={"Content-Type": "image/png"})
    assert response.status_code == 400


# --- inspection ---------------------------------------------------------------------------------
def test_requests_are_recorded_without_the_authorization_header(line_standin: StandinServer) -> None:
    send_push(line_standin, text(), retry_key="0b4bd4a4-0c0c-4b7a-9e1b-1a1a1a1a1a1a")
    with httpx.Client(base_url=line_standin.base_url) as client:
        [recorded] = client.get("/_standin/requests").json()["requests"]
    assert recorded["path"] == "/v2/bot/message/push"
    assert recorded["retryKey"] == "0b4bd4a4-0c0c-4b7a-9e1b-1a1a1a1a1a1a"
    assert recorded["status"] == 200
    assert recorded["body"] == {"to": USER, "messages": [text()]}
    assert "standin-test-token" not in str(recorded)


def test_messages_and_events_can_be_polled(line_standin: StandinServer) -> None:
    send_push(line_standin, text("one"))
    with httpx.Client(base_url=line_standin.base_url) as client:
        first = client.get("/_standin/events").json()
        timer = threading.Timer(0.2, lambda: send_push(line_standin, text("two")))
        timer.start()
        later = client.get("/_standin/events", params={"after": first["lastSeq"], "wait": 5}).json()
        timer.join()
        messages = client.get("/_standin/messages", params={"userId": USER}).json()["messages"]
    assert [e["message"]["text"] for e in first["events"]] == ["one"]
    assert [e["message"]["text"] for e in later["events"]] == ["two"]
    assert [(m["via"], m["message"]["text"]) for m in messages] == [("push", "one"), ("push", "two")]


def test_reset_forgets_everything(line_standin: StandinServer) -> None:
    send_push(line_standin, text())
    with httpx.Client(base_url=line_standin.base_url) as client:
        assert client.delete("/_standin/reset").status_code == 200
    assert line_standin.state.requests == []
    assert line_standin.messages_for(USER) == []


# --- embedding and the SDK ------------------------------------------------------------------------
def test_the_router_works_mounted_under_a_prefix() -> None:
    with StandinServer(prefix="/_line") as server, httpx.Client(base_url=server.base_url) as client:
        token = client.post("/_standin/reply-tokens", json={"userId": USER}).json()["replyToken"]
        response = send_reply(server, token, text())
    assert server.base_url.endswith("/_line")
    assert response.status_code == 200
    assert server.state.requests[0].path == "/v2/bot/message/reply"
    assert [m.message for m in server.messages_for(USER)] == [text()]


def test_line_bot_sdk_talks_to_the_stand_in(line_standin: StandinServer) -> None:
    from linebot.v3.messaging import ApiClient, Configuration, MessagingApi, PushMessageRequest, TextMessage
    from linebot.v3.messaging.exceptions import ApiException

    config = Configuration(host=line_standin.base_url, access_token="sdk-token")
    key = str(uuid.uuid4())
    with ApiClient(config) as api_client:
        api = MessagingApi(api_client)
        request = PushMessageRequest(to=USER, messages=[TextMessage(text="from the SDK")])
        api.push_message(request, x_line_retry_key=key)
        with pytest.raises(ApiException) as conflict:
            api.push_message(request, x_line_retry_key=key)
    assert conflict.value.status == 409
    assert line_standin.texts_for(USER) == ["from the SDK"]
    assert line_standin.state.invalid_requests == []


def test_jpeg_dimensions_are_read_from_the_frame_header() -> None:
    from bot.local.line_standin.api import _image_size

    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00" + b"\x00" * 9
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 843, 2500, 1) + b"\x01\x11\x00"
    assert _image_size(b"\xff\xd8" + app0 + sof0 + b"\xff\xd9") == (2500, 843)
    assert _image_size(b"not an image") is None
