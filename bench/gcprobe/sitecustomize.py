"""Loaded by the tail probe (``python -m bench.tailprobe``) into the processes it starts, via PYTHONPATH.

Records every CPython garbage collection that takes 5 ms or more (generation, pause, objects collected) to
``$BENCH_GC_LOG`` as tab-separated lines, so a latency tail can be matched to GC pauses. Nothing else.
"""

from __future__ import annotations

import gc
import os
import time

_path = os.environ.get("BENCH_GC_LOG")
if _path:
    _out = open(f"{_path}.{os.getpid()}", "a", buffering=1, encoding="utf-8")  # noqa: SIM115
    _began = [0.0]

    def _record(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            _began[0] = time.perf_counter()
            return
        ms = (time.perf_counter() - _began[0]) * 1000
        if ms >= 5.0:
            survivors = len(gc.get_objects(2)) if info.get("generation") == 2 else 0  # the heap it walked
            _out.write(f"{time.time():.3f}\t{info.get('generation')}\t{ms:.1f}\t{info.get('collected')}\t"
                       f"{survivors}\t{gc.get_freeze_count()}\n")

    gc.callbacks.append(_record)
