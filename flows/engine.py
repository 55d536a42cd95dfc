"""The flow engine: what the bot says next, given a runner's state and what they just did.

It is pure conversation logic over a :class:`Conversation`: it reads and changes ``conv.state`` and collects
replies. Storing the state and sending the replies is the queue consumer's job, done together, once.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs

from flows.actions import ActionRegistry
from flows.context import Conversation
from flows.intents import Heard
from flows.loader import FlowSet, LoadedFlow
from flows.render import Renderer, matches, quick_reply
from flows.schema import Ask, Choice, Intent

log = logging.getLogger(__name__)

#: A runner re-entering steps in a loop (a flow mistake the loader missed) is stopped after this many.
MAX_HOPS = 20
#: Two taps on the same button within this many seconds are one tap.
DOUBLE_TAP_SECONDS = 5


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
        """Typed words, heard in this order: the open question answered exactly, a warning sign (always, at
        any point), the open question answered in a sentence, a command or question, a greeting or thanks;
        anything else is kept for staff and gets short help."""
        loaded = self._current(conv)
        listener = loaded.listener
        said = listener.parse(text)
        pending = self._pending_ask(conv, loaded)
        offered = self._offered(pending.choices, conv, loaded) if pending else []
        choice = listener.exact_choice(said, offered) if offered else None
        if pending is not None and choice is not None:
            await self._answer(conv, loaded, pending, choice)
            return
        warning = listener.warning(said)
        if warning is not None:
            conv.note_for_staff(text, needs_staff=True)  # staff should know, whatever the bot answered
            await self._heard(conv, loaded, warning.intent)
            return
        command = listener.command(said)
        choice = listener.choice_in(said, offered) if offered and command is None else None
        if pending is not None and choice is not None:
            await self._answer(conv, loaded, pending, choice)
            return
        heard = command or listener.request(said)
        if heard is not None and self._runs(heard.intent):
            if not heard.declined:
                await self._heard(conv, loaded, heard.intent)
                return
            if loaded.flow.declined:
                await self._aside(conv, loaded, loaded.flow.declined)
                return
        chat = listener.chat(said)
        if chat is not None:
            conv.note_for_staff(text, needs_staff=False)
            await self._heard(conv, loaded, chat.intent)
            return
        conv.unrecognized = text
        await self._not_understood(conv, loaded)

    async def media(self, conv: Conversation, kind: str) -> None:
        """A sticker, photo, video, voice message or file: a short human answer; the open question stays."""
        loaded = self._current(conv)
        flow = loaded.flow
        step = flow.on_sticker if kind == "sticker" else flow.on_media
        await self._aside(conv, loaded, step or flow.help)

    def heard_as(self, conv: Conversation, text: str) -> Heard | None:
        """What a message would mean, for gates deciding whether the bot should answer it: a warning sign,
        or a whole-message command (a rich-menu word such as 「予約」). None for anything else."""
        loaded = self._current(conv)
        said = loaded.listener.parse(text)
        heard = loaded.listener.warning(said) or loaded.listener.command(said)
        return heard if heard is not None and self._runs(heard.intent) else None

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
        await self._aside(conv, loaded, loaded.flow.help)

    # --- moving through steps ------------------------------------------------------------------------

    async def enter(self, conv: Conversation, loaded: LoadedFlow, step_name: str, *,
                    keep_pending: bool = False, hops: int = 0) -> None:
        """Send a step's messages and follow it to the next question or the end."""
        if hops > MAX_HOPS:
            log.error("flow loops; stopping", extra={"flow": loaded.flow.flow, "step": step_name})
            return
        flow, state = loaded.flow, conv.state
        instead = loaded.policy.instead_of_step(step_name, state)
        if instead is not None:
            log.info("safety rule: another step instead", extra={"step": step_name, "instead": instead})
            step_name = instead
        if step_name == flow.start:
            state.answers.clear()  # a new check: nothing of the old one (its safety answer least of all) counts
        step = flow.steps[step_name]
        state.remove_tags(step.clears_tags)
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
            choices = self._offered(step.ask.choices, conv, loaded)
            self._attach(conv, quick_reply(flow.flow, step_name, choices, state.turn))
        elif step.route:
            target = next((r.goto for r in step.route if matches(r.when, state)), None)
            if target is not None:
                await self.enter(conv, loaded, target, keep_pending=keep_pending, hops=hops + 1)
        elif step.next:
            await self.enter(conv, loaded, step.next, keep_pending=keep_pending, hops=hops + 1)
        elif not keep_pending:
            state.step, state.step_hash = step_name, None

    async def run_action(self, conv: Conversation, name: str, params: dict[str, str]) -> None:
        loaded = self._current(conv)
        instead = loaded.policy.instead_of_action(name, params, conv.state)
        if instead is not None:  # no sale after a warning sign, however it was asked for
            await self.enter(conv, loaded, instead)
            return
        action = self.actions.get(name)
        if action is None:  # an old button naming an action a deploy removed
            await self.help(conv)
            return
        said = len(conv.replies)
        await action(conv, params)
        loaded.policy.strip_sales(conv.replies[said:], conv.state)

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
        state = conv.state
        return Renderer(loaded.flow, deps.template_variables(), deps.video_link(conv.user_id),
                        offers=lambda choice: self.offers(choice) and loaded.policy.offers(choice, state))

    def offers(self, choice: Choice) -> bool:
        """A choice is shown only when what it does is there: a switched-off feature's buttons are left out."""
        return choice.action is None or choice.action in self.actions

    def _offered(self, choices: list[Choice], conv: Conversation, loaded: LoadedFlow) -> list[Choice]:
        """The choices shown to this runner: their feature is on, and no sale after a warning sign."""
        return [c for c in choices if self.offers(c) and loaded.policy.offers(c, conv.state)]

    def _runs(self, intent: Intent) -> bool:
        """An intent whose feature is switched off is not heard: its words fall through to help."""
        return intent.action is None or intent.action in self.actions

    async def _heard(self, conv: Conversation, loaded: LoadedFlow, intent: Intent) -> None:
        """Do what typed words meant. A question about the clinic or a greeting leaves the open question open."""
        conv.state.answers.update(intent.answers)
        conv.state.add_tags(intent.tags)
        aside = intent.kind in ("question", "chat")
        if intent.goto is not None:
            await (self._aside(conv, loaded, intent.goto) if aside else self.enter(conv, loaded, intent.goto))
            return
        await self.run_action(conv, intent.action or "", {})
        if aside:
            self._reattach_pending(conv, loaded)

    async def _aside(self, conv: Conversation, loaded: LoadedFlow, step_name: str) -> None:
        """A step said in passing (help, a greeting, an answer about parking): the open question stays open."""
        await self.enter(conv, loaded, step_name, keep_pending=True)
        self._reattach_pending(conv, loaded)

    async def _not_understood(self, conv: Conversation, loaded: LoadedFlow) -> None:
        unclear = loaded.flow.unclear
        if unclear and self._pending_ask(conv, loaded) is not None:
            await self._aside(conv, loaded, unclear)  # ask the open question again, kindly
        else:
            await self.help(conv)

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
            choices = self._offered(pending.choices, conv, loaded)
            self._attach(conv, quick_reply(loaded.flow.flow, conv.state.step, choices, conv.state.turn))

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
            await self._aside(conv, loaded, loaded.flow.stale)
            return
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
