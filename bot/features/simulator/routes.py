"""The chat simulator's HTTP side: the page, simulated runners, and every runner action as a real webhook.

Why it never calls the engine: a simulator that bypassed the signature, the queue or the consumer would show
a bot that is not the one LINE talks to. Each action issues a reply token from the in-app LINE stand-in,
builds a LINE-shaped event, signs it with the channel secret and posts it to the app's own ``/callback``
(in-process over ASGI, so it works whatever port uvicorn listens on). What the bot answers arrives at the
stand-in exactly as LINE would receive it; the page long-polls ``/simulator/api/updates`` to draw it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from bot.features.simulator.richmenu import menu_for
from bot.features.simulator.state import SimulatorState
from bot.features.simulator.webhooks import Kind, build_event, envelope, sign
from bot.web.parts import parts_of

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
MAX_WAIT_S = 25.0
USER_ID_PATTERN = r"^U[0-9a-f]{32}$"
#: The page may load and call only this app: no CDN, no outside image, nothing leaves the machine.
PAGE_CSP = ("default-src 'self'; img-src 'self' data:; connect-src 'self'; style-src 'self'; "
            "script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")

router = APIRouter(prefix="/simulator", include_in_schema=False)


class NewUser(BaseModel):
    displayName: str | None = Field(default=None, min_length=1, max_length=20)


class SendRequest(BaseModel):
    """One runner action: follow, unblock, unfollow (block), a typed text, or a tap (postback)."""

    userId: str = Field(pattern=USER_ID_PATTERN)
    kind: Kind
    text: str | None = Field(default=None, min_length=1, max_length=5000)
    data: str | None = Field(default=None, min_length=1, max_length=300)
    params: dict[str, str] | None = None
    displayText: str | None = Field(default=None, max_length=300)


class RunJob(BaseModel):
    userId: str = Field(pattern=USER_ID_PATTERN)
    jobId: str = Field(min_length=1)


def simulator_of(request: Request) -> SimulatorState:
    """The simulator the app made when it mounted these routes (local mode only, so always there)."""
    simulator: SimulatorState = request.app.state.simulator
    return simulator


@cache
def _page() -> str:
    """The page, read on first use and kept: it is a static file."""
    return (HERE / "templates" / "simulator.html").read_text(encoding="utf-8")


@router.get("", response_class=HTMLResponse)
async def simulator_page() -> HTMLResponse:
    return HTMLResponse(_page(), headers={"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-store"})


@router.get("/api/config")
async def config(request: Request) -> dict[str, Any]:
    return {"accountName": parts_of(request).clinic.name}


@router.get("/api/users")
async def list_users(request: Request) -> dict[str, Any]:
    return {"users": [{"userId": u, "displayName": n} for u, n in list(simulator_of(request).users.items())]}


@router.post("/api/users")
async def add_user(spec: NewUser, request: Request) -> dict[str, str]:
    added = simulator_of(request).add_user(spec.displayName)
    log.info("simulator: runner added", extra={"runners": len(simulator_of(request).users)})
    return added


@router.get("/api/richmenu")
async def rich_menu(request: Request, user_id: Annotated[str | None, Query(
        alias="userId", pattern=USER_ID_PATTERN)] = None) -> dict[str, Any]:
    """The rich menu this runner sees (linked to them, else the default, else the unpublished definition)."""
    return {"menu": menu_for(simulator_of(request).standin, user_id)}


@router.post("/api/send")
async def send(spec: SendRequest, request: Request) -> dict[str, Any]:
    if spec.kind == "message" and not spec.text:
        raise HTTPException(422, "a message needs text")
    if spec.kind == "postback" and not spec.data:
        raise HTTPException(422, "a postback needs data")
    sim = simulator_of(request)
    sim.ensure_user(spec.userId)
    # LINE gives no reply token with unfollow: there is no one to answer.
    token = None if spec.kind == "unfollow" else sim.standin.issue_reply_token(spec.userId)
    event = build_event(spec.kind, spec.userId, token, text=spec.text, data=spec.data, params=spec.params)
    body = envelope([event])
    display = spec.displayText if spec.kind == "postback" else None
    entry = sim.record(spec.userId, _json(body), display, time.time())
    started = time.perf_counter()
    status = entry.status = await _post_callback(request.app, body, sign(body, sim.channel_secret))
    # One line per action, without what was typed or tapped (a runner's words never reach the logs).
    log.info("simulator: %s sent to /callback", spec.kind, extra={
        "kind": spec.kind, "webhook_event_id": event["webhookEventId"], "status": status,
        "ms": round((time.perf_counter() - started) * 1000, 1)})
    if status != 200:
        raise HTTPException(502, f"/callback answered {status}")
    return {"status": status, "webhook": entry.to_json()}


@router.get("/api/updates")
async def updates(request: Request, after: Annotated[int, Query(ge=0)] = 0,
                  hooks: Annotated[int, Query(ge=0)] = 0, wait: Annotated[float, Query(ge=0)] = 0.0
                  ) -> dict[str, Any]:
    """Everything new since the page's cursors; with ``wait``, long-poll until something is."""
    sim = simulator_of(request)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + min(wait, MAX_WAIT_S)
    while sim.standin.last_seq <= after and sim.webhook_count <= hooks and loop.time() < deadline:
        await asyncio.sleep(0.05)
    return {
        "events": [e.to_json() for e in sim.standin.events_after(after)],
        "requests": [r.to_json() for r in sim.standin.requests if r.seq > after],
        "webhooks": [w.to_json() for w in sim.webhooks_from(hooks)],
        "lastSeq": sim.standin.last_seq,
        "hookCount": sim.webhook_count,
    }


@router.get("/api/jobs")
async def jobs(request: Request, user_id: Annotated[str, Query(alias="userId",
                                                               pattern=USER_ID_PATTERN)]) -> dict[str, Any]:
    """Scheduled sends (check-ins, reminders) waiting for this runner."""
    found = await parts_of(request).scheduler.jobs_for(user_id)
    return {"jobs": [{"id": j.id, "kind": j.kind, "due": j.due} for j in found]}


@router.post("/api/jobs/run")
async def run_job(spec: RunJob, request: Request) -> dict[str, Any]:
    """Make one scheduled send due now, so a developer need not wait days (or past the quiet hours).

    It still goes the production way: the scheduler queues it, a consumer handles it, LINE gets a push.
    """
    scheduler = parts_of(request).scheduler
    job = next((j for j in await scheduler.jobs_for(spec.userId) if j.id == spec.jobId), None)
    if job is None:
        raise HTTPException(404, "no such scheduled send")
    job.due = time.time()
    job.quiet_hours = False
    await scheduler.schedule(job)
    queued = await scheduler.run_due()
    log.info("simulator: scheduled send made due now", extra={"job_kind": job.kind, "queued": queued})
    return {"queued": queued}


async def _post_callback(app: FastAPI, body: bytes, signature: str) -> int:
    """POST the signed body to this very app's ``/callback``, the way LINE's servers would."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        response = await client.post("/callback", content=body, headers={
            "Content-Type": "application/json; charset=utf-8", "X-Line-Signature": signature,
            "User-Agent": "LineBotWebhook/2.0"})
    return response.status_code


def _json(body: bytes) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(body)
    return parsed

