"""Walking every path of the check, generated from the flow file, and judging each against the safety rules.

A :class:`Walker` drives the real bot's handling (``Runtime.handle``: router, gates, engine, actions, the real
Redis for double taps and bookings) without the webhook and the LINE round trip, so thousands of paths take
seconds; each step of a path branches from a copy of the runner's state. What the runner does is generated
from the flow: the choices the bot shows are tapped by label, or typed (their label, ``words`` and
``phrases``); warning signs are typed from the flow's warning intents; restarts and video requests use the
flow's command words (as the rich menu sends them).

The judge (:class:`Oracle`) knows only what the runner did — not what the bot decided — and holds every reply
to two rules:

- after a warning sign (tapped, typed, or in a check-in), no video and no booking button or calendar — until
  the runner says a doctor cleared them;
- no video before the runner answered the current check's safety question (a new check starts whenever the
  bot asks where it hurts).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs

from bot.runtime import Runtime
from bot.webhook.events import Event
from flows.loader import LoadedFlow
from flows.schema import Choice
from flows.state import ConversationState
from tests.harness import actions_in

Message = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Move:
    """One thing a runner does, and what it means (for the judge, who does not ask the bot)."""

    kind: str  # follow | tap | say | due
    payload: str  # a tap's label, typed text, or a follow-up id
    #: answer:<question>:<value> | sign | clear | command:<word> | restart | other
    meaning: str = "other"

    def __str__(self) -> str:
        return {"follow": "+", "tap": "⊙", "say": "✎", "due": "⏰"}[self.kind] + self.payload


@dataclass(frozen=True, slots=True)
class Oracle:
    """What the rules allow, from the runner's moves alone."""

    flagged: bool = False
    screened: bool = False

    def after(self, move: Move, replies: list[Message], flow: LoadedFlow) -> Oracle:
        flagged, screened = self.flagged, self.screened
        if move.meaning == "sign":
            flagged = True
        elif move.meaning == "clear":
            flagged = False
        elif move.meaning.startswith("answer:"):
            _, question, value = move.meaning.split(":", 2)
            if question == safety_key(flow):
                screened = True
            if flag_of(flow) in choice_tags(flow, question, value):
                flagged = True
        if asks(replies, flow.flow.start):  # the bot started a new check: its old answers no longer count
            screened = False
        return Oracle(flagged=flagged, screened=screened)

    def violations(self, replies: list[Message], flow: LoadedFlow) -> list[str]:
        found = []
        if sends_video(replies, flow) and (self.flagged or not self.screened):
            found.append("video after a warning sign" if self.flagged else "video before the safety answer")
        if self.flagged and offers_booking(replies):
            found.append("booking offered after a warning sign")
        return found


@dataclass(slots=True)
class Walk:
    """A path so far: the moves, what each got, the runner's state, and the judge's view."""

    state: ConversationState
    moves: tuple[Move, ...] = ()
    replies: tuple[list[Message], ...] = ()
    oracle: Oracle = field(default_factory=Oracle)
    violations: tuple[str, ...] = ()

    @property
    def last(self) -> list[Message]:
        return self.replies[-1] if self.replies else []

    def got(self) -> str:
        """What the path ended with, in a word, for the table."""
        last = self.last
        if not last:
            return "silent"
        texts = " ".join(str(m.get("text", "")) for m in last)
        if any(m.get("type") == "flex" and "セルフケア動画" in str(m.get("altText", "")) for m in last):
            return "video"
        if "受診をおすすめ" in texts or "整形外科" in texts:
            return "doctor"
        if any(a.get("data", "").startswith("a=booking.day") for m in last for a in actions_in(m)):
            return "calendar"
        question = next(iter(asked_questions(last)), None)
        return f"question:{question}" if question else "text"

    def __str__(self) -> str:
        return " → ".join(str(m) for m in self.moves)


