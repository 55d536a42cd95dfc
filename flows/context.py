"""The conversation one event is handled in: who, what they said so far, and what goes back.

Like aiogram's FSM context, it is the one object a handler or an action touches. Nothing here talks to LINE:
messages are collected and sent by the queue consumer after the new state is stored (transactional outbox).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from flows.ports import Deps
from flows.state import ConversationState

Message = dict[str, Any]


@dataclass(slots=True)
class Push:
    """A message for someone other than the runner being answered (staff notices)."""

    to: str
    messages: list[Message]
    key: str  # stable per cause, so the retry key is the same when the event is handled again


@dataclass(frozen=True, slots=True)
class StaffNote:
    text: str
    #: True puts the runner on the inbox's open list (someone should look); False only keeps the words.
    needs_staff: bool


@dataclass(slots=True)
class Conversation:
    user_id: str
    state: ConversationState
    now: dt.datetime
    event_id: str
    #: What the bot around the engine offers (template variables, services by type): see flows/ports.py.
    deps: Deps
    replies: list[Message] = field(default_factory=list)
    pushes: list[Push] = field(default_factory=list)
    #: Set when the runner asked to be forgotten (unfollow, 「データ削除」): the consumer deletes their data.
    forget: bool = False
    #: Text the bot did not understand, kept for the staff inbox (never logged): staff should answer it.
    unrecognized: str | None = None
    #: Words the bot answered but staff should read in the inbox (never logged): a typed warning sign (which
    #: asks for staff's attention), a sticker or a thank-you (which do not).
    staff_notes: list[StaffNote] = field(default_factory=list)
    #: Set by a handler that must not answer (e.g. a person is handling this runner).
    silent: bool = False
    #: The tags the runner had before this event, so services can react to what is new.
    initial_tags: tuple[str, ...] = ()

    def new_tags(self) -> list[str]:
        """Tags this event added (``check_done``, ``red_flag``...): what follow-ups and counters react to."""
        return [t for t in self.state.tags if t not in self.initial_tags]

    def say(self, *messages: Message) -> None:
        self.replies.extend(messages)

    def say_text(self, text: str) -> None:
        self.replies.append({"type": "text", "text": text})

    def note_for_staff(self, text: str, *, needs_staff: bool) -> None:
        self.staff_notes.append(StaffNote(text=text, needs_staff=needs_staff))

    def notify(self, to: str, messages: list[Message], key: str) -> None:
        self.pushes.append(Push(to=to, messages=messages, key=key))
