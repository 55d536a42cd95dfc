"""What the flow engine needs from the bot around it, said as a protocol, so ``flows/`` imports nothing of ``bot/``.

The bot's composition root hands every :class:`~flows.context.Conversation` an object with these methods
(``bot.extension.Parts``). Services a feature brings (the booking service, the store) are fetched by their
type with :meth:`Deps.need`, the way aiogram hands a handler its ``workflow_data``: the engine and the
actions never import the code that provides them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol, TypeVar

from flows.schema import Video

T = TypeVar("T")
#: Builds the link a video card opens, from the video's name and spec (a counting redirect, or its URL).
VideoLink = Callable[[str, Video], str]


class Deps(Protocol):
    def template_variables(self) -> Mapping[str, str]:
        """``{clinic_name}`` and friends, usable in any flow text."""
        ...

    def video_link(self, user_id: str) -> VideoLink:
        """How this runner's video cards link to their video."""
        ...

    async def remember_tap(self, user_id: str, data: str, event_id: str, ttl_seconds: int) -> bool:
        """True when this tap is new (or is this same event handled again); False for a second tap."""
        ...

    def need(self, kind: type[T]) -> T:
        """The service of this type; raises ``LookupError`` when nothing provides it."""
        ...

    def maybe(self, kind: type[T]) -> T | None:
        """The service of this type, or ``None`` when its feature is switched off."""
        ...
