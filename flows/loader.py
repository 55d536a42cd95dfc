"""Loading and checking flow files at start-up.

A broken reference, an unreachable step, a label longer than LINE allows or a reply of more than five
messages is refused here, with the file and the step named, instead of failing in front of a runner.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from flows.intents import Listener, normalize, spelling_table
from flows.safety import SafetyPolicy
from flows.schema import (
    MAX_ALT_TEXT,
    MAX_BUTTON_TEXT,
    MAX_LABEL,
    MAX_MESSAGES,
    MAX_QUICK_REPLIES,
    MAX_TEXT,
    ButtonsMessage,
    Choice,
    Flow,
    MessageSpec,
    Step,
    TextMessage,
    VariantsMessage,
    VideoCardMessage,
    VideoMessage,
)
from flows.width import CARD_LINE, PHONE_LINE, width


class FlowError(ValueError):
    """A flow file is wrong; the message names the file and the step."""


MAX_CARD_BUTTONS = 4


@dataclass(frozen=True, slots=True)
class LoadedFlow:
    """A checked flow with the fingerprints that let a deploy tell which steps changed."""

    flow: Flow
    path: Path
    version: str
    step_hashes: dict[str, str]
    #: What typed words mean in this flow (its intents and typed answers).
    listener: Listener
    #: The flow's safety rule, applied by the engine at every entry point.
    policy: SafetyPolicy
    warnings: tuple[str, ...] = ()

    def answer_labels(self, answers: Mapping[str, str]) -> dict[str, str]:
        """The runner's answers as staff read them: question title → the label the runner tapped, in the
        flow's own Japanese, in the order the flow asks them. Answers to questions no longer in the flow are
        shown as stored."""
        shown: dict[str, str] = {}
        asked: set[str] = set()
        for step in self.flow.steps.values():
            if step.ask is None or step.ask.key not in answers or step.ask.key in asked:
                continue
            asked.add(step.ask.key)
            value = answers[step.ask.key]
            label = next((c.label for c in step.ask.choices if c.value == value), value)
            shown[step.ask.title or step.ask.key] = label
        for key, value in answers.items():
            if key not in asked:
                shown[key] = value
        return shown

    def tag_label(self, tag: str) -> str | None:
        """A tag that exactly one tap of this flow gives, as staff read it (「痛む場所: 膝裏の外側」); ``None``
        for tags several taps share (``red_flag``) or that code gives: those are labelled where they are made.
        A tag no tap gives but exactly one step does (``doctor_cleared``) reads as that step's title."""
        givers = [(step.ask, choice) for step in self.flow.steps.values() if step.ask is not None
                  for choice in step.ask.choices if tag in choice.tags]
        if len(givers) == 1:
            ask, choice = givers[0]
            return f"{ask.title or ask.key}: {choice.label}"
        steps = [step for step in self.flow.steps.values() if tag in step.tags]
        if not givers and len(steps) == 1 and steps[0].title:
            return steps[0].title
        return None


@dataclass(slots=True)
class FlowSet:
    """Every flow the bot serves, by name."""

    flows: dict[str, LoadedFlow] = field(default_factory=dict)

    def get(self, name: str) -> LoadedFlow | None:
        return self.flows.get(name)

    def __iter__(self) -> Iterator[LoadedFlow]:
        return iter(self.flows.values())

    @property
    def warnings(self) -> list[str]:
        return [w for loaded in self for w in loaded.warnings]


def load_flows(directory: Path, known_actions: Iterable[str]) -> FlowSet:
    """Load every ``*.yaml`` under ``directory``; raise ``FlowError`` listing every problem found."""
    actions = set(known_actions)
    flow_set = FlowSet()
    problems: list[str] = []
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise FlowError(f"{directory}: no flow files (*.yaml)")
    for path in files:
        try:
            loaded = load_flow_file(path, actions)
        except FlowError as exc:
            problems.append(str(exc))
            continue
        if loaded.flow.flow in flow_set.flows:
            problems.append(f"{path}: flow name {loaded.flow.flow!r} is used twice")
        flow_set.flows[loaded.flow.flow] = loaded
    if problems:
        raise FlowError("\n".join(problems))
    return flow_set


def load_flow_file(path: Path, actions: set[str]) -> LoadedFlow:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        flow = Flow.model_validate(raw)
    except yaml.YAMLError as exc:
        raise FlowError(f"{path}: not valid YAML: {exc}") from exc
    except ValidationError as exc:
        details = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise FlowError(f"{path}: {details}") from exc
    problems = [f"{path}: {p}" for p in check_flow(flow, actions)]
    if problems:
        raise FlowError("\n".join(problems))
    warnings = tuple(f"{path}: {w}" for w in long_lines(flow))
    hashes = {name: question_fingerprint(step) for name, step in flow.steps.items()}
    version = f"{flow.version}-{_fingerprint(flow.model_dump(mode='json'))[:8]}"
    return LoadedFlow(flow=flow, path=path, version=version, step_hashes=hashes, warnings=warnings,
                      listener=Listener(flow), policy=SafetyPolicy.of(flow))


