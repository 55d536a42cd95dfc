"""Contract validator for outgoing LINE Messaging API request bodies.

Why this exists: LINE rejects malformed bodies with 400 at runtime, long after review. We
validate every body the bot would send against LINE's own OpenAPI spec, in tests and in the
local stand-in, so a contract break fails a test instead of a user's chat.

How: bot.local.contract converts the spec into JSON Schema in which OpenAPI discriminators
(Message, Action, FlexComponent, Template, ...) dispatch on ``type`` to the concrete schema,
and walks a body against it (see there for why not the ``jsonschema`` package). Limits that
LINE documents but the spec omits (text 5000, labels 20, ...) are checked by
``line_limits_errors`` and included in ``validate_body``.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from typing import Any

from bot.local.contract import SchemaIssue, schema_issues, schema_names

__all__ = [
    "SchemaIssue", "grapheme_len", "line_limits_errors", "schema_issues", "schema_names",
    "utf16_len", "validate_body", "validate_body_issues",
]


def validate_body_issues(schema_name: str, body: Any) -> list[SchemaIssue]:
    """Spec violations plus documented LINE limits, as structured issues (for 400 details)."""
    issues = schema_issues(schema_name, body)
    flagged = {issue.property for issue in issues}
    # Where the spec already flags a property (e.g. quick reply items > 13), its message wins.
    issues += [issue for issue in limit_issues(body, schema_name) if issue.property not in flagged]
    return list(dict.fromkeys(issues))


def validate_body(schema_name: str, body: Any) -> list[str]:
    """Validate ``body`` against component ``schema_name``; readable errors, [] if valid.

    e.g. ``validate_body("ReplyMessageRequest", {"replyToken": "t", "messages": [...]})``.
    Raises KeyError for a name that is not a component schema of the spec.
    """
    return [str(issue) for issue in validate_body_issues(schema_name, body)]


# --- LINE limits that the spec does not declare -------------------------------------------
# Sources: developers.line.biz Messaging API reference (message, action, template, flex,
# quick reply and rich menu objects) and "Counting characters in a text" (text is counted
# in UTF-16 code units; action labels/texts and template texts in grapheme clusters).

TEXT_MAX = 5000
ALT_TEXT_MAX = 1500
QUICK_REPLY_ITEMS = (1, 13)
ACTION_LABEL_MAX = 20  # quick reply, buttons/confirm/carousel templates, rich menu areas
IMAGE_CAROUSEL_LABEL_MAX = 12
FLEX_LABEL_MAX = 40
ACTION_TEXT_MAX = 300  # postback displayText/fillInText, message action text
URI_MAX = 1000
FLEX_CAROUSEL_BUBBLES = (1, 12)
FLEX_BUBBLE_BYTES = 30_000
FLEX_CAROUSEL_BYTES = 50_000
RICH_MENU_AREAS_MAX = 20
RICH_MENU_WIDTH = (800, 2500)
RICH_MENU_MIN_HEIGHT = 250
RICH_MENU_MIN_RATIO = 1.45
LOADING_SECONDS_STEP = 5


def utf16_len(text: str) -> int:
    """Length as LINE counts message text: UTF-16 code units (an emoji counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def grapheme_len(text: str) -> int:
    """Approximate count of grapheme clusters (LINE's unit for labels), stdlib only.

    Joins combining marks, variation selectors, emoji modifiers/tags, ZWJ sequences and
    regional-indicator pairs onto the preceding character; enough for labels in practice.
    """
    count, join_next, regional_open = 0, False, False
    for char in text:
        code = ord(char)
        regional = 0x1F1E6 <= code <= 0x1F1FF
        extends = (unicodedata.category(char) in ("Mn", "Me", "Mc") or 0xFE00 <= code <= 0xFE0F
                   or 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F)
        if code == 0x200D:
            join_next = True
            continue
        if not (extends or join_next or (regional and regional_open)):
            count += 1
            regional_open = regional
        else:
            regional_open = False
        join_next = False
    return count


def _size_of(obj: Any) -> int:
    """Bytes of compact UTF-8 JSON, how LINE sizes a flex container."""
    return len(json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode())

class _Limits:
    """Collects LINE-documented limit violations; tolerant of shapes the spec already flags."""

    def __init__(self) -> None:
        """Start with no issues."""
        self.issues: list[SchemaIssue] = []

    def add(self, path: str, message: str) -> None:
        """Record one issue at a LINE-style property path."""
        self.issues.append(SchemaIssue(path, message))

    def text(self, obj: Mapping[str, Any], key: str, path: str, limit: int, *,
             graphemes: bool = False, required: bool = False) -> None:
        """Check a string's length in LINE's unit (UTF-16 code units or graphemes)."""
        value = obj.get(key)
        if value is None:
            if required:
                self.add(_join(path, key), "must be specified")
            return
        if isinstance(value, str):
            size = grapheme_len(value) if graphemes else utf16_len(value)
            if size > limit:
                unit = "characters" if graphemes else "UTF-16 code units"
                self.add(_join(path, key), f"length must be at most {limit} {unit} (got {size})")

    def count(self, obj: Mapping[str, Any], key: str, path: str, bounds: tuple[int, int]) -> list[Any]:
        """Check an array's size; return its dict items (empty when absent or malformed)."""
        value = obj.get(key)
        if not isinstance(value, list):
            return []
        low, high = bounds
        if not low <= len(value) <= high:
            self.add(_join(path, key), f"size must be between {low} and {high} (got {len(value)})")
        return value

    def action(self, action: Any, path: str, label_max: int, *, label_required: bool) -> None:
        """Label limit for the action's context, plus per-type texts the spec leaves open."""
        if not isinstance(action, dict):
            return
        self.text(action, "label", path, label_max, graphemes=True, required=label_required)
        kind = action.get("type")
        if kind == "postback":
            self.text(action, "data", path, 300, required=True)
            self.text(action, "displayText", path, ACTION_TEXT_MAX, graphemes=True)
            self.text(action, "fillInText", path, ACTION_TEXT_MAX, graphemes=True)
            if "displayText" in action and "text" in action:
                self.add(f"{path}.text", "cannot be used together with displayText")
        elif kind == "message":
            self.text(action, "text", path, ACTION_TEXT_MAX, graphemes=True, required=True)
        elif kind == "uri":
            self.text(action, "uri", path, URI_MAX, required=True)
        elif kind == "datetimepicker":
            self.text(action, "data", path, 300, required=True)
            if "mode" not in action:
                self.add(f"{path}.mode", "must be specified")

    def message(self, message: Any, path: str) -> None:
        """Limits of one message object, including its quick reply."""
        if not isinstance(message, dict):
            return
        kind = message.get("type")
        if kind in ("text", "textV2"):
            self.text(message, "text", path, TEXT_MAX)
        if kind in ("template", "flex", "imagemap"):
            self.text(message, "altText", path, ALT_TEXT_MAX)
        if kind == "template" and isinstance(message.get("template"), dict):
            self.template(message["template"], f"{path}.template")
        if kind == "flex" and isinstance(message.get("contents"), dict):
            self.flex_container(message["contents"], f"{path}.contents")
        if isinstance(message.get("quickReply"), dict):
            self.quick_reply(message["quickReply"], f"{path}.quickReply")

    def quick_reply(self, quick_reply: Mapping[str, Any], path: str) -> None:
        """Up to 13 buttons, each ``type: action`` with a labelled action (no rich menu switch)."""
        items = quick_reply.get("items")
        if not isinstance(items, list):
            self.add(f"{path}.items", "must be specified")
            return
        for index, item in enumerate(self.count(quick_reply, "items", path, QUICK_REPLY_ITEMS)):
            where = f"{path}.items[{index}]"
            if not isinstance(item, dict):
                continue
            if item.get("type") != "action":
                self.add(f"{where}.type", "must be 'action'")
            action = item.get("action")
            if not isinstance(action, dict):
                self.add(f"{where}.action", "must be specified")
                continue
            if action.get("type") == "richmenuswitch":
                self.add(f"{where}.action.type", "richmenuswitch is not allowed in quick reply")
            self.action(action, f"{where}.action", ACTION_LABEL_MAX, label_required=True)

    def template(self, template: Mapping[str, Any], path: str) -> None:
        """Buttons/confirm/carousel/image_carousel sizes and their texts."""
        kind = template.get("type")
        if kind == "buttons":
            self.template_card(template, path, text_max=160, actions=(1, 4))
        elif kind == "confirm":
            self.text(template, "text", path, 240, graphemes=True)
            for i, action in enumerate(self.count(template, "actions", path, (2, 2))):
                self.action(action, f"{path}.actions[{i}]", ACTION_LABEL_MAX, label_required=True)
        elif kind == "carousel":
            columns = self.count(template, "columns", path, (1, 10))
            for i, column in enumerate(c for c in columns if isinstance(c, dict)):
                self.template_card(column, f"{path}.columns[{i}]", text_max=120, actions=(1, 3))
            sizes = {len(c.get("actions") or []) for c in columns if isinstance(c, dict)}
            if len(sizes) > 1:
                self.add(f"{path}.columns", "all columns must have the same number of actions")
        elif kind == "image_carousel":
            for i, column in enumerate(self.count(template, "columns", path, (1, 10))):
                if isinstance(column, dict):
                    where = f"{path}.columns[{i}].action"
                    self.action(column.get("action"), where, IMAGE_CAROUSEL_LABEL_MAX, label_required=False)

    def template_card(self, card: Mapping[str, Any], path: str, *, text_max: int,
                      actions: tuple[int, int]) -> None:
        """A buttons template or carousel column: title 40, text shorter with image/title."""
        self.text(card, "title", path, 40, graphemes=True)
        short = "thumbnailImageUrl" in card or "title" in card
        self.text(card, "text", path, 60 if short else text_max, graphemes=True)
        for i, action in enumerate(self.count(card, "actions", path, actions)):
            self.action(action, f"{path}.actions[{i}]", ACTION_LABEL_MAX, label_required=True)
        default = card.get("defaultAction")
        self.action(default, f"{path}.defaultAction", ACTION_LABEL_MAX, label_required=False)

    def flex_container(self, container: Mapping[str, Any], path: str) -> None:
        """Bubble (<= 30 KB) or carousel (1..12 bubbles, <= 50 KB) and every nested action."""
        if container.get("type") == "carousel":
            if _size_of(container) > FLEX_CAROUSEL_BYTES:
                self.add(path, f"flex carousel JSON must be at most {FLEX_CAROUSEL_BYTES} bytes")
            for i, bubble in enumerate(self.count(container, "contents", path, FLEX_CAROUSEL_BUBBLES)):
                if isinstance(bubble, dict):
                    self.flex_container(bubble, f"{path}.contents[{i}]")
            return
        if _size_of(container) > FLEX_BUBBLE_BYTES:
            self.add(path, f"flex bubble JSON must be at most {FLEX_BUBBLE_BYTES} bytes")
        self.action(container.get("action"), f"{path}.action", FLEX_LABEL_MAX, label_required=False)
        for block in ("header", "hero", "body", "footer"):
            self.flex_component(container.get(block), f"{path}.{block}")

    def flex_component(self, component: Any, path: str) -> None:
        """Recurse through boxes; a button's action needs a label (max 40)."""
        if not isinstance(component, dict):
            return
        is_button = component.get("type") == "button"
        self.action(component.get("action"), f"{path}.action", FLEX_LABEL_MAX, label_required=is_button)
        contents = component.get("contents") if component.get("type") == "box" else None
        for i, child in enumerate(contents if isinstance(contents, list) else []):
            self.flex_component(child, f"{path}.contents[{i}]")

    def rich_menu(self, menu: Mapping[str, Any]) -> None:
        """Rich menu object: all fields required, size 800-2500 x >=250 (ratio >= 1.45), <= 20 areas."""
        for key in ("size", "selected", "name", "chatBarText", "areas"):
            if key not in menu:
                self.add(key, "must be specified")
        size = menu.get("size")
        width, height = (size.get("width"), size.get("height")) if isinstance(size, dict) else (0, 0)
        if isinstance(width, int) and isinstance(height, int) and height > 0:
            if not RICH_MENU_WIDTH[0] <= width <= RICH_MENU_WIDTH[1]:
                self.add("size.width", f"must be between {RICH_MENU_WIDTH[0]} and {RICH_MENU_WIDTH[1]}")
            if height < RICH_MENU_MIN_HEIGHT:
                self.add("size.height", f"must be at least {RICH_MENU_MIN_HEIGHT}")
            if width / height < RICH_MENU_MIN_RATIO:
                self.add("size", f"width/height must be at least {RICH_MENU_MIN_RATIO}")
        for i, area in enumerate(self.count(menu, "areas", "", (0, RICH_MENU_AREAS_MAX))):
            if isinstance(area, dict):
                self.rich_menu_area(area, f"areas[{i}]", width, height)

    def rich_menu_area(self, area: Mapping[str, Any], path: str, width: Any, height: Any) -> None:
        """An area must lie inside the menu and carry an action (label max 20)."""
        if "action" not in area or "bounds" not in area:
            self.add(path, "bounds and action must be specified")
        self.action(area.get("action"), f"{path}.action", ACTION_LABEL_MAX, label_required=False)
        bounds = area.get("bounds")
        if isinstance(bounds, dict) and isinstance(width, int) and isinstance(height, int):
            right = _int(bounds.get("x")) + _int(bounds.get("width"))
            bottom = _int(bounds.get("y")) + _int(bounds.get("height"))
            if right > width or bottom > height:
                self.add(f"{path}.bounds", "area must lie within the rich menu size")


def _join(path: str, key: str) -> str:
    """``messages[0]`` + ``text`` -> ``messages[0].text``; top-level keys stay bare."""
    return f"{path}.{key}" if path else key


def _int(value: Any) -> int:
    """An int field, or 0 when absent/malformed (the spec check reports those)."""
    return value if isinstance(value, int) else 0


def limit_issues(body: Any, schema_name: str | None = None) -> list[SchemaIssue]:
    """Structured form of ``line_limits_errors``.

    Which checks run follows ``schema_name`` when given, else the body's shape: a
    ``messages`` array, a ``loadingSeconds`` field, or a rich menu (``areas``/``chatBarText``).
    """
    limits = _Limits()
    if not isinstance(body, dict):
        return limits.issues
    for index, message in enumerate(body.get("messages") or []):
        limits.message(message, f"messages[{index}]")
    seconds = body.get("loadingSeconds")
    if isinstance(seconds, int) and seconds % LOADING_SECONDS_STEP:
        limits.add("loadingSeconds", f"must be a multiple of {LOADING_SECONDS_STEP}")
    rich_menu = schema_name in ("RichMenuRequest", "RichMenuResponse") or (
        schema_name is None and ("areas" in body or "chatBarText" in body)
    )
    if rich_menu:
        limits.rich_menu(body)
    return limits.issues


def line_limits_errors(body: Any, schema_name: str | None = None) -> list[str]:
    """LINE-documented limits that messaging-api.yml does not declare, as readable errors.

    Text 5000 UTF-16 units, altText 1500, quick reply 1..13 items with labelled actions
    (label <= 20), template sizes/labels, flex carousel <= 12 bubbles and sizes, action
    texts <= 300, uri <= 1000, loadingSeconds multiple of 5, rich menu size/areas.
    """
    return [str(issue) for issue in limit_issues(body, schema_name)]
