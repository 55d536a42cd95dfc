"""Property-based fuzzing of ``POST /callback`` (hypothesis): bodies and headers, signed and unsigned.

Shared by the bench (10,000 cases, ``python -m bench --only fuzz``) and ``tests/test_fuzz_webhook.py`` (a few
hundred). The properties: never a 5xx; an unsigned (or wrongly signed) body never causes a call to LINE; the
consumer survives whatever a signed body holds (checked after the run: a real runner still gets an answer).
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from hypothesis import strategies as st

from bench.mix import SECRET, sign, ulid

SIG_OK, SIG_BAD, SIG_NONE, SIG_JUNK = "ok", "bad", "none", "junk"

_text = st.text(max_size=40)
_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), _text)
_json = st.recursive(_scalar, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(_text, inner, max_size=4)), max_leaves=12)
#: Mostly what LINE sends (a ULID, the current time), so the cases get past the edge checks to the consumer.
_ulid = st.builds(ulid)
_now_ms = st.builds(lambda: int(time.time() * 1000))
_user = st.one_of(st.just("U" + "0" * 32), st.from_regex(r"U[0-9a-f]{32}", fullmatch=True), _text)
_source = st.one_of(
    st.fixed_dictionaries({"type": st.just("user"), "userId": _user}),
    st.fixed_dictionaries({"type": st.just("group"), "groupId": _text, "userId": _user}),
    st.fixed_dictionaries({"type": st.just("room"), "roomId": _text}),
    _json,
)
_postback = st.one_of(
    st.sampled_from(["f=knee_back&g=where", "f=knee_back&s=where&v=outer&t=1", "a=booking.start",
                     "f=knee_back&s=timing&v=after&t=99", "f=nope&s=x&v=y&t=-1", "a=data.delete", "", "%%%"]),
    _text,
)
_message = st.one_of(
    st.fixed_dictionaries({"id": _text, "type": st.just("text"), "text": st.text(max_size=300),
                           "quoteToken": _text}),
    st.fixed_dictionaries({"id": _text, "type": st.sampled_from(["image", "sticker", "location", "video"])}),
    _json,
)
_event = st.fixed_dictionaries(
    {"type": st.sampled_from(["message", "postback", "follow", "unfollow", "join", "leave", "videoPlayComplete",
                              "beacon", "accountLink", "memberJoined", "unsend", "", "nonsense"]),
     "source": _source},
    optional={"webhookEventId": st.one_of(_ulid, _ulid, _text, st.integers(), st.none()),
              "replyToken": st.one_of(_text, st.none(), st.integers()),
              "timestamp": st.one_of(_now_ms, _now_ms, st.integers(), _text),
              "mode": st.sampled_from(["active", "standby", "x"]),
              "message": _message,
              "postback": st.one_of(st.fixed_dictionaries({"data": _postback}), _json),
              "follow": st.one_of(st.fixed_dictionaries({"isUnblocked": st.booleans()}), _json),
              "deliveryContext": st.one_of(st.fixed_dictionaries({"isRedelivery": st.booleans()}), _json),
              "extra": _json},
)
_webhook = st.fixed_dictionaries({"events": st.one_of(st.lists(st.one_of(_event, _json), max_size=3), _json)},
                                 optional={"destination": _text})
body_strategy = st.one_of(
    _webhook.map(lambda d: json.dumps(d, ensure_ascii=False).encode()),
    _json.map(lambda d: json.dumps(d).encode()),
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
)


@st.composite
def cases(draw: Any, signed: bool | None = None, secret: str = SECRET) -> tuple[str, bytes, dict[str, str]]:
    """(signature kind, body, headers), signed with ``secret`` when right; ``signed`` None draws both kinds."""
    body = draw(body_strategy)
    if signed is None:
        kind = draw(st.sampled_from([SIG_OK, SIG_BAD, SIG_NONE, SIG_JUNK]))
    else:
        kind = SIG_OK if signed else draw(st.sampled_from([SIG_BAD, SIG_NONE, SIG_JUNK]))
    content_type = draw(st.sampled_from([None, "application/json", "application/json; charset=UTF-8",
                                         "text/plain", "multipart/form-data"]))
    headers = {"Content-Type": content_type} if content_type else {}
    if kind == SIG_OK:
        headers["X-Line-Signature"] = sign(body, secret)
    elif kind == SIG_BAD:
        headers["X-Line-Signature"] = sign(body, "some-other-secret")
    elif kind == SIG_JUNK:
        # printable, no edge spaces: an HTTP client refuses to send anything else, so LINE could not either
        headers["X-Line-Signature"] = draw(st.from_regex(r"[!-~]([ -~]{0,58}[!-~])?", fullmatch=True))
    return kind, body, headers


def post(client: httpx.Client, body: bytes, headers: dict[str, str]) -> int:
    """POST one case; the status (a 5xx is the failure the properties forbid)."""
    return client.post("/callback", content=body, headers=headers).status_code