#: What a runner may type to answer a choice: more of them change no answer, so they are not fingerprinted.
_TYPED = {"words", "phrases", "unless"}


def question_fingerprint(step: Step) -> str:
    """A step's fingerprint covers only its question: new wording (or new typed synonyms) keeps a runner where
    they are; new or renamed choices send them back to the start politely."""
    if step.ask is None:
        return _fingerprint(None)
    return _fingerprint(step.ask.model_dump(mode="json", exclude={"choices": {"__all__": _TYPED}}))


def check_flow(flow: Flow, actions: set[str]) -> list[str]:
    """Every problem in one flow, each naming the step."""
    problems: list[str] = []
    for name, target in _entry_points(flow):
        if target not in flow.steps:
            problems.append(f"{name} goes to unknown step {target!r}")
    for step_name, step in flow.steps.items():
        where = f"step {step_name!r}"
        problems += [f"{where}: goes to unknown step {t!r}" for t in _targets(step) if t not in flow.steps]
        problems += [f"{where}: unknown action {a!r}" for a in _actions(step) if a not in actions]
        problems += [f"{where}: {p}" for p in _limits(flow, step)]
    problems += _intent_problems(flow, actions)
    problems += SafetyPolicy.of(flow).problems(flow, actions)
    follow_up_ids = [f.id for f in flow.follow_ups]
    problems += [f"follow-up id {i!r} is used twice" for i in sorted(set(follow_up_ids))
                 if follow_up_ids.count(i) > 1]
    unreachable = set(flow.steps) - _reachable(flow)
    problems += [f"step {name!r} is unreachable" for name in sorted(unreachable)]
    for step_name in flow.steps:
        count = _max_messages(flow, step_name, set())
        if count > MAX_MESSAGES:
            problems.append(f"step {step_name!r}: sends {count} messages in one reply (LINE allows {MAX_MESSAGES})")
    return problems


def _entry_points(flow: Flow) -> list[tuple[str, str]]:
    points = [("start", flow.start), ("on_follow", flow.on_follow), ("help", flow.help)]
    optional = {"on_unblock": flow.on_unblock, "stale": flow.stale, "unclear": flow.unclear,
                "declined": flow.declined, "on_sticker": flow.on_sticker, "on_media": flow.on_media}
    points += [(name, step) for name, step in optional.items() if step]
    if flow.safety:
        points += [("safety.see_doctor", flow.safety.see_doctor), ("safety.screen_first", flow.safety.screen_first)]
    points += [(f"intent {i.name!r}", i.goto) for i in flow.intents if i.goto]
    points += [(f"follow-up {f.id!r}", f.step) for f in flow.follow_ups]  # the bot enters these by itself
    return points


def _choices(step: Step) -> list[Choice]:
    found = list(step.ask.choices) if step.ask else []
    for message in _all_specs(step.messages):
        if isinstance(message, ButtonsMessage):
            found += message.buttons.choices
    return found


def _all_specs(specs: Iterable[MessageSpec]) -> Iterator[MessageSpec]:
    for spec in specs:
        yield spec
        if isinstance(spec, VariantsMessage):
            yield from spec.variants


def _targets(step: Step) -> list[str]:
    targets = [c.goto for c in _choices(step) if c.goto]
    targets += [r.goto for r in step.route]
    if step.next:
        targets.append(step.next)
    return targets


def _actions(step: Step) -> list[str]:
    found = [c.action for c in _choices(step) if c.action]
    return found + ([step.action] if step.action else [])


def _reachable(flow: Flow) -> set[str]:
    seen: set[str] = set()
    todo = [target for _, target in _entry_points(flow)]
    while todo:
        name = todo.pop()
        if name in seen or name not in flow.steps:
            continue
        seen.add(name)
        todo += _targets(flow.steps[name])
    return seen


def _max_messages(flow: Flow, step_name: str, visiting: set[str]) -> int:
    """Messages one reply carries when it reaches ``step_name`` (following next/route, not questions)."""
    step = flow.steps.get(step_name)
    if step is None or step_name in visiting:
        return 0
    visiting = visiting | {step_name}
    onward = [step.next] if step.next else [r.goto for r in step.route]
    return len(step.messages) + max((_max_messages(flow, t, visiting) for t in onward), default=0)


