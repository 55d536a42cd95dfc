"""Request bodies read with a cap that holds while reading, not after.

Why: ``await request.body()`` gathers the whole body before anyone can look at its size, so a chunked 200 MB
POST (no ``Content-Length`` to refuse early) grew the process by hundreds of megabytes before a 413. Here the
declared length is refused first, then the stream is read chunk by chunk and abandoned as soon as it passes the
limit; the server discards whatever the client still sends.
"""

from __future__ import annotations

from fastapi import HTTPException, Request
from starlette.types import Message, Receive

TOO_LARGE = "request body too large"


async def read_capped(request: Request, limit: int) -> bytes:
    """The body, or 413 as soon as it is known to be longer than ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(status_code=413, detail=TOO_LARGE)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(status_code=413, detail=TOO_LARGE)
        chunks.append(chunk)
    return b"".join(chunks)


def replay(body: bytes, then: Receive) -> Receive:
    """An ASGI ``receive`` that hands over ``body`` (already read and checked) as one message, then listens
    to the connection again (``then``), so a disconnect is still seen."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await then()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