class Walker:
    def __init__(self, runtime: Runtime, flow: LoadedFlow) -> None:
        self.runtime = runtime
        self.flow = flow
        self.acts = 0

    async def start(self) -> Walk:
        """A new friend: the greeting."""
        return await self.do(Walk(state=ConversationState()), Move("follow", "友だち追加"))

    async def do(self, walk: Walk, move: Move) -> Walk:
        """The runner makes ``move`` on a copy of ``walk``'s state (a new branch); the judge looks at the reply."""
        state = ConversationState.from_json(walk.state.to_json())
        user = "U" + uuid.uuid4().hex  # a fresh id per move: a branch's tap is never another's double tap
        conv = await self.runtime.handle(Event(raw=self._event(walk, move, user), received_at=time.time()), state)
        self.acts += 1
        replies = list(conv.replies) if conv is not None else []
        oracle = walk.oracle.after(move, replies, self.flow)
        found = tuple(f"{v} at {move}" for v in oracle.violations(replies, self.flow))
        return replace(walk, state=state, moves=(*walk.moves, move), replies=(*walk.replies, replies),
                       oracle=oracle, violations=walk.violations + found)

    def _event(self, walk: Walk, move: Move, user: str) -> dict[str, Any]:
        raw: dict[str, Any] = {"timestamp": int(time.time() * 1000), "mode": "active",
                               "source": {"type": "user", "userId": user},
                               "webhookEventId": "01WALK" + uuid.uuid4().hex[:20].upper(),
                               "deliveryContext": {"isRedelivery": False}}
        if move.kind == "follow":
            return raw | {"type": "follow", "follow": {"isUnblocked": False}}
        if move.kind == "say":
            return raw | {"type": "message", "message": {"id": "1", "type": "text", "text": move.payload}}
        if move.kind == "due":
            follow_up = next(f for f in self.flow.flow.follow_ups if f.id == move.payload)
            data = {"flow": self.flow.flow.flow, "follow_up": follow_up.id, "step": follow_up.step}
            return raw | {"type": "x-checkin", "job": {"id": "walk", "user_id": user, "kind": "checkin",
                                                       "due": time.time(), "data": data}}
        action = find_action(walk.last, move.payload)
        return raw | {"type": "postback", "postback": {"data": action["data"]}}

    # --- moves generated from the flow ---------------------------------------------------------------

    def taps(self, walk: Walk) -> list[Move]:
        """Every answer to the question the bot just asked, tapped."""
        return [Move("tap", c.label, f"answer:{q}:{c.value}") for q, c in self.open_choices(walk)]

    def typed_labels(self, walk: Walk) -> list[Move]:
        """Every answer to the question the bot just asked, typed as its label."""
        return [Move("say", c.label, f"answer:{q}:{c.value}") for q, c in self.open_choices(walk)]

    def typed_answers(self, walk: Walk) -> Iterator[Move]:
        """Every word and phrase the flow declares for each answer of the open question, typed."""
        for question, choice in self.open_choices(walk):
            for text in (*choice.words, *choice.phrases):
                yield Move("say", text, f"answer:{question}:{choice.value}")

    def open_choices(self, walk: Walk) -> list[tuple[str, Choice]]:
        questions = asked_questions(walk.last)
        if not questions:
            return []
        step = self.flow.flow.steps[questions[0]]
        assert step.ask is not None
        shown = {a.get("label") for m in walk.last for a in actions_in(m)}
        return [(step.ask.key, c) for c in step.ask.choices if c.label in shown]

    def signs(self) -> list[Move]:
        """Every warning sign the flow hears, each phrase of each, typed."""
        return [Move("say", p, "sign") for i in self.flow.flow.intents if i.kind == "warning"
                for p in (*i.words, *i.phrases)]

    def sign_samples(self) -> list[Move]:
        """One typed phrase per warning intent."""
        return [Move("say", (*i.phrases, *i.words)[0], "sign") for i in self.flow.flow.intents if i.kind == "warning"]

    def command(self, name: str) -> Move:
        """The first word of a command intent, as the rich menu sends it."""
        intent = next(i for i in self.flow.flow.intents if i.name == name)
        meaning = "restart" if intent.goto == self.flow.flow.start else f"command:{name}"
        return Move("say", intent.words[0], "clear" if name == "doctor_cleared" else meaning)

    def clearances(self) -> list[Move]:
        intent = next(i for i in self.flow.flow.intents if i.name == "doctor_cleared")
        return [Move("say", p, "clear") for p in (*intent.words, *intent.phrases)]

    async def dfs(self, walk: Walk, moves: str = "taps") -> list[Walk]:
        """Every path from ``walk`` through the questions the bot asks (taps, or typed labels), to their ends."""
        options = self.taps(walk) if moves == "taps" else self.typed_labels(walk)
        if not options:
            return [walk]
        ends: list[Walk] = []
        for move in options:
            ends += await self.dfs(await self.do(walk, move), moves)
        return ends

    async def nodes(self, walk: Walk) -> list[Walk]:
        """Every point of the check reachable by tapping from ``walk`` (each question asked, each end)."""
        found = [walk]
        for move in self.taps(walk):
            found += await self.nodes(await self.do(walk, move))
        return found


