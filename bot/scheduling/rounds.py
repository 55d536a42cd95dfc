"""Background work done in rounds until the process stops: the scheduler, broadcasts, rich-menu links.

One loop for all of them, so each shares the same rules: a round that fails (Redis or LINE away) is logged
by the kind of error only — never its message, which may quote a runner — and the next round comes after the
interval anyway; stopping interrupts the wait at once rather than after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Wait ``seconds``, or less when ``stop`` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def run_rounds(stop: asyncio.Event, one_round: Callable[[], Awaitable[object]], *, interval_s: float,
                     what: str) -> None:
    """Call ``one_round`` every ``interval_s`` until ``stop`` is set; ``what`` names it in the log."""
    while not stop.is_set():
        try:
            await one_round()
        except Exception as exc:
            log.warning("%s round failed", what, extra={"error": type(exc).__name__})
        await pause(stop, interval_s)
