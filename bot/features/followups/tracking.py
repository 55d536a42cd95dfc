"""Counting taps on video links: the card links to ``/v/<flow>/<video>?u=<token>``, which counts and forwards.

Why a redirect: a video on YouTube or the clinic's site says nothing back to the bot. The card's link goes
to the bot first; the bot checks the token (an HMAC naming the runner, flow and video, so nobody can tag
someone else), counts the tap, queues an ``x-video_click`` event into that runner's inbox — their tags are
changed by the consumer like every other change, never behind its back — and answers 302 to the video.

A link that fails the check still forwards (a runner must never be stuck on an error page); it is just not
counted. With no public address for the bot (``PUBLIC_URL``, or host and port in local mode) cards keep
the plain video URL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse

from bot.config.settings import Settings
from bot.extension import Parts
from bot.store import keys
from bot.store.keys import PREFIX
from bot.web.parts import parts_of
from bot.webhook.events import Event
from flows.context import Conversation
from flows.loader import FlowSet
from flows.ports import VideoLink
from flows.schema import Video
from handlers.router import Router

CLICK_EVENT = "x-video_click"
WATCHED = "watched_video"
#: Clicks per ``<flow>.<video>`` (one hash in its own slot): the staff funnel reads it.
CLICKS_KEY = f"{PREFIX}:{{video}}:clicks"
#: LINE's limit for a URI action.
MAX_URI = 1000
_SIG_CHARS = 22

router = Router("followups.tracking")


def public_base(settings: Settings) -> str | None:
    """Where runners reach the bot: ``PUBLIC_URL``; in local mode, host and port."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    if settings.local_mode:
        return f"http://{settings.host}:{settings.port}"
    return None


class LinkSigner:
    """Tokens naming a runner for one video; keyed from the channel secret, so only this bot makes them."""

    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode(), b"video-link-v1", hashlib.sha256).digest()

    def _sig(self, user_id: str, flow: str, video: str) -> str:
        mac = hmac.new(self._key, f"{user_id}|{flow}|{video}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")[:_SIG_CHARS]

    def token(self, user_id: str, flow: str, video: str) -> str:
        return f"{user_id}.{self._sig(user_id, flow, video)}"

    def runner(self, token: str, flow: str, video: str) -> str | None:
        """The runner a token names, or ``None`` when it was not made for this video by this bot."""
        user_id, _, sig = token.rpartition(".")
        if not user_id or not hmac.compare_digest(sig, self._sig(user_id, flow, video)):
            return None
        return user_id


def link_factory(flows: FlowSet, signer: LinkSigner, base: str) -> Callable[[str], VideoLink]:
    """What ``Parts.set_video_link`` takes: per runner, a function from a video to its card link."""

    def for_runner(user_id: str) -> VideoLink:
        def link(name: str, video: Video) -> str:
            flow = _flow_of(flows, name, video)
            if flow is None:
                return str(video.url)
            url = f"{base}/v/{quote(flow)}/{quote(name)}?u={quote(signer.token(user_id, flow, name))}"
            return url if len(url) <= MAX_URI else str(video.url)

        return link

    return for_runner


def _flow_of(flows: FlowSet, name: str, video: Video) -> str | None:
    for loaded in flows:
        if loaded.flow.videos.get(name) is video:
            return loaded.flow.flow
    return None


def create_router(signer: LinkSigner) -> APIRouter:
    router = APIRouter()

    @router.get("/v/{flow}/{video}", include_in_schema=False)
    async def open_video(flow: str, video: str, request: Request, u: str = "") -> RedirectResponse:
        parts = parts_of(request)
        loaded = parts.flows.get(flow)
        target = loaded.flow.videos.get(video) if loaded is not None else None
        if target is None:
            raise HTTPException(status_code=404, detail="no such video")
        user_id = signer.runner(u, flow, video) if u else None
        if user_id is not None:
            await record_click(parts, user_id, flow, video, time.time())
        return RedirectResponse(str(target.url), status_code=302)

    return router


async def record_click(parts: Parts, user_id: str, flow: str, video: str, now: float) -> None:
    """Count the tap and queue the tagging for the runner (at most one event a minute per video)."""
    redis = parts.store.redis
    await redis.hincrby(CLICKS_KEY, f"{flow}.{video}", 1)
    if not await redis.exists(keys.state(user_id)):
        return  # not (or no longer) a friend: nothing to tag
    event = {"type": CLICK_EVENT, "timestamp": int(now * 1000), "click": {"flow": flow, "video": video}}
    await parts.queue.enqueue_internal(user_id, f"click:{flow}.{video}:{int(now // 60)}", event, now)


async def clicks(redis: Any) -> dict[str, int]:
    """Taps per ``<flow>.<video>``."""
    raw = await redis.hgetall(CLICKS_KEY)
    return {str(k): int(v) for k, v in raw.items()}


@router.on(CLICK_EVENT)
async def handle_click(event: Event, conv: Conversation) -> None:
    """``x-video_click``: the runner opened a video from a card; tag it, say nothing."""
    conv.silent = True
    click = event.raw.get("click")
    if not conv.state.flow or not isinstance(click, dict):
        return
    conv.state.add_tags([WATCHED, f"clicked:{click.get('flow')}.{click.get('video')}"])
