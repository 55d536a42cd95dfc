"""Every message a flow can produce is a body LINE's OpenAPI spec accepts (discriminators resolved)."""

from __future__ import annotations

import itertools

from bot.config.settings import ROOT
from bot.local.line_schema import validate_body
from flows.loader import load_flows
from flows.render import Renderer, quick_reply
from flows.schema import Flow
from flows.state import ConversationState
from tests.harness import ALL_ACTIONS

VARIABLES = {"clinic_name": "テスト整体院", "clinic_phone": "03-0000-0000"}


def answer_combinations(flow: Flow) -> list[ConversationState]:
    """One state per combination of every question's answers (plus no answers at all)."""
    questions = {s.ask.key: [c.value for c in s.ask.choices if c.value] for s in flow.steps.values() if s.ask}
    states = [ConversationState()]
    keys = sorted(questions)
    for values in itertools.product(*(questions[k] for k in keys)):
        states.append(ConversationState(answers=dict(zip(keys, values, strict=True)), tags=["red_flag"]))
        states.append(ConversationState(answers=dict(zip(keys, values, strict=True))))
    return states


def test_every_step_renders_to_bodies_lines_spec_accepts() -> None:
    flows = load_flows(ROOT / "flows", ALL_ACTIONS)
    checked = 0
    for loaded in flows:
        flow = loaded.flow
        renderer = Renderer(flow, VARIABLES)
        for state in answer_combinations(flow)[::7] + answer_combinations(flow)[:3]:
            for name, step in flow.steps.items():
                messages = [m for spec in step.messages if (m := renderer.render(spec, name, state))]
                if not messages:
                    continue
                if step.ask:
                    messages[-1]["quickReply"] = quick_reply(flow.flow, name, step.ask.choices, turn=99)
                errors = validate_body("ReplyMessageRequest", {"replyToken": "t", "messages": messages})
                assert errors == [], f"{loaded.path.name} step {name!r}: {errors}"
                checked += 1
    assert checked > 100


def test_a_broken_message_is_caught_by_the_same_check() -> None:
    flex = {"type": "flex", "altText": "x", "contents": {"type": "bubble", "body": {
        "type": "box", "layout": "vertical", "contents": [{"type": "sparkle", "text": "?"}]}}}
    assert validate_body("ReplyMessageRequest", {"replyToken": "t", "messages": [flex]}) != []
