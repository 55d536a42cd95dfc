"""Driving the bot the way LINE and a runner do: signed webhooks in, messages out at the LINE stand-in.

``Runner`` reads what the bot sent and taps choices *by their label*, as a person would.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from bench.mix import ulid
from bot.app import create_app
from bot.config.settings import Settings
from bot.plugins import FEATURES
from bot.runtime import Runtime, action_registries
from tests.standin_server import StandinServer

SECRET = "test-channel-secret-0123456789abcdef"
TOKEN = "test-channel-access-token"
ADMIN = "test-admin-token"
#: An admin token production accepts (it refuses weak secrets at start-up).
STRONG_ADMIN = "x7Qp2LmN9vR4sT8wY1zA6bC3dE5fG0hJ"
#: Every action a flow may name: the core's and every feature's.
ALL_ACTIONS = action_registries(FEATURES)


def redis_url_of(proc: Any) -> str:
    return f"redis://{proc.host}:{proc.port}/0"


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def make_settings(redis_url: str | None, line: StandinServer, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        line_channel_secret=SECRET, line_channel_access_token=TOKEN, line_api_base_url=line.base_url,
        redis_url=redis_url, admin_token=ADMIN, log_json=True, line_api_max_attempts=3,
        reclaim_idle_ms=1500,
    )
    values.update(overrides)
    return Settings(**values)


def event(user_id: str, kind: str, reply_token: str | None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": kind, "mode": "active", "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": ulid(),  # LINE's format: the webhook drops events whose id is not a ULID
        "deliveryContext": {"isRedelivery": False},
    }
    if reply_token:
        body["replyToken"] = reply_token
    body.update(fields)
    return body


class BotHarness:
    def __init__(self, app: FastAPI, client: httpx.AsyncClient, line: StandinServer) -> None:
        self.app = app
        self.client = client
        self.line = line

    @classmethod
    @asynccontextmanager
    async def running(cls, *, redis_url: str | None, line: StandinServer,
                      **overrides: Any) -> AsyncIterator[BotHarness]:
        app = create_app(make_settings(redis_url, line, **overrides))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
                yield cls(app, client, line)

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime

    async def post_events(self, events: list[dict[str, Any]], *, secret: str = SECRET) -> httpx.Response:
        body = json.dumps({"destination": "Ubot", "events": events}, ensure_ascii=False).encode()
        return await self.client.post("/callback", content=body,
                                      headers={"X-Line-Signature": sign(body, secret),
                                               "Content-Type": "application/json"})

    def runner(self, user_id: str | None = None) -> Runner:
        return Runner(self, user_id or "U" + uuid.uuid4().hex)


class Runner:
    """A runner on a phone: follows, types, taps what they read."""

    def __init__(self, bot: BotHarness, user_id: str) -> None:
        self.bot = bot
        self.user_id = user_id

    @property
    def received(self) -> list[dict[str, Any]]:
        return [m.message for m in self.bot.line.messages_for(self.user_id)]

    async def follow(self, *, unblocked: bool = False) -> list[dict[str, Any]]:
        return await self._act("follow", follow={"isUnblocked": unblocked})

    async def unfollow(self) -> None:
        await self.bot.post_events([event(self.user_id, "unfollow", None)])

    async def say(self, text: str) -> list[dict[str, Any]]:
        return await self._act("message", message={"id": uuid.uuid4().hex[:12], "type": "text",
                                                   "text": text, "quoteToken": "q"})

    async def tap(self, label: str) -> list[dict[str, Any]]:
        action = self.find_action(label)
        assert action["type"] == "postback", f"{label!r} is a link, not a postback"
        return await self.tap_data(action["data"])

    async def tap_data(self, data: str, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
        postback: dict[str, Any] = {"data": data}
        if params:
            postback["params"] = params
        return await self._act("postback", postback=postback)

    def find_action(self, label: str) -> dict[str, Any]:
        """The newest quick reply or button with this label, as a person would find it on screen."""
        for message in reversed(self.received):
            for action in actions_in(message):
                if action.get("label") == label:
                    return action
        raise AssertionError(f"no choice labelled {label!r}; visible: {self.visible_labels()}")

    def visible_labels(self) -> list[str]:
        labels: list[str] = []
        for message in self.received[-5:]:
            labels += [a.get("label", "") for a in actions_in(message)]
        return labels

    def texts(self, messages: list[dict[str, Any]] | None = None) -> str:
        """Everything readable in these messages (all received when omitted), joined."""
        return "\n".join(readable_text(m) for m in (self.received if messages is None else messages))

    async def _act(self, kind: str, **fields: Any) -> list[dict[str, Any]]:
        before = len(self.received)
        token = self.bot.line.issue_reply_token(self.user_id)
        response = await self.bot.post_events([event(self.user_id, kind, token, **fields)])
        assert response.status_code == 200, response.text
        return await self.wait_for_messages(before)

    async def wait_for_messages(self, before: int, *, timeout: float = 5.0, settle: float = 0.05
                                ) -> list[dict[str, Any]]:
        """Wait until the bot's answer has arrived (and nothing more comes right after)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) > before:
                count = len(self.received)
                await asyncio.sleep(settle)
                if len(self.received) == count:
                    return self.received[before:]
            await asyncio.sleep(0.01)
        return self.received[before:]


async def walk_to_result(runner: Runner, side: str, timing: str = "走った後") -> list[dict[str, object]]:
    """Follow and finish the check on ``side`` with no red flag; returns the result messages."""
    await runner.follow()
    await runner.tap("1分チェックを始める")
    await runner.tap(side)
    await runner.tap("張り")
    await runner.tap("どれも当てはまらない")
    return await runner.tap(timing)


def video_links(messages: list[dict[str, object]]) -> list[str]:
    return [a["uri"] for m in messages for a in actions_in(m) if a.get("type") == "uri"]


def actions_in(message: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for item in (message.get("quickReply") or {}).get("items", []):
        yield item["action"]
    yield from _walk_actions(message.get("contents") or message.get("template") or {})


def _walk_actions(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if node.get("type") == "button" and "action" in node:
            yield node["action"]
        for key, value in node.items():
            if key != "action":
                yield from _walk_actions(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk_actions(item)


def readable_text(node: Any) -> str:
    if isinstance(node, dict):
        parts = [str(node["text"])] if isinstance(node.get("text"), str) else []
        parts += [readable_text(v) for k, v in node.items() if k not in {"text", "quickReply"}]
        return "\n".join(p for p in parts if p)
    if isinstance(node, list):
        return "\n".join(readable_text(v) for v in node)
    return ""
