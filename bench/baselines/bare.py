"""Baseline 1: a FastAPI endpoint that only answers 200 — the ceiling of this stack on this machine.

``uvicorn bench.baselines.bare:app``; same route as the bot so the same load hits both.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse

app = FastAPI()


@app.post("/callback")
async def callback() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
