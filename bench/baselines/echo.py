"""Baseline 2: line-bot-sdk's ``examples/fastapi-echo`` pattern, pointed at the same LINE stand-in.

``uvicorn bench.baselines.echo:app`` with LINE_CHANNEL_SECRET, LINE_CHANNEL_ACCESS_TOKEN, LINE_API_BASE_URL.
As in the example: ``WebhookParser`` verifies and parses, ``AsyncMessagingApi.reply_message`` answers inside
the request, and the ``AsyncApiClient`` is created in the lifespan (aiohttp 3.14 needs a running loop).
One deliberate difference, for a fair comparison: the example answers only text messages; here every event
that carries a reply token gets one reply (the text echoed, or a fixed text), as the bot answers every event.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    Configuration,
    ReplyMessageRequest,
    TextMessage,
)
from linebot.v3.webhook import WebhookParser
from linebot.v3.webhooks import MessageEvent, TextMessageContent

configuration = Configuration(access_token=os.environ.get("LINE_CHANNEL_ACCESS_TOKEN", "token"),
                              host=os.environ.get("LINE_API_BASE_URL", "https://api.line.me"))
parser = WebhookParser(os.environ.get("LINE_CHANNEL_SECRET", "secret"))
clients: dict[str, AsyncMessagingApi] = {}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async_api_client = AsyncApiClient(configuration)
    clients["api"] = AsyncMessagingApi(async_api_client)
    try:
        yield
    finally:
        await async_api_client.close()


app = FastAPI(lifespan=lifespan)


@app.post("/callback")
async def handle_callback(request: Request) -> str:
    signature = request.headers.get("X-Line-Signature", "")
    body = (await request.body()).decode()
    try:
        events = parser.parse(body, signature)
    except InvalidSignatureError:
        raise HTTPException(status_code=400, detail="Invalid signature") from None
    line_bot_api = clients["api"]
    for event in events:
        token = getattr(event, "reply_token", None)
        if not token:
            continue
        if isinstance(event, MessageEvent) and isinstance(event.message, TextMessageContent):
            text = event.message.text
        else:
            text = "ありがとうございます"
        await line_bot_api.reply_message(ReplyMessageRequest(reply_token=token,
                                                             messages=[TextMessage(text=text)]))
    return "OK"


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
