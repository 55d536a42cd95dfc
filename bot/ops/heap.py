"""Keep CPython's garbage collector from pausing the event loop for a tenth of a second under load.

Why: profiling the webhook at a steady 300 events/s (``python -m bench.tailprobe``) showed full (generation 2)
collections of 90–330 ms in the bot process: each one walks every object the process holds — FastAPI,
pydantic and line-bot-sdk models, the flows, the clinic — although none of them ever becomes garbage. Every
event that arrived or was being answered during a pause waited for it: the end-to-end tail.

:func:`settle` is called once start-up is done: it collects what start-up left behind, then moves every
object still alive into the permanent generation (``gc.freeze``), which later collections skip. It also
raises the first generation's threshold, so the short-lived garbage of each event (dicts, coroutines) is
collected in fewer, equally short passes. Reference counting still frees nearly everything at once; only
reference cycles wait for a collection, as before.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)

#: Allocations (minus deallocations) before a young collection; CPython's default is 700.
GEN0_THRESHOLD = 20_000


def settle() -> None:
    """Freeze the start-up heap out of the collector's reach; call once, after start-up, in each process."""
    gc.collect()
    gc.freeze()
    _gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)
    log.debug("heap settled", extra={"frozen": gc.get_freeze_count()})
