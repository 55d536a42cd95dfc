"""The one safety rule every entry point goes through: the check's result, 動画 (typed or from the rich menu),
buttons, check-ins, booking.

Policy (declared in the flow's ``safety:`` block): a warning sign sets a flag that **sticks until the runner
says a doctor cleared them** (「受診しました」 enters a step that ``clears_tags`` the flag). While it stands,
any self-care step (``care: true`` or one that sends a video) is replaced by the doctor step, no sale is
started (``sales`` actions) and no sales button is shown. Separately, a video needs the current check's
screening answer: a restart of the check clears its answers, so 「最初から」 then 「動画」 asks the safety
question again before any video.

Why sticky rather than "the latest check stands": a runner told to see a doctor who simply taps through the
check again must not talk themselves into a massage video; a doctor's word, not a different tap, lifts it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from flows.schema import Choice, Flow, Safety, Step, VariantsMessage, VideoCardMessage, VideoMessage
from flows.state import ConversationState


def sends_video(step: Step) -> bool:
    for spec in step.messages:
        inner = spec.variants if isinstance(spec, VariantsMessage) else [spec]
        if any(isinstance(m, VideoCardMessage | VideoMessage) for m in inner):
            return True
    return False


@dataclass(frozen=True, slots=True)
class SafetyPolicy:
    rules: Safety | None
    video_steps: frozenset[str]
    care_steps: frozenset[str]

    @classmethod
    def of(cls, flow: Flow) -> SafetyPolicy:
        videos = frozenset(name for name, step in flow.steps.items() if sends_video(step))
        care = frozenset(name for name, step in flow.steps.items() if step.care) | videos
        return cls(rules=flow.safety, video_steps=videos, care_steps=care)

    def flagged(self, state: ConversationState) -> bool:
        return self.rules is not None and self.rules.flag in state.tags

    def screened(self, state: ConversationState) -> bool:
        """The current check's screening question is answered (a restart clears it)."""
        return self.rules is None or self.rules.screen in state.answers

    def instead_of_step(self, step: str, state: ConversationState) -> str | None:
        """Where a runner goes instead of ``step``, or None when ``step`` is fine for them."""
        if self.rules is None:
            return None
        if step in self.care_steps and self.flagged(state):
            return self.rules.see_doctor
        if step in self.video_steps and not self.screened(state):
            return self.rules.screen_first
        return None

    def instead_of_action(self, action: str, params: Mapping[str, str], state: ConversationState) -> str | None:
        """A sale started afresh (no parameters: a button or a word, not a booking under way) while flagged."""
        if self.rules is None or action not in self.rules.sales or params or not self.flagged(state):
            return None
        return self.rules.see_doctor

    def offers(self, choice: Choice, state: ConversationState) -> bool:
        """No sales button for a flagged runner."""
        return not (self.rules is not None and choice.action in self.rules.sales and self.flagged(state))

    def strip_sales(self, messages: list[dict[str, Any]], state: ConversationState) -> None:
        """Take fresh-sale buttons out of what an action said (booking's 「予約する」 under an empty list) for a
        flagged runner: the flow's own buttons are filtered by :meth:`offers`, an action's are filtered here."""
        if self.rules is None or not self.flagged(state):
            return
        for message in messages:
            quick = message.get("quickReply")
            if isinstance(quick, dict):
                quick["items"] = [i for i in quick.get("items", []) if not self._sale(i.get("action"))]
                if not quick["items"]:
                    del message["quickReply"]
            bubble = message.get("contents") if message.get("type") == "flex" else None
            footer = bubble.get("footer") if isinstance(bubble, dict) else None
            if isinstance(bubble, dict) and isinstance(footer, dict):
                footer["contents"] = [b for b in footer.get("contents", []) if not self._sale(b.get("action"))]
                if not footer["contents"]:
                    del bubble["footer"]

    def _sale(self, action: object) -> bool:
        if not isinstance(action, dict) or action.get("type") != "postback" or self.rules is None:
            return False
        fields = parse_qs(str(action.get("data", "")))
        return set(fields) == {"a"} and fields["a"][0] in self.rules.sales

    def problems(self, flow: Flow, actions: set[str]) -> list[str]:
        """What the loader refuses: a flow with videos and no rule, or a rule pointing nowhere safe."""
        if self.rules is None:
            return ["sends videos but declares no safety: block"] if self.video_steps else []
        rules, found = self.rules, []
        for name in (rules.see_doctor, rules.screen_first):
            if name not in flow.steps:
                found.append(f"safety: unknown step {name!r}")
            elif name in self.care_steps:
                found.append(f"safety: {name!r} must not be a self-care step (it is where self-care is refused)")
        if not any(step.ask and step.ask.key == rules.screen for step in flow.steps.values()):
            found.append(f"safety: no question asks {rules.screen!r}")
        found += [f"safety: unknown sales action {a!r}" for a in rules.sales if a not in actions]
        return found
