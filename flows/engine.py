"""The flow engine: what the bot says next, given a runner's state and what they just did.

It is pure conversation logic over a :class:`Conversation`: it reads and changes ``conv.state`` and collects
replies. Storing the state and sending the replies is the queue consumer's job, done together, once.
"""

from __future__ import annotations

import logging
import unicodedata
from urllib.parse import parse_qs

from flows.actions import ActionRegistry
from flows.context import Conversation
from flows.loader import FlowSet, LoadedFlow
from flows.render import Renderer, matches, quick_reply
from flows.schema import Ask, Choice

log = logging.getLogger(__name__)

#: A runner re-entering steps in a loop (a flow mistake the loader missed) is stopped after this many.
MAX_HOPS = 20
#: Two taps on the same button within this many seconds are one tap.
DOUBLE_TAP_SECONDS = 5


def normalize(text: str) -> str:
    """Full-width, case and spacing differences do not change what a runner meant."""
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


class Engine:
    def __init__(self, flows: FlowSet, actions: ActionRegistry, default_flow: str) -> None:
        if flows.get(default_flow) is None:
            raise ValueError(f"default flow {default_flow!r} is not among the flow files")
        self.flows = flows
        self.actions = actions
        self.default_flow = default_flow

    # --- entry points, one per kind of thing a runner does -------------------------------------------

    async def follow(self, conv: Conversation, *, unblocked: bool) -> None:
        loaded = self._current(conv)
        self._begin(conv, loaded)
        flow = loaded.flow
        await self.enter(conv, loaded, flow.on_unblock if unblocked and flow.on_unblock else flow.on_follow)

    async def text(self, conv: Conversation, text: str) -> None:
        loaded = self._current(conv)
        said = normalize(text)
        keyword = self._keyword(loaded, said)
        if keyword is not None:
            target, is_action = keyword
            if is_action:
                await self.run_action(conv, target, {})
            else:
                await self.enter(conv, loaded, target)
            return
        pending = self._pending_ask(conv, loaded)
        if pending is not None:
            choice = next((c for c in pending.choices if said in {normalize(c.label), normalize(c.value or "")}),
                          None)
            if choice is not None:
                await self._answer(conv, loaded, pending, choice)
                return
        conv.unrecognized = text
        await self.help(conv)

    async def postback(self, conv: Conversation, data: str, params: dict[str, str]) -> None:
        fields = {k: v[0] for k, v in parse_qs(data, keep_blank_values=True).items()}
        if "a" in fields:
            if await self._double_tap(conv, data):
                return
            action_params = {k: v for k, v in fields.items() if k != "a"} | params
            await self.run_action(conv, fields["a"], action_params)
        elif "g" in fields:
            if await self._double_tap(conv, data):
                return
            await self._goto(conv, fields.get("f", ""), fields["g"])
        elif {"s", "v", "t"} <= fields.keys():
            await self._tap_answer(conv, fields, data)
        else:
            await self.help(conv)

    async def help(self, conv: Conversation) -> None:
        """Short help with the main choices; the pending question stays open."""
        loaded = self._current(conv)
        await self.enter(conv, loaded, loaded.flow.help, keep_pending=True)
        self._reattach_pending(conv, loaded)

    # --- moving through steps ------------------------------------------------------------------------

    async def enter(self, conv: Conversation, loaded: LoadedFlow, step_name: str, *,
                    keep_pending: bool = False, hops: int = 0) -> None:
        """Send a step's messages and follow it to the next question or the end."""
        if hops > MAX_HOPS:
            log.error("flow loops; stopping", extra={"flow": loaded.flow.flow, "step": step_name})
            return
        flow, state = loaded.flow, conv.state
        step = flow.steps[step_name]
        state.add_tags(step.tags)
        renderer = self._renderer(conv, loaded)
        for spec in step.messages:
            message = renderer.render(spec, step_name, state)
            if message is not None:
                conv.say(message)
        if step.action and step.action in self.actions:  # a switched-off feature's action is skipped
            await self.run_action(conv, step.action, {})
        if step.ask:
            state.step, state.step_hash = step_name, loaded.step_hashes[step_name]
            state.turn += 1
            self._attach(conv, quick_reply(flow.flow, step_name, self._offered(step.ask.choices), state.turn))
        elif step.route:
            target = next((r.goto for r in step.route if matches(r.when, state)), None)
            if target is not None:
                await self.enter(conv, loaded, target, keep_pending=keep_pending, hops=hops + 1)
        elif step.next:
            await self.enter(conv, loaded, step.next, keep_pending=keep_pending, hops=hops + 1)
        elif not keep_pending:
            state.step, state.step_hash = step_name, None

    async def run_action(self, conv: Conversation, name: str, params: dict[str, str]) -> None:
        action = self.actions.get(name)
        if action is None:  # an old button naming an action a deploy removed
            await self.help(conv)
            return
        await action(conv, params)

    # --- internals -----------------------------------------------------------------------------------

    def _current(self, conv: Conversation) -> LoadedFlow:
        loaded = self.flows.get(conv.state.flow) if conv.state.flow else None
        if loaded is None:
            loaded = self.flows.flows[self.default_flow]
            conv.state.flow, conv.state.version = loaded.flow.flow, loaded.version
        return loaded

    def _begin(self, conv: Conversation, loaded: LoadedFlow) -> None:
        state = conv.state
        state.flow, state.version = loaded.flow.flow, loaded.version
        state.step, state.step_hash = None, None
        state.started_at = conv.now.timestamp()

    def _renderer(self, conv: Conversation, loaded: LoadedFlow) -> Renderer:
        deps = conv.deps
        return Renderer(loaded.flow, deps.template_variables(), deps.video_link(conv.user_id), offers=self.offers)

    def offers(self, choice: Choice) -> bool:
        """A choice is shown only when what it does is there: a switched-off feature's buttons are left out."""
        return choice.action is None or choice.action in self.actions

    def _offered(self, choices: list[Choice]) -> list[Choice]:
        return [c for c in choices if self.offers(c)]

    def _keyword(self, loaded: LoadedFlow, said: str) -> tuple[str, bool] | None:
        """The longest keyword contained in what was typed: 「予約をキャンセル」 is a cancel, not a booking."""
        best: tuple[int, str, bool] | None = None
        for keyword in loaded.flow.keywords:
            if keyword.action is not None and keyword.action not in self.actions:
                continue  # its feature is switched off: the words fall through to help
            for word in keyword.words:
                w = normalize(word)
                if w and w in said and (best is None or len(w) > best[0]):
                    target = keyword.action or keyword.goto or ""
                    best = (len(w), target, keyword.action is not None)
        return (best[1], best[2]) if best else None

    def _pending_ask(self, conv: Conversation, loaded: LoadedFlow) -> Ask | None:
        state = conv.state
        if state.step is None or state.step not in loaded.flow.steps:
            return None
        if loaded.step_hashes.get(state.step) != state.step_hash:
            return None
        return loaded.flow.steps[state.step].ask

    def _reattach_pending(self, conv: Conversation, loaded: LoadedFlow) -> None:
        pending = self._pending_ask(conv, loaded)
        if pending is not None and conv.state.step and conv.replies and "quickReply" not in conv.replies[-1]:
            self._attach(conv, quick_reply(loaded.flow.flow, conv.state.step, self._offered(pending.choices),
                                           conv.state.turn))

    def _attach(self, conv: Conversation, items: dict[str, object]) -> None:
        if conv.replies:
            conv.replies[-1]["quickReply"] = items

    async def _goto(self, conv: Conversation, flow_name: str, step_name: str) -> None:
        loaded = self.flows.get(flow_name)
        if loaded is None or step_name not in loaded.flow.steps:
            await self._reset(conv)
            return
        if conv.state.flow != loaded.flow.flow:
            self._begin(conv, loaded)
        await self.enter(conv, loaded, step_name)

    async def _tap_answer(self, conv: Conversation, fields: dict[str, str], data: str) -> None:
        state = conv.state
        loaded = self.flows.get(fields["f"])
        if loaded is None or fields["s"] not in loaded.flow.steps:
            await self._reset(conv)
            return
        current = state.flow == fields["f"] and state.step == fields["s"] and str(state.turn) == fields["t"]
        if not current:
            if not await self._double_tap(conv, data):
                await self._stale(conv)
            return
        pending = self._pending_ask(conv, loaded)
        choice = next((c for c in pending.choices if c.value == fields["v"]), None) if pending else None
        if pending is None or choice is None:  # the question changed under a deploy
            await self._reset(conv)
            return
        await self._double_tap(conv, data)  # remember it, so a second tap is recognised as one
        await self._answer(conv, loaded, pending, choice)

    async def _answer(self, conv: Conversation, loaded: LoadedFlow, ask: Ask, choice: Choice) -> None:
        state = conv.state
        if choice.value is not None:
            state.answers[ask.key] = choice.value
        state.add_tags(choice.tags)
        state.step, state.step_hash = None, None
        if choice.goto:
            await self.enter(conv, loaded, choice.goto)
        elif choice.action:
            await self.run_action(conv, choice.action, {})

    async def _stale(self, conv: Conversation) -> None:
        loaded = self._current(conv)
        if loaded.flow.stale:
            await self.enter(conv, loaded, loaded.flow.stale, keep_pending=True)
        else:
            conv.say_text("そちらのご質問には、すでにお答えいただいています。")
        self._reattach_pending(conv, loaded)

    async def _reset(self, conv: Conversation) -> None:
        """A deploy changed what the runner was answering: say so kindly and start again."""
        loaded = self.flows.flows[self.default_flow]
        conv.state.answers.clear()
        self._begin(conv, loaded)
        conv.say_text(loaded.flow.reset_text)
        await self.enter(conv, loaded, loaded.flow.start)

    async def _double_tap(self, conv: Conversation, data: str) -> bool:
        """True when the same button was tapped moments ago (the first tap already acted)."""
        return not await conv.deps.remember_tap(conv.user_id, data, conv.event_id, DOUBLE_TAP_SECONDS)
