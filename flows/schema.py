"""What a flow file may say: the schema the loader checks every YAML file against.

A flow is a set of named steps. A step sends up to five messages, then either asks a question (quick-reply
choices, each leading somewhere), routes on earlier answers, or moves on. Content (every text, label, video
URL and thumbnail) is data here; behaviour that needs code is named as an ``action`` (booking, data
deletion...) and provided by the bot.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, model_validator

# LINE's limits (Messaging API reference); the loader turns a breach into a start-up error.
MAX_MESSAGES = 5
MAX_QUICK_REPLIES = 13
MAX_LABEL = 20
MAX_TEXT = 5000
MAX_BUTTON_TEXT = 160
MAX_ALT_TEXT = 400

Condition = dict[str, str | list[str] | bool]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Hearing(_Strict):
    """What typed words mean this: a whole message, or a phrase inside a sentence (see flows/intents.py).

    ``words`` match when they are the whole message, polite words aside (「予約」「予約お願いします」); ``phrases``
    match inside a sentence unless the sentence denies or postpones them (「予約したい」 but not 「予約はまだ
    大丈夫です」); ``unless`` names longer phrases that contain a word of ours but mean something else
    (「キャンセル待ち」 is not a cancellation).
    """

    words: list[str] = Field(default_factory=list)
    phrases: list[str] = Field(default_factory=list)
    unless: list[str] = Field(default_factory=list)


class Choice(Hearing):
    """One thing a runner can tap: it records an answer and leads to a step, an action or a web page.

    Typing the label (or one of ``words``, or a sentence with one of ``phrases``) answers the question too,
    when it picks this choice alone."""

    label: str
    value: str | None = None
    tags: list[str] = Field(default_factory=list)
    goto: str | None = None
    action: str | None = None
    uri: HttpUrl | None = None
    style: Literal["primary", "secondary", "link"] = "secondary"

    @model_validator(mode="after")
    def _one_target(self) -> Choice:
        targets = [t for t in (self.goto, self.action, self.uri) if t is not None]
        if len(targets) != 1:
            raise ValueError(f"choice {self.label!r} needs exactly one of goto, action, uri")
        return self


class Ask(_Strict):
    """A question answered by tapping a quick reply (typing the label works too)."""

    key: str
    choices: list[Choice]
    #: What staff read for this question beside the runner's answer (「痛む場所」); the key when empty.
    title: str = ""


class Route(_Strict):
    """Where to go next; the first route whose ``when`` matches the answers wins."""

    when: Condition = Field(default_factory=dict)
    goto: str


class Video(_Strict):
    """A self-care video: where it lives, its thumbnail, and what the card says."""

    title: str
    url: HttpUrl
    thumbnail: HttpUrl
    description: str = ""
    duration: str = ""
    button_label: str = "動画を見る"
    #: A direct MP4, needed only for LINE's own video message (cards link to ``url``).
    mp4_url: HttpUrl | None = None


class TextMessage(_Strict):
    text: str
    when: Condition = Field(default_factory=dict)


class ButtonsMessage(_Strict):
    """A card with a short text and up to four buttons (a flex bubble)."""

    class Body(_Strict):
        title: str | None = None
        text: str
        choices: list[Choice]

    buttons: Body
    when: Condition = Field(default_factory=dict)


class VideoCardMessage(_Strict):
    """A card per video (thumbnail, title, dose, "watch" button); several make a carousel."""

    videos: list[str] = Field(min_length=1, max_length=10)
    when: Condition = Field(default_factory=dict)


class VideoMessage(_Strict):
    """LINE's own video message, which reports ``videoPlayComplete`` when watched to the end."""

    video: str
    when: Condition = Field(default_factory=dict)


class VariantsMessage(_Strict):
    """One message whose content depends on the answers: the first matching variant is sent."""

    variants: list[Annotated[TextMessage | ButtonsMessage | VideoCardMessage | VideoMessage, Field()]]
    when: Condition = Field(default_factory=dict)


MessageSpec = TextMessage | ButtonsMessage | VideoCardMessage | VideoMessage | VariantsMessage


class Step(_Strict):
    #: What staff read for this step in the content pages (「痛む場所の質問」); the step's name when empty.
    title: str = ""
    messages: list[MessageSpec] = Field(default_factory=list)
    ask: Ask | None = None
    route: list[Route] = Field(default_factory=list)
    next: str | None = None
    tags: list[str] = Field(default_factory=list, description="set when the step is reached")
    clears_tags: list[str] = Field(default_factory=list, description="removed when the step is reached")
    action: str | None = Field(default=None, description="an action the bot runs when the step is reached")
    #: Self-care advice: a runner with the safety flag gets the doctor step instead (steps with a video are
    #: self-care whatever this says).
    care: bool = False

    @model_validator(mode="after")
    def _one_way_on(self) -> Step:
        ways = sum(bool(x) for x in (self.ask, self.route, self.next))
        if ways > 1:
            raise ValueError("a step has at most one of ask, route, next")
        return self


