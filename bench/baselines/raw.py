"""Baseline 3, "raw reply": FastAPI + one aiohttp POST per event, no SDK models — the stack's ceiling for
one reply per event.

``uvicorn bench.baselines.raw:app`` with LINE_CHANNEL_SECRET, LINE_CHANNEL_ACCESS_TOKEN, LINE_API_BASE_URL.
It does what the echo baseline does (check the signature, reply inside the request to every event with a
reply token) with the least code: HMAC-SHA256 by hand, ``json.loads``, and one ``aiohttp`` session with the
bearer token. No store, no durability, no retries: what is left is FastAPI, aiohttp and the JSON.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from fastapi import FastAPI, HTTPException, Request

SECRET = os.environ.get("LINE_CHANNEL_SECRET", "secret").encode()
TOKEN = os.environ.get("LINE_CHANNEL_ACCESS_TOKEN", "token")
BASE = os.environ.get("LINE_API_BASE_URL", "https://api.line.me").rstrip("/")
sessions: dict[str, aiohttp.ClientSession] = {}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    sessions["line"] = aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"})
    try:
        yield
    finally:
        await sessions["line"].close()


app = FastAPI(lifespan=lifespan)


@app.post("/callback")
async def handle_callback(request: Request) -> str:
    body = await request.body()
    expected = base64.b64encode(hmac.new(SECRET, body, hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(expected, request.headers.get("X-Line-Signature", "")):
        raise HTTPException(status_code=400, detail="Invalid signature")
    session = sessions["line"]
    for event in json.loads(body).get("events", []):
        token = event.get("replyToken")
        if not token:
            continue
        message = event.get("message") or {}
        text = message.get("text") if message.get("type") == "text" else "ありがとうございます"
        reply = {"replyToken": token, "messages": [{"type": "text", "text": text}]}
        async with session.post(f"{BASE}/v2/bot/message/reply", json=reply) as response:
            await response.read()
    return "OK"


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
