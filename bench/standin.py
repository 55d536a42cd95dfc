"""The LINE stand-in as the benchmarks run it: ``python -m bench.standin --port N``.

Why a bench flavour of ``bot.local.line_standin``: the load generator cannot ask the stand-in for one reply token
per event over HTTP (that would be a second load on the same two cores), and the stand-in's own records are
capped at 10,000 entries. So here a reply token is *self-describing* — ``b.<userId>.<sent_ns>.<n>`` — and is
still single-use, and every delivery is counted without a cap: which tokens were consumed and which push
retry keys were accepted (the identity of each answered event), and webhook-sent → delivered latency taken
from the ``sent_ns`` in the token. Everything else (faults, 409 on a reused retry key) is the real stand-in.
"""

from __future__ import annotations

import argparse
import threading
import time
from typing import Any

import uvicorn
from fastapi import FastAPI

from bot.local.line_standin import LineApiError, StandinState, create_standin_app
from bot.ops import heap

INVALID_REPLY_TOKEN = "Invalid reply token"


class BenchState(StandinState):
    """Self-describing reply tokens and uncapped delivery accounting."""

    def __init__(self, **kwargs: Any) -> None:
        self._bench_lock = threading.Lock()
        self.used_tokens: set[str] = set()
        self.push_keys: dict[str, int] = {}
        self.e2e_ms: list[float] = []
        self.e2e_step: list[int] = []  # the event's place in its runner's script (the token's last part)
        self.sends_by_user: dict[str, int] = {}
        super().__init__(**kwargs)

    def bench_reset(self) -> None:
        with self._bench_lock:
            self.used_tokens.clear()
            self.push_keys.clear()
            self.e2e_ms.clear()
            self.e2e_step.clear()
            self.sends_by_user.clear()
        self.reset()

    def consume_reply_token(self, token: str) -> str:
        if not token.startswith("b."):
            return super().consume_reply_token(token)
        parts = token.split(".")
        if len(parts) != 4:
            raise LineApiError(400, INVALID_REPLY_TOKEN)
        with self._bench_lock:
            if token in self.used_tokens:
                raise LineApiError(400, INVALID_REPLY_TOKEN)
            self.used_tokens.add(token)
            sent_ns = int(parts[2]) if parts[2].isdigit() else 0
            if sent_ns:
                self.e2e_ms.append((time.time_ns() - sent_ns) / 1e6)
                self.e2e_step.append(int(parts[3]) if parts[3].isdigit() else -1)
            self.sends_by_user[parts[1]] = self.sends_by_user.get(parts[1], 0) + 1
        return parts[1]

    def accept_retry_key(self, key: str, request_id: str, response: dict[str, Any]) -> None:
        super().accept_retry_key(key, request_id, response)
        with self._bench_lock:
            self.push_keys[key] = self.push_keys.get(key, 0) + 1

    def stats(self, with_keys: bool) -> dict[str, Any]:
        with self._bench_lock:
            out: dict[str, Any] = {
                "replies": len(self.used_tokens), "pushes": sum(self.push_keys.values()),
                "e2e_ms": list(self.e2e_ms), "e2e_step": list(self.e2e_step),
            }
            if with_keys:
                out["tokens"] = sorted(self.used_tokens)
                out["push_keys"] = dict(self.push_keys)
        return out


def create_bench_standin(state: BenchState | None = None) -> FastAPI:
    state = state or BenchState(validate=False)
    app = create_standin_app(state=state)

    @app.get("/_bench/stats")
    def stats(keys: bool = False) -> dict[str, Any]:
        return state.stats(keys)

    @app.post("/_bench/reset")
    def reset() -> dict[str, str]:
        state.bench_reset()
        return {"status": "reset"}

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.standin")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--validate", action="store_true", help="validate bodies against LINE's OpenAPI (slow)")
    args = parser.parse_args(argv)
    state = BenchState(validate=args.validate)
    app = create_bench_standin(state)
    # LINE's servers do not pause for a Python garbage collector; this stand-in's full collections (up to
    # 130 ms, bench/tailprobe.py) would otherwise show in every target's end-to-end tail.
    heap.settle()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning",
                access_log=False)


if __name__ == "__main__":
    main()
