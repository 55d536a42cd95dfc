"""Content preview: every flow as a readable tree of steps, each message drawn the way LINE would show it.

Messages go through the same :class:`~flows.render.Renderer` the bot uses, so the preview is the real LINE
JSON, then turned into HTML bubbles here. A message with variants shows every variant with the answers that
pick it. Pictures (video thumbnails) are not fetched: the page requests nothing outside the app, so a
thumbnail is drawn as a framed placeholder naming its URL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from flows.loader import LoadedFlow
from flows.render import Renderer, quick_reply
from flows.schema import Condition, MessageSpec, VariantsMessage
from flows.state import ConversationState


@dataclass(slots=True)
class MessageView:
    condition: str
    html: Markup


@dataclass(slots=True)
class StepView:
    name: str
    title: str
    entry: list[str]
    tags: list[str]
    action: str | None
    messages: list[MessageView] = field(default_factory=list)
    ask_key: str | None = None
    choices: list[tuple[str, str, str | None]] = field(default_factory=list)  # (label, where it leads, step)
    routes: list[tuple[str, str]] = field(default_factory=list)  # (condition, step)
    next: str | None = None
    ask_title: str | None = None


@dataclass(slots=True)
class FlowView:
    name: str
    title: str
    path: str
    version: str
    warnings: list[str]
    keywords: list[tuple[str, str, str | None]]  # (words, what they do, the step they lead to)
    steps: list[StepView]

    def title_of(self, step: str) -> str:
        """A step's Japanese title (its name when it has none)."""
        return next((s.title for s in self.steps if s.name == step), step)


TagName = Callable[[str], str]

#: What the bot does for an action a flow names, as staff read it (an unknown action shows its name).
ACTION_NAMES = {
    "booking.start": "予約の受付を始める", "booking.list": "予約の確認", "booking.cancel": "予約のキャンセル",
    "booking.move": "予約の日時変更", "clinic.info": "料金・受付時間・場所を送る",
    "staff.request": "スタッフに取り次ぐ", "data.delete": "データを削除する",
    "followups.stop": "配信を停止する", "followups.resume": "配信を再開する",
}


def action_name(action: str) -> str:
    return ACTION_NAMES.get(action, action)


class Words:
    """A flow's codes in the flow's own Japanese: questions by title, answers by the label tapped, tags."""

    def __init__(self, loaded: LoadedFlow, tag_name: TagName) -> None:
        self.tag_name = tag_name
        self.questions: dict[str, str] = {}
        self.answers: dict[tuple[str, str], str] = {}
        for step in loaded.flow.steps.values():
            if step.ask is None:
                continue
            self.questions.setdefault(step.ask.key, step.ask.title or step.ask.key)
            for choice in step.ask.choices:
                if choice.value is not None:
                    self.answers.setdefault((step.ask.key, choice.value), choice.label)

    def answer(self, key: str, value: str) -> str:
        return self.answers.get((key, value), value)

    def describe(self, condition: Condition) -> str:
        """``{side: outer, tags: [red_flag]}`` as staff read it: 「痛む場所 = 膝裏の外側、タグ 受診をおすすめした」."""
        parts = []
        for key, value in condition.items():
            if key == "tags":
                parts.append("タグ " + "・".join(self.tag_name(t) for t in
                                                 (value if isinstance(value, list) else [str(value)])))
                continue
            question = self.questions.get(key, key)
            if isinstance(value, bool):
                parts.append(f"{question} {'回答あり' if value else '未回答'}")
            elif isinstance(value, list):
                parts.append(f"{question} = {' / '.join(self.answer(key, str(v)) for v in value)}")
            else:
                parts.append(f"{question} = {self.answer(key, str(value))}")
        return "、".join(parts)


def state_for(condition: Condition) -> ConversationState:
    """A runner state that satisfies ``condition``, so the renderer picks the variant we want to show."""
    state = ConversationState()
    for key, value in condition.items():
        if key == "tags":
            state.tags = list(value) if isinstance(value, list) else [str(value)]
        elif isinstance(value, bool):
            if value:
                state.answers[key] = "(回答あり)"
        elif isinstance(value, list):
            state.answers[key] = value[0] if value else ""
        else:
            state.answers[key] = str(value)
    return state


def build(loaded: LoadedFlow, variables: Mapping[str, str], tag_name: TagName = str) -> FlowView:
    flow = loaded.flow
    words = Words(loaded, tag_name)
    renderer = Renderer(flow, variables)
    entries: dict[str, list[str]] = {}
    starts = [("友だち追加", flow.on_follow), ("ブロック解除", flow.on_unblock), ("チェック開始", flow.start),
              ("ヘルプ", flow.help), ("回答済みの質問", flow.stale)]
    for label, target in starts:
        if target:
            entries.setdefault(target, []).append(label)
    steps = []
    for name in _ordered(loaded, list(entries)):
        step = flow.steps[name]
        view = StepView(name=name, title=step.title or name, entry=entries.get(name, []),
                        tags=[tag_name(t) for t in step.tags],
                        action=action_name(step.action) if step.action else None, next=step.next,
                        routes=[(words.describe(r.when) or "それ以外", r.goto) for r in step.route])
        for spec in step.messages:
            view.messages += _render_spec(renderer, spec, name, words)
        if step.ask:
            view.ask_key = step.ask.key
            view.ask_title = step.ask.title or step.ask.key
            view.choices = [(c.label, _lead(c.goto, c.action, c.uri), c.goto) for c in step.ask.choices]
            if view.messages:  # the quick replies hang under the question's last message, as in LINE
                qr = quick_reply(flow.flow, name, step.ask.choices, 1)
                view.messages[-1].html = view.messages[-1].html + _quick_replies(qr)
        steps.append(view)
    keywords = [("・".join(k.words or k.phrases), "" if k.goto else action_name(k.action or ""), k.goto)
                for k in flow.keywords]
    return FlowView(name=flow.flow, title=flow.title, path=loaded.path.name, version=loaded.version,
                    warnings=list(loaded.warnings), keywords=keywords, steps=steps)


