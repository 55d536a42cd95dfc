"""Turning a flow's message specs into LINE message objects (plain dicts, as the API takes them).

Every tap is a postback whose data names what it means, kept well under LINE's 300 characters:
``f=<flow>&s=<step>&v=<value>&t=<turn>`` answers a question; ``f=<flow>&g=<step>`` goes to a step;
``a=<action>`` runs an action. ``displayText`` echoes the label, so the chat reads like a conversation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from flows.schema import (
    ButtonsMessage,
    Choice,
    Condition,
    Flow,
    MessageSpec,
    TextMessage,
    VariantsMessage,
    Video,
    VideoCardMessage,
    VideoMessage,
)
from flows.state import ConversationState

Message = dict[str, Any]
LinkFor = Callable[[str, Video], str]

#: A darker green than LINE's #06C755: white button text on it reads at 5.5:1 (WCAG AA needs 4.5:1).
BRAND_GREEN = "#047A34"


class _Blank(dict[str, str]):
    """Leaves unknown ``{placeholders}`` as they are instead of failing in front of a runner."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(text: str, variables: Mapping[str, str]) -> str:
    return text.format_map(_Blank(variables))


def matches(condition: Condition, state: ConversationState) -> bool:
    """``{key: value}``, ``{key: [values]}``, ``{key: true}`` (answered), ``{tags: [...]}`` (all present)."""
    for key, expected in condition.items():
        if key == "tags":
            wanted = expected if isinstance(expected, list) else [str(expected)]
            if not all(tag in state.tags for tag in wanted):
                return False
            continue
        actual = state.answers.get(key)
        if isinstance(expected, bool):
            if (actual is not None) != expected:
                return False
        elif isinstance(expected, list):
            if actual not in expected:
                return False
        elif actual != expected:
            return False
    return True


def answer_data(flow: str, step: str, value: str, turn: int) -> str:
    return urlencode({"f": flow, "s": step, "v": value, "t": turn})


def choice_action(flow: str, step: str, choice: Choice, turn: int | None) -> dict[str, Any]:
    """The LINE action behind one tap."""
    if choice.uri is not None:
        return {"type": "uri", "label": choice.label, "uri": str(choice.uri)}
    if choice.action is not None:
        data = urlencode({"a": choice.action})
    elif turn is not None and choice.value is not None:
        data = answer_data(flow, step, choice.value, turn)
    else:
        data = urlencode({"f": flow, "g": choice.goto or ""})
    return {"type": "postback", "label": choice.label, "data": data, "displayText": choice.label}


def quick_reply(flow: str, step: str, choices: list[Choice], turn: int) -> dict[str, Any]:
    return {
        "items": [
            {"type": "action", "action": choice_action(flow, step, c, turn)} for c in choices
        ]
    }


class Renderer:
    """Renders one flow's specs for one runner."""

    def __init__(self, flow: Flow, variables: Mapping[str, str], link_for: LinkFor | None = None, *,
                 offers: Callable[[Choice], bool] | None = None) -> None:
        self.flow = flow
        self.variables = variables
        self.link_for: LinkFor = link_for or (lambda _name, video: str(video.url))
        #: Which buttons to show (the engine leaves out those of a switched-off feature).
        self.offers: Callable[[Choice], bool] = offers or (lambda _choice: True)

    def render(self, spec: MessageSpec, step: str, state: ConversationState) -> Message | None:
        if not matches(spec.when, state):
            return None
        if isinstance(spec, VariantsMessage):
            chosen = next((v for v in spec.variants if matches(v.when, state)), None)
            return self.render(chosen, step, state) if chosen else None
        return self.single(spec, step)

    def single(self, spec: TextMessage | ButtonsMessage | VideoCardMessage | VideoMessage, step: str) -> Message:
        """One message as sent, whoever gets it (``render`` first checks its ``when`` against the answers)."""
        if isinstance(spec, TextMessage):
            return {"type": "text", "text": fill(spec.text, self.variables)}
        if isinstance(spec, ButtonsMessage):
            return self.buttons(spec, step)
        if isinstance(spec, VideoCardMessage):
            return self.video_cards(spec.videos)
        return self.video_message(spec)

    def buttons(self, spec: ButtonsMessage, step: str) -> Message:
        body: list[dict[str, Any]] = []
        if spec.buttons.title:
            body.append({"type": "text", "text": fill(spec.buttons.title, self.variables),
                         "weight": "bold", "size": "lg", "wrap": True})
        body.append({"type": "text", "text": fill(spec.buttons.text, self.variables), "wrap": True,
                     "size": "md", "margin": "md" if spec.buttons.title else "none"})
        buttons = [
            {"type": "button", "style": c.style, "height": "sm",
             **({"color": BRAND_GREEN} if c.style == "primary" else {}),
             "action": choice_action(self.flow.flow, step, c, None)}
            for c in spec.buttons.choices if self.offers(c)
        ]
        alt = fill(spec.buttons.title or spec.buttons.text, self.variables)[:400]
        bubble: dict[str, Any] = {"type": "bubble", "body": {"type": "box", "layout": "vertical", "contents": body}}
        if buttons:
            bubble["footer"] = {"type": "box", "layout": "vertical", "spacing": "sm", "contents": buttons}
        return {"type": "flex", "altText": alt, "contents": bubble}

    def video_cards(self, names: list[str]) -> Message:
        bubbles = [self._video_bubble(name, self.flow.videos[name]) for name in names]
        contents: dict[str, Any] = bubbles[0] if len(bubbles) == 1 else {"type": "carousel", "contents": bubbles}
        alt = "セルフケア動画:" + "/".join(self.flow.videos[n].title for n in names)
        return {"type": "flex", "altText": alt[:400], "contents": contents}

    def _video_bubble(self, name: str, video: Video) -> dict[str, Any]:
        link = self.link_for(name, video)
        body: list[dict[str, Any]] = [
            {"type": "text", "text": video.title, "weight": "bold", "size": "md", "wrap": True},
        ]
        if video.description:
            body.append({"type": "text", "text": fill(video.description, self.variables),
                         "size": "sm", "wrap": True, "margin": "md", "color": "#555555"})
        if video.duration:
            body.append({"type": "text", "text": video.duration, "size": "xs", "color": "#666666",
                         "margin": "md"})
        return {
            "type": "bubble",
            "hero": {"type": "image", "url": str(video.thumbnail), "size": "full", "aspectRatio": "16:9",
                     "aspectMode": "cover", "animated": False,  # what line-bot-sdk's model always added
                     "action": {"type": "uri", "label": video.button_label, "uri": link}},
            "body": {"type": "box", "layout": "vertical", "contents": body},
            "footer": {"type": "box", "layout": "vertical", "contents": [
                {"type": "button", "style": "primary", "color": BRAND_GREEN, "height": "sm",
                 "action": {"type": "uri", "label": video.button_label, "uri": link}},
            ]},
        }

    def video_message(self, spec: VideoMessage) -> Message:
        video = self.flow.videos[spec.video]
        return {"type": "video", "originalContentUrl": str(video.mp4_url),
                "previewImageUrl": str(video.thumbnail), "trackingId": f"{self.flow.flow}.{spec.video}"}
