"""The contract validator, specified by example: what LINE accepts and what it rejects.

Each test names a rule; bodies are built small so the rule under test is the only thing
that can fail. The jsonschema cross-check proves the fast interpreter agrees with a real
JSON Schema implementation on the same converted spec.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest
from jsonschema import Draft202012Validator, ValidationError, validators  # type: ignore[import-untyped]

from bot.local.contract import (
    DISCRIMINATOR_KEYWORD,
    _convert,
    discriminated_bases,
    json_schema_defs,
    load_spec,
    root_schema,
    schema_issues,
)
from bot.local.line_schema import grapheme_len, line_limits_errors, utf16_len, validate_body

Json = dict[str, Any]


def text(value: Any = "hello", **extra: Any) -> Json:
    return {"type": "text", "text": value, **extra}


def reply(*messages: Json) -> Json:
    return {"replyToken": "token", "messages": list(messages)}


def postback(data: str = "a=1", label: str = "Book") -> Json:
    return {"type": "postback", "label": label, "data": data}


def quick_reply(count: int) -> Json:
    return {"items": [{"type": "action", "action": postback(f"opt={i}", f"opt {i}")} for i in range(count)]}


def bubble(*footer: Json) -> Json:
    return {
        "type": "bubble",
        "hero": {"type": "image", "url": "https://example.com/hero.png", "size": "full",
                 "aspectMode": "cover", "action": {"type": "uri", "uri": "https://example.com"}},
        "body": {"type": "box", "layout": "vertical", "contents": [
            {"type": "text", "text": "Knee pain check", "weight": "bold", "size": "xl"},
            {"type": "box", "layout": "baseline", "contents": [
                {"type": "icon", "url": "https://example.com/star.png"},
                {"type": "text", "text": "4.0", "size": "sm"}]},
            {"type": "separator"}]},
        "footer": {"type": "box", "layout": "vertical", "spacing": "sm", "contents": list(footer) or [
            {"type": "button", "style": "primary", "action": postback()},
            {"type": "button", "action": {"type": "uri", "label": "Website", "uri": "https://example.com"}}]},
    }


def flex(contents: Json) -> Json:
    return {"type": "flex", "altText": "menu", "contents": contents}


def errors(body: Json, schema: str = "ReplyMessageRequest") -> list[str]:
    return validate_body(schema, body)


# --- what LINE accepts --------------------------------------------------------------------------
def test_a_plain_text_reply_is_valid() -> None:
    assert errors(reply(text())) == []


def test_a_flex_carousel_with_hero_image_and_uri_button_is_valid() -> None:
    assert errors(reply(flex({"type": "carousel", "contents": [bubble(), bubble()]}))) == []


def test_a_video_message_with_tracking_id_is_valid() -> None:
    video = {"type": "video", "originalContentUrl": "https://example.com/v.mp4",
             "previewImageUrl": "https://example.com/v.jpg", "trackingId": "stretch-1"}
    assert errors(reply(video)) == []


def test_thirteen_quick_reply_items_with_short_labels_are_valid() -> None:
    assert errors(reply(text(quickReply=quick_reply(13)))) == []


def test_bodies_built_with_line_bot_sdk_models_are_valid() -> None:
    from linebot.v3.messaging import (
        PostbackAction,
        PushMessageRequest,
        QuickReply,
        QuickReplyItem,
        TextMessage,
    )

    item = QuickReplyItem(action=PostbackAction(label="Yes", data="answer=yes", displayText="Yes"))
    message = TextMessage(text="Does it hurt?", quickReply=QuickReply(items=[item]))
    body = PushMessageRequest(to="U" + "0" * 32, messages=[message]).to_dict()
    assert errors(body, "PushMessageRequest") == []


# --- what LINE rejects ------------------------------------------------------------------------
def test_six_messages_are_rejected() -> None:
    assert errors(reply(*[text()] * 6)) == ["messages: size must be at most 5 (got 6)"]


def test_postback_data_over_300_chars_deep_inside_a_flex_bubble_is_rejected() -> None:
    body = reply(flex(bubble({"type": "button", "action": postback("x" * 301)})))
    assert errors(body) == ["messages[0].contents.footer.contents[0].action.data: "
                            "length must be at most 300 (got 301)"]


def test_an_unknown_flex_component_type_is_rejected() -> None:
    content = bubble()
    content["body"]["contents"][1]["contents"][0]["type"] = "sparkle"
    [error] = errors(reply(flex(content)))
    assert error.startswith("messages[0].contents.body.contents[1].contents[0].type: unknown FlexComponent")


def test_an_unknown_message_type_is_rejected() -> None:
    [error] = errors(reply({"type": "hologram", "text": "hi"}))
    assert error.startswith("messages[0].type: unknown Message type 'hologram'")


def test_an_action_without_type_is_rejected() -> None:
    body = reply(text(quickReply={"items": [{"type": "action", "action": {"label": "x", "data": "y"}}]}))
    assert "messages[0].quickReply.items[0].action.type: must be specified (Action)" in errors(body)


def test_a_field_typed_as_a_concrete_schema_still_checks_its_type() -> None:
    content = bubble()
    content["body"] = {"type": "text", "text": "a body must be a box"}
    assert "messages[0].contents.body.type: must be one of ['box'] (got 'text')" in errors(reply(flex(content)))


def test_fourteen_quick_reply_items_are_rejected() -> None:
    assert errors(reply(text(quickReply=quick_reply(14)))) == [
        "messages[0].quickReply.items: size must be at most 13 (got 14)"]


def test_a_missing_required_field_is_reported_at_its_path() -> None:
    assert errors(reply({"type": "image", "originalContentUrl": "https://example.com/a.png"})) == [
        "messages[0].previewImageUrl: must be specified"]


def test_a_wrong_json_type_is_rejected() -> None:
    assert errors(reply(text(123))) == ["messages[0].text: must be of type string (got integer)"]


# --- LINE limits the spec does not declare ------------------------------------------------------
def test_text_is_limited_to_5000_utf16_code_units() -> None:
    assert errors(reply(text("a" * 5000))) == []
    emoji_text = "\U0001f34e" * 2501  # 2501 code points, 5002 UTF-16 code units
    assert errors(reply(text(emoji_text))) == [
        "messages[0].text: length must be at most 5000 UTF-16 code units (got 5002)"]


def test_quick_reply_labels_are_required_and_at_most_20_characters() -> None:
    long_label = text(quickReply={"items": [{"type": "action", "action": postback("a", "x" * 21)}]})
    assert errors(reply(long_label)) == [
        "messages[0].quickReply.items[0].action.label: length must be at most 20 characters (got 21)"]
    no_label = text(quickReply={"items": [{"type": "action", "action": {"type": "postback", "data": "a"}}]})
    assert errors(reply(no_label)) == ["messages[0].quickReply.items[0].action.label: must be specified"]


def test_template_action_labels_are_at_most_20_characters() -> None:
    template = {"type": "template", "altText": "choose", "template": {
        "type": "buttons", "text": "Pick one", "actions": [postback("a", "y" * 21)]}}
    assert errors(reply(template)) == [
        "messages[0].template.actions[0].label: length must be at most 20 characters (got 21)"]


def test_loading_seconds_must_be_a_multiple_of_5_between_5_and_60() -> None:
    assert errors({"chatId": "U1", "loadingSeconds": 20}, "ShowLoadingAnimationRequest") == []
    assert errors({"chatId": "U1", "loadingSeconds": 7}, "ShowLoadingAnimationRequest") == [
        "loadingSeconds: must be a multiple of 5"]
    assert errors({"chatId": "U1", "loadingSeconds": 65}, "ShowLoadingAnimationRequest") == [
        "loadingSeconds: must be at most 60 (got 65)"]


def test_rich_menu_limits() -> None:
    area = {"bounds": {"x": 0, "y": 0, "width": 1250, "height": 843}, "action": postback()}
    menu = {"size": {"width": 2500, "height": 843}, "selected": True, "name": "main",
            "chatBarText": "Menu", "areas": [area]}
    assert errors(menu, "RichMenuRequest") == []
    too_many = {**menu, "areas": [area] * 21}
    assert errors(too_many, "RichMenuRequest") == ["areas: size must be between 0 and 20 (got 21)"]
    assert errors({**menu, "chatBarText": "x" * 15}, "RichMenuRequest") == [
        "chatBarText: length must be at most 14 (got 15)"]


def test_line_limits_errors_checks_only_the_extra_limits() -> None:
    assert line_limits_errors(reply(*[text()] * 6)) == []  # the spec's maxItems is not repeated here
    assert line_limits_errors(reply(text("a" * 5001))) == [
        "messages[0].text: length must be at most 5000 UTF-16 code units (got 5001)"]


def test_character_counting_follows_line() -> None:
    assert utf16_len("a\U0001f34e") == 3
    assert grapheme_len("\U0001f44b\U0001f3fb") == 1  # waving hand + skin tone
    assert grapheme_len("\U0001f468\u200d\U0001f469\u200d\U0001f467") == 1  # family (ZWJ sequence)
    assert grapheme_len("\U0001f1ef\U0001f1f5\U0001f1fa\U0001f1f8") == 2  # two flags
    assert grapheme_len("e\u0301") == 1


# --- the conversion itself -----------------------------------------------------------------------
def test_every_discriminator_value_dispatches_to_its_concrete_schema() -> None:
    schemas = load_spec()["components"]["schemas"]
    for base, disc in discriminated_bases(schemas).items():
        for value, concrete in disc.mapping.items():
            assert concrete in schemas
            issues = schema_issues(base, {disc.property_name: value})
            assert not any("unknown" in issue.message for issue in issues), (base, value)
        assert any("unknown" in i.message for i in schema_issues(base, {disc.property_name: "nope"}))


def test_openapi_nullable_becomes_a_null_type() -> None:
    converted = _convert({"type": "integer", "nullable": True, "example": 3}, {})
    assert converted == {"type": ["integer", "null"]}


def test_inheritance_does_not_dispatch_but_references_do() -> None:
    defs = json_schema_defs()
    assert {"$ref": "#/$defs/FlexComponent"} in defs["FlexBox"]["allOf"]
    assert defs["FlexBubble"]["allOf"][1]["properties"]["hero"] == {"$ref": "#/$defs/FlexComponent__dispatch"}


def _jsonschema_dispatch(validator: Any, spec: Json, instance: Any, schema: Json) -> Any:
    value = instance.get(spec["propertyName"]) if isinstance(instance, dict) else None
    target = spec["mapping"].get(value) if isinstance(value, str) else None
    if target is None:
        yield ValidationError(f"unknown {spec['base']}")
    else:
        yield from validator.descend(instance, target)


OracleValidator = validators.extend(Draft202012Validator, {DISCRIMINATOR_KEYWORD: _jsonschema_dispatch})


def _corpus() -> list[Json]:
    valid = [reply(text(quickReply=quick_reply(3))), reply(flex({"type": "carousel", "contents": [bubble()]})),
             reply(flex(bubble()), text("two"))]
    broken = [copy.deepcopy(body) for body in valid]
    broken[0]["messages"][0]["quickReply"]["items"][0]["action"]["type"] = "teleport"
    broken[1]["messages"][0]["contents"]["contents"][0]["footer"]["contents"][0]["action"]["data"] = "x" * 301
    broken[2]["messages"][0]["contents"]["body"]["layout"] = "diagonal"
    return valid + broken + [reply(*[text()] * 6), reply({"type": "sticker", "packageId": "1"}), {"messages": []}]


@pytest.mark.parametrize("body", _corpus())
def test_the_fast_checker_agrees_with_jsonschema(body: Json) -> None:
    oracle = OracleValidator(root_schema("ReplyMessageRequest"))
    assert bool(schema_issues("ReplyMessageRequest", body)) == (not oracle.is_valid(body))


def test_validating_a_typical_reply_takes_under_2_ms() -> None:
    bodies = [reply(text(quickReply=quick_reply(4))), reply(text(), flex(bubble()))]
    validate_body("ReplyMessageRequest", bodies[0])  # load and convert the spec once
    rounds = 200
    started = time.perf_counter()
    for _ in range(rounds):
        for body in bodies:
            validate_body("ReplyMessageRequest", body)
    per_body_ms = (time.perf_counter() - started) / (rounds * len(bodies)) * 1000
    assert per_body_ms < 2.0, f"{per_body_ms:.3f} ms per body"


def test_an_unknown_schema_name_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        validate_body("NoSuchRequest", {})