def _lead(goto: str | None, action: str | None, uri: object) -> str:
    """What a choice does besides going to a step (the step itself is linked by its title)."""
    if goto:
        return ""
    return action_name(action) if action else f"リンク {uri}"


def _ordered(loaded: LoadedFlow, first: list[str]) -> list[str]:
    """Steps in the order a runner meets them (breadth first from the entry points), then the rest."""
    flow = loaded.flow
    seen: list[str] = []
    todo = list(first)
    while todo:
        name = todo.pop(0)
        if name in seen or name not in flow.steps:
            continue
        seen.append(name)
        step = flow.steps[name]
        targets = [c.goto for c in (step.ask.choices if step.ask else []) if c.goto]
        targets += [r.goto for r in step.route] + ([step.next] if step.next else [])
        todo += [t for t in targets if t]
    return seen + [n for n in flow.steps if n not in seen]


def _render_spec(renderer: Renderer, spec: MessageSpec, step: str, words: Words) -> list[MessageView]:
    if isinstance(spec, VariantsMessage):
        views = []
        for variant in spec.variants:
            when = {**spec.when, **variant.when}
            message = renderer.render(variant, step, state_for(when))
            if message is not None:
                views.append(MessageView(words.describe(variant.when) or "それ以外のとき", bubble(message)))
        return views
    message = renderer.render(spec, step, state_for(spec.when))
    return [MessageView(words.describe(spec.when), bubble(message))] if message is not None else []


# --- LINE JSON -> HTML ----------------------------------------------------------------------------------

def bubble(message: dict[str, Any]) -> Markup:
    """One LINE message as the chat shows it."""
    kind = message.get("type")
    if kind == "text":
        return Markup('<div class="msg text">{}</div>').format(message.get("text", ""))
    if kind == "flex":
        contents = message.get("contents", {})
        if contents.get("type") == "carousel":
            inner = Markup("").join(_flex_bubble(b) for b in contents.get("contents", []))
            return Markup('<div class="msg carousel">{}</div>').format(inner)
        return Markup('<div class="msg">{}</div>').format(_flex_bubble(contents))
    if kind == "video":
        return Markup('<div class="msg video">{}<div class="caption">動画メッセージ</div></div>').format(
            _image(str(message.get("previewImageUrl", "")), play=True))
    return Markup('<div class="msg text">[{}]</div>').format(kind)


def _flex_bubble(node: dict[str, Any]) -> Markup:
    parts = [Markup('<div class="flex-{}">{}</div>').format(section, _flex(node[section]))
             for section in ("hero", "body", "footer") if section in node]
    return Markup('<div class="flex-bubble">{}</div>').format(Markup("").join(parts))


def _flex(node: dict[str, Any]) -> Markup:
    kind = node.get("type")
    if kind == "box":
        inner = Markup("").join(_flex(c) for c in node.get("contents", []))
        return Markup('<div class="box box-{}">{}</div>').format(node.get("layout", "vertical"), inner)
    if kind == "text":
        classes = " ".join(c for c in ("bold" if node.get("weight") == "bold" else "",
                                       f"size-{node.get('size', 'md')}") if c)
        style = Markup(' style="color:{}"').format(node["color"]) if "color" in node else Markup("")
        return Markup('<div class="ftext {}"{}>{}</div>').format(classes, style, node.get("text", ""))
    if kind == "button":
        action = node.get("action", {})
        primary = node.get("style") == "primary"
        return Markup('<div class="fbutton {}" title="{}">{}</div>').format(
            "primary" if primary else "secondary", _action_hint(action), action.get("label", ""))
    if kind == "image":
        return _image(str(node.get("url", "")), play=False)
    return Markup("")


def _image(url: str, *, play: bool) -> Markup:
    return Markup('<div class="thumb" title="{}">{}<span class="url">{}</span></div>').format(
        url, Markup('<span class="play">▶</span>') if play else Markup("🖼"), url)


def _quick_replies(items: dict[str, Any]) -> Markup:
    chips = Markup("").join(
        Markup('<span class="chip" title="{}">{}</span>').format(_action_hint(i["action"]), i["action"]["label"])
        for i in items.get("items", []))
    return Markup('<div class="quick-replies">{}</div>').format(chips)


def _action_hint(action: dict[str, Any]) -> str:
    if action.get("type") == "uri":
        return f"リンク: {action.get('uri', '')}"
    return f"postback: {action.get('data', '')}"

