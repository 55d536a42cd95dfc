"""The clinic's own copy in the talk, stored once for every runner: ``lb:{talk}:texts`` (ref -> text).

Why: most of what the bot says is the flow's copy, the same words for thousands of runners (the check's
result alone is over a kilobyte). A runner's talk refers to such a text by a ref instead of holding it.

What the table holds, and nothing else:

- every line of the talk the loaded flows can produce, whoever the runner is: each message of each step
  (every variant), summarised as the talk summarises it and rendered with the clinic's template variables —
  one mapping for the whole clinic (its name, address, first-visit note), never a runner's; the flows' button
  and quick-reply labels as taps; the talk's own notes (added as a friend, unblocked);
- the text of a segment broadcast (one message to a whole segment; the broadcast record keeps it too).

A text that may carry anything of one runner — a booking time, a name, their own words, a staff member's 1:1
reply — is none of these, so it has no ref: it stays inline in the runner's own key, which forgetting the
runner (block, 「データ削除」) deletes. Whether a line is shared is decided by what it is, not by who said it:
a runner who types the flow's exact copy has written nothing personal either.

A ref is a 40-bit content hash (blake2b), so every process computes the same ref for the same text without
coordinating; among the few thousand texts a clinic will ever have a collision is about one in a million,
and would only show the wrong copy in a staff view. The table is written with HSET — idempotent, a field is
its text's hash — in the first commit pipeline of each process (no extra round trip), and by the broadcast
listener with each batch. A ref missing from the table (it was lost) is read from this process's flows when
it is current copy, else shown as :data:`.talk_entries.MISSING_TEXT`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from typing import Any

from bot.features.dashboard.talk_entries import Part, summary, tap_text
from bot.store.keys import PREFIX
from flows.loader import FlowSet
from flows.render import Renderer
from flows.schema import (
    ButtonsMessage,
    Choice,
    MessageSpec,
    Step,
    TextMessage,
    VariantsMessage,
    VideoCardMessage,
    VideoMessage,
)

TEXTS = f"{PREFIX}:{{talk}}:texts"
#: A ref costs about 14 bytes in an entry: a shorter text is cheaper inline.
MIN_SHARED_BYTES = 16
SingleMessage = TextMessage | ButtonsMessage | VideoCardMessage | VideoMessage
FOLLOWED = "(友だち追加しました)"
UNBLOCKED = "(ブロックを解除しました)"
UNKNOWN_TAP = "ボタン操作"


def ref_of(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=5).digest(), "big")


def worth_sharing(text: str) -> bool:
    return len(text.encode()) >= MIN_SHARED_BYTES


def flow_copy(flows: FlowSet, variables: Mapping[str, str]) -> Iterator[str]:
    """Every line of the talk the flows can produce, whoever the runner is (see the module's docstring)."""
    yield from (FOLLOWED, UNBLOCKED, tap_text(UNKNOWN_TAP))
    for loaded in flows:
        renderer = Renderer(loaded.flow, variables)
        yield loaded.flow.reset_text
        for name, step in loaded.flow.steps.items():
            for spec in step.messages:
                yield from (summary(renderer.single(one, name)) for one in _each_variant(spec))
            yield from (tap_text(choice.label) for choice in choices_of(step))


def _each_variant(spec: MessageSpec) -> list[SingleMessage]:
    """Every message ``spec`` may send: itself, or each of its variants (whichever a runner's answers pick)."""
    return list(spec.variants) if isinstance(spec, VariantsMessage) else [spec]


def choices_of(step: Step) -> Iterator[Choice]:
    """Every choice a step offers: its question's quick replies, then each message's buttons (every variant)."""
    yield from step.ask.choices if step.ask is not None else []
    for spec in step.messages:
        for one in _each_variant(spec):
            yield from one.buttons.choices if isinstance(one, ButtonsMessage) else []


class SharedCopy:
    """This process's view of the shared table: which texts have a ref, and writing the table once."""

    def __init__(self, collect: Callable[[], Iterable[str]]) -> None:
        self._collect = collect
        self._refs: dict[str, int] | None = None
        self._texts: dict[int, str] = {}
        self._published = False

    def _table(self) -> dict[str, int]:
        # Collected on first use, not at install: a feature installed later may still add template variables.
        if self._refs is None:
            self._refs = {text: ref_of(text) for text in self._collect() if worth_sharing(text)}
            self._texts = {ref: text for text, ref in self._refs.items()}
        return self._refs

    @property
    def texts(self) -> Mapping[int, str]:
        """ref -> text of every current copy line (what a ref resolves to when the table lost it)."""
        self._table()
        return self._texts

    def compact(self, parts: Iterable[str]) -> list[Part]:
        """The lines of an entry, each shared copy replaced by its ref."""
        table = self._table()
        return [table.get(part, part) for part in parts]

    def stage_publish(self, pipe: Any) -> Callable[[list[Any]], Awaitable[None]] | None:
        """Until it is done once in this process: write the table in this pipeline."""
        if self._published or not self._table():
            return None
        pipe.hset(TEXTS, mapping={str(ref): text for ref, text in self._texts.items()})

        async def published(_replies: list[Any]) -> None:
            self._published = True

        return published


def stage_share(pipe: Any, text: str) -> Part:
    """A text one message gives a whole segment: into the table, its ref back (inline when short)."""
    if not worth_sharing(text):
        return text
    ref = ref_of(text)
    pipe.hset(TEXTS, str(ref), text)
    return ref


async def resolve(redis: Any, refs: set[int], known: Mapping[int, str]) -> dict[int, str]:
    """The texts of ``refs``: current copy from ``known`` (no round trip), the rest from the table."""
    found = {ref: known[ref] for ref in refs if ref in known}
    wanted = sorted(refs - found.keys())
    if wanted:
        texts = await redis.hmget(TEXTS, [str(ref) for ref in wanted])
        found.update({ref: str(text) for ref, text in zip(wanted, texts, strict=True) if text is not None})
    return found