#: ``command``: do something (book, restart); ``question``: answer a question about the clinic, the open
#: question stays open; ``report``: something the runner tells about themselves (「受診しました」), heard in a
#: sentence unless denied; ``warning``: a sign a doctor should see, heard first, always; ``chat``: a greeting
#: or thanks, only when it is the whole message, the open question stays open.
IntentKind = Literal["command", "question", "report", "warning", "chat"]


class Intent(Hearing):
    """Typed words that mean the same thing at any point of the conversation, and where they lead."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,40}$")
    kind: IntentKind = "command"
    goto: str | None = None
    action: str | None = None
    #: Answers noted when heard (a typed warning sign notes which sign, for the doctor message and staff).
    answers: dict[str, str] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_target(self) -> Intent:
        if (self.goto is None) == (self.action is None):
            raise ValueError(f"intent {self.name!r} needs exactly one of goto, action")
        if not self.words and not self.phrases:
            raise ValueError(f"intent {self.name!r} needs words or phrases")
        if self.kind == "chat" and self.phrases:
            raise ValueError(f"intent {self.name!r}: a chat intent is heard only as a whole message (words)")
        return self


class Safety(_Strict):
    """The flow's safety rule, applied by the engine at every entry point (flows/safety.py).

    A runner with ``flag`` gets ``see_doctor`` instead of any self-care step (``care: true``, or any step that
    sends a video) and is not started on a sale (``sales`` actions); the flag stays until a step with
    ``clears_tags`` lifts it (the runner says a doctor cleared them). A step that sends a video needs the
    answer to ``screen`` in the current check (a restart clears the check's answers); without it the runner
    gets ``screen_first``.
    """

    flag: str = "red_flag"
    screen: str
    see_doctor: str
    screen_first: str
    sales: list[str] = Field(default_factory=list)


class FollowUp(_Strict):
    """A check-in the bot sends by itself, some time after a runner got a tag (e.g. ``video_sent``).

    It is scheduled when ``after_tag`` first appears, waits out quiet hours, and is dropped at send time if
    the runner has any of ``skip_if_tags`` (``booked`` by default: a booked runner is not chased), opted out
    of follow-ups, or blocked the account. ``skip_if_tags: []`` lets it reach booked runners too.
    """

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,30}$")
    after_tag: str = Field(min_length=1)
    delay_days: int = Field(default=0, ge=0, le=90)
    delay_hours: int = Field(default=0, ge=0, le=23 * 90)
    step: str
    skip_if_tags: list[str] = Field(default_factory=lambda: ["booked"])

    @model_validator(mode="after")
    def _some_delay(self) -> FollowUp:
        if self.delay_days == 0 and self.delay_hours == 0:
            raise ValueError(f"follow-up {self.id!r} needs delay_days or delay_hours")
        return self

    @property
    def delay_seconds(self) -> int:
        return self.delay_days * 86_400 + self.delay_hours * 3_600


class Flow(_Strict):
    """A whole flow file."""

    flow: str = Field(pattern=r"^[a-z][a-z0-9_]{0,30}$")
    version: int | str
    title: str
    start: str
    on_follow: str
    on_unblock: str | None = None
    help: str
    stale: str | None = Field(default=None, description="sent when a runner taps an old question")
    unclear: str | None = Field(default=None, description="typed words not understood while a question is open")
    declined: str | None = Field(default=None, description="a request the runner postpones (「予約はまだ大丈夫」)")
    on_sticker: str | None = None
    on_media: str | None = Field(default=None, description="a photo, video, voice message or file")
    reset_text: str = "内容を新しくしました。\nお手数ですが、もう一度はじめからお答えください。"
    safety: Safety | None = None
    videos: dict[str, Video] = Field(default_factory=dict)
    #: Spelling variants read as one (``{やり直: [やりなお]}``): applied to what is typed and to every word.
    spellings: dict[str, list[str]] = Field(default_factory=dict)
    intents: list[Intent] = Field(default_factory=list)
    steps: dict[str, Step]
    follow_ups: list[FollowUp] = Field(default_factory=list)

    @property
    def keywords(self) -> list[Intent]:
        """The intents under their old name (readers written before intents)."""
        return self.intents
