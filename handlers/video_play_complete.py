"""``videoPlayComplete``: a runner watched a LINE video message to the end (its ``trackingId``)."""

from __future__ import annotations

from bot.webhook.events import Event
from flows.context import Conversation


async def handle(event: Event, conv: Conversation) -> None:
    played = event.raw.get("videoPlayComplete")
    tracking = str(played.get("trackingId", "")) if isinstance(played, dict) else ""
    conv.state.add_tags(["watched_video"] + ([f"watched:{tracking}"] if tracking else []))