# --- reading replies ---------------------------------------------------------------------------------------

def find_action(messages: list[Message], label: str) -> dict[str, Any]:
    for message in reversed(messages):
        for action in actions_in(message):
            if action.get("label") == label and action.get("type") == "postback":
                return action
    shown = [a.get("label") for m in messages for a in actions_in(m)]
    raise AssertionError(f"no postback labelled {label!r} in {shown}")


def asked_questions(messages: list[Message]) -> list[str]:
    """The questions (steps) whose answers these messages offer as quick replies."""
    found: list[str] = []
    for message in messages:
        for item in (message.get("quickReply") or {}).get("items", []):
            fields = parse_qs(str(item["action"].get("data", "")))
            if "s" in fields and fields["s"][0] not in found:
                found.append(fields["s"][0])
    return found


def asks(messages: list[Message], step: str) -> bool:
    return step in asked_questions(messages)


def sends_video(messages: list[Message], flow: LoadedFlow) -> bool:
    urls = {str(v.url) for v in flow.flow.videos.values()}
    for message in messages:
        if message.get("type") == "video":
            return True
        for action in actions_in(message):
            uri = str(action.get("uri", ""))
            if uri in urls or "/v/" in uri:
                return True
        if message.get("type") == "flex" and any(u in str(message) for u in urls):
            return True
    return False


def offers_booking(messages: list[Message]) -> bool:
    for message in messages:
        for action in actions_in(message):
            data = str(action.get("data", ""))
            if data == "a=booking.start" or data.startswith("a=booking.day"):
                return True
    return False


def safety_key(flow: LoadedFlow) -> str:
    assert flow.flow.safety is not None
    return flow.flow.safety.screen


def flag_of(flow: LoadedFlow) -> str:
    assert flow.flow.safety is not None
    return flow.flow.safety.flag


def choice_tags(flow: LoadedFlow, question: str, value: str) -> list[str]:
    for step in flow.flow.steps.values():
        if step.ask is not None and step.ask.key == question:
            for choice in step.ask.choices:
                if choice.value == value:
                    return list(choice.tags)
    return []


@dataclass(slots=True)
class Table:
    """Paths walked per class, and what they ended with."""

    rows: Counter[tuple[str, str]] = field(default_factory=Counter)
    samples: dict[tuple[str, str], str] = field(default_factory=dict)
    #: Runner moves the bot handled to walk them all (prefixes are shared: each branch copies the state).
    moves: int = 0

    def add(self, kind: str, walk: Walk) -> None:
        key = (kind, walk.got())
        self.rows[key] += 1
        self.samples.setdefault(key, str(walk))

    def render(self) -> str:
        lines = ["| class of path | paths | ended with | example |", "| --- | ---: | --- | --- |"]
        for (kind, got), count in sorted(self.rows.items()):
            lines.append(f"| {kind} | {count} | {got} | {self.samples[(kind, got)]} |")
        total = sum(self.rows.values())
        return "\n".join(lines) + f"\n\n{total} paths, {self.moves} runner moves handled by the bot."
