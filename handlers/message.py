"""``message``: typed text drives the conversation; a sticker or a photo gets a short human answer.

What staff should see goes to the inbox through the conversation: a photo (or video, voice message, file) or
words the bot did not understand ask for a person (``conv.unrecognized``); a sticker is kept for them to read
without asking for anyone (``conv.note_for_staff``).
"""

from __future__ import annotations

from bot.webhook.events import Event
from flows.context import Conversation
from flows.engine import Engine

#: How staff read a message that is not text, in the inbox.
KIND_JA = {"sticker": "スタンプ", "image": "画像", "video": "動画", "audio": "音声", "file": "ファイル",
           "location": "位置情報"}


def described(kind: str) -> str:
    """「(画像)」: a message that is not text, as the inbox shows it."""
    return f"({KIND_JA.get(kind, kind or 'メッセージ')})"


async def handle(event: Event, conv: Conversation) -> None:
    message = event.raw.get("message")
    message = message if isinstance(message, dict) else {}
    engine = conv.deps.need(Engine)
    kind = str(message.get("type", ""))
    if kind == "text":
        text = str(message.get("text", ""))
        await (engine.text(conv, text) if text.strip() else engine.help(conv))
        return
    if kind == "sticker":
        conv.note_for_staff(described(kind), needs_staff=False)
    else:
        conv.unrecognized = described(kind)
    await engine.media(conv, kind)