def _limits(flow: Flow, step: Step) -> list[str]:
    problems: list[str] = []
    if step.ask and len(step.ask.choices) > MAX_QUICK_REPLIES:
        problems.append(f"{len(step.ask.choices)} choices (LINE allows {MAX_QUICK_REPLIES} quick replies)")
    if step.ask and not step.messages:
        problems.append("asks a question but sends no message to attach the choices to")
    for choice in _choices(step):
        if len(choice.label) > MAX_LABEL:
            problems.append(f"label {choice.label!r} is {len(choice.label)} characters (max {MAX_LABEL})")
    for spec in _all_specs(step.messages):
        problems += _message_limits(flow, spec)
    return problems


def _message_limits(flow: Flow, spec: MessageSpec) -> list[str]:
    if isinstance(spec, TextMessage) and not 0 < len(spec.text) <= MAX_TEXT:
        return [f"text of {len(spec.text)} characters (1 to {MAX_TEXT})"]
    if isinstance(spec, ButtonsMessage):
        problems = []
        if len(spec.buttons.choices) > MAX_CARD_BUTTONS:
            problems.append(f"a card with {len(spec.buttons.choices)} buttons (max {MAX_CARD_BUTTONS})")
        if len(spec.buttons.text) > MAX_BUTTON_TEXT:
            problems.append(f"card text of {len(spec.buttons.text)} characters (max {MAX_BUTTON_TEXT})")
        return problems
    if isinstance(spec, VideoCardMessage | VideoMessage):
        names = spec.videos if isinstance(spec, VideoCardMessage) else [spec.video]
        problems = [f"unknown video {n!r}" for n in names if n not in flow.videos]
        for n in names:
            video = flow.videos.get(n)
            if video and (video.url.scheme != "https" or video.thumbnail.scheme != "https"):
                problems.append(f"video {n!r}: LINE needs https URLs")
            if video and isinstance(spec, VideoMessage) and video.mp4_url is None:
                problems.append(f"video {n!r}: a video message needs mp4_url")
            if video and len(video.title) > MAX_ALT_TEXT:
                problems.append(f"video {n!r}: title over {MAX_ALT_TEXT} characters")
        return problems
    return []


def _intent_problems(flow: Flow, actions: set[str]) -> list[str]:
    """Unknown actions, words that mean two things, phrases that normalise to nothing."""
    problems: list[str] = []
    spellings = spelling_table(flow)
    owner: dict[str, str] = {}
    names = [i.name for i in flow.intents]
    problems += [f"intent name {n!r} is used twice" for n in sorted(set(names)) if names.count(n) > 1]
    for intent in flow.intents:
        where = f"intent {intent.name!r}"
        if intent.action is not None and intent.action not in actions:
            problems.append(f"{where}: unknown action {intent.action!r}")
        for word in [*intent.words, *intent.phrases, *intent.unless]:
            if not normalize(word, spellings):
                problems.append(f"{where}: {word!r} is only punctuation")
        for word in intent.words:
            key = normalize(word, spellings)
            if owner.setdefault(key, intent.name) != intent.name:
                problems.append(f"{where}: word {word!r} already means intent {owner[key]!r}")
    for name, step in flow.steps.items():
        if step.ask is None:
            continue
        seen: dict[str, str] = {}
        for choice in step.ask.choices:
            for word in [choice.label, *choice.words]:
                key = normalize(word, spellings)
                if seen.setdefault(key, choice.label) != choice.label:
                    problems.append(f"step {name!r}: {word!r} answers both {seen[key]!r} and {choice.label!r}")
    return problems


def long_lines(flow: Flow, variables: Mapping[str, str] | None = None) -> list[str]:
    """Lines a small phone wraps (texts at 16 full-width characters, card descriptions at 20), with the
    ``{placeholders}`` filled when ``variables`` are given."""
    def fill(text: str) -> str:
        for key, value in (variables or {}).items():
            text = text.replace("{" + key + "}", value)
        return text

    found: list[tuple[str, str, float]] = []
    for name, step in flow.steps.items():
        for spec in _all_specs(step.messages):
            if isinstance(spec, TextMessage):
                found += [(f"step {name!r}", line, PHONE_LINE) for line in fill(spec.text).splitlines()]
    for name, video in flow.videos.items():
        found += [(f"video {name!r}", line, CARD_LINE) for line in fill(video.description).splitlines()]
    return [f"{where}: a line {width(line):g} characters wide may wrap on a small phone (over {limit:g}): {line}"
            for where, line, limit in found if width(line) > limit]


def _fingerprint(data: object) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
