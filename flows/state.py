"""A runner's conversation state, as stored in Redis (one JSON value per runner).

It carries the flow's name and version and the fingerprint of the question being asked, so a deploy that
changes the flow can tell whether a pending answer still means what it meant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass(slots=True)
class ConversationState:
    flow: str = ""
    version: str = ""
    step: str | None = None
    step_hash: str | None = None
    #: Bumped every time a question is asked; a tap carries it, so an old or doubled tap is recognised.
    turn: int = 0
    answers: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    started_at: float | None = None
    updated_at: float | None = None
    #: Anything the bot's services keep per runner (booking in progress, hand-off...).
    extra: dict[str, Any] = field(default_factory=dict)

    def add_tags(self, tags: list[str]) -> None:
        for tag in tags:
            if tag not in self.tags:
                self.tags.append(tag)

    def remove_tags(self, tags: list[str]) -> None:
        self.tags = [t for t in self.tags if t not in tags]

    def to_json(self) -> str:
        # orjson: written on every event; the standard library's ``asdict`` + ``dumps`` cost several times more.
        # Non-string keys (a service's ``extra``) become strings, as ``json.dumps`` made them.
        return orjson.dumps(self, option=orjson.OPT_NON_STR_KEYS).decode()

    @classmethod
    def from_json(cls, raw: str | None) -> ConversationState:
        if not raw:
            return cls()
        data = orjson.loads(raw)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)
