"""Group and room events: the assistant is for one-to-one talks; in a group it says so once, when added."""

from __future__ import annotations

from bot.webhook.events import Event
from flows.context import Conversation

GROUP_NOTICE = (
    "ご招待ありがとうございます。\n"
    "このアカウントは、1対1のトークでご利用いただけます。\n"
    "お手数ですが、友だち追加のうえ個別にお話しください。"
)


async def handle_join(event: Event, conv: Conversation) -> None:
    conv.say_text(GROUP_NOTICE)


async def handle_message(event: Event, conv: Conversation) -> None:
    """Group chatter is not for the bot: stay quiet rather than answer every message."""
    conv.silent = True
