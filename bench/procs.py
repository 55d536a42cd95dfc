"""Processes the benchmarks start and always stop: a throwaway redis-server, the LINE stand-in, the app.

Everything listens on 127.0.0.1 only; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import redis

from bench import mix

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def stop(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
    """Stop one process we started (by its own pid), escalating to SIGKILL."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class RedisServer:
    """A redis-server of our own in a temporary directory (AOF optional), restartable on the same port."""

    def __init__(self, logdir: Path, *, aof: bool = False) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="bench-redis-"))
        self.aof = aof
        self.logdir = logdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
                "--save", "", "--protected-mode", "no"]
        args += ["--appendonly", "yes", "--appendfsync", "everysec"] if self.aof else ["--appendonly", "no"]
        log = open(self.logdir / f"redis-{self.port}.log", "ab")  # noqa: SIM115 (lives as long as the process)
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 20
        while True:
            try:
                if client.ping():
                    break
            except redis.exceptions.RedisError:  # still loading (AOF) or not listening yet
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        client.close()
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        stop(self.proc, sig)
        self.proc = None

    def client(self) -> Any:
        """A decoded client (typed Any: redis-py's sync stubs type every reply as maybe-awaitable)."""
        return redis.Redis(port=self.port, decode_responses=True)


class Standin:
    """``python -m bench.standin`` in its own process (so its CPU is not the app's)."""

    def __init__(self, logdir: Path) -> None:
        self.port = free_port()
        self.logdir = logdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Standin:
        log = open(self.logdir / "standin.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen([PY, "-m", "bench.standin", "--port", str(self.port)], cwd=ROOT,
                                     stdout=log, stderr=subprocess.STDOUT)
        wait_http(f"{self.base_url}/_standin/faults", proc=self.proc)
        return self

    def reset(self) -> None:
        httpx.post(f"{self.base_url}/_bench/reset", timeout=10)
        httpx.delete(f"{self.base_url}/_standin/faults", timeout=10)

    def stats(self, keys: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = httpx.get(f"{self.base_url}/_bench/stats", params={"keys": keys},
                                            timeout=60).json()
        return data

    def fault(self, mode: str, *, status: int = 503, delay: float = 0.0, count: int | None = None,
              paths: tuple[str, ...] = ()) -> None:
        spec: dict[str, object] = {"mode": mode, "status": status, "delay": delay, "paths": list(paths)}
        if count is not None:
            spec["count"] = count
        httpx.post(f"{self.base_url}/_standin/faults", json=spec, timeout=10).raise_for_status()

    def clear_faults(self) -> None:
        httpx.delete(f"{self.base_url}/_standin/faults", timeout=10)

    def stop(self) -> None:
        stop(self.proc)


def app_env(standin: Standin, redis_url: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "REDIS_", "ADMIN_"))}
    env.update(LINE_CHANNEL_SECRET=mix.SECRET, LINE_CHANNEL_ACCESS_TOKEN=mix.TOKEN,
               LINE_API_BASE_URL=standin.base_url, ADMIN_TOKEN="bench-admin", PYTHONPATH=str(ROOT))
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(extra)
    return env


class App:
    """An ASGI app under uvicorn (uvloop + httptools, no access log), like a deployment would run it."""

    def __init__(self, target: str, env: dict[str, str], logdir: Path, *, workers: int = 1,
                 name: str = "app") -> None:
        self.target = target
        self.env = env
        self.workers = workers
        self.port = free_port()
        self.logdir = logdir
        self.name = name
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def command(self) -> str:
        return (f"uvicorn {self.target} --port {self.port} --workers {self.workers} --loop uvloop "
                "--http httptools --no-access-log --log-level warning")

    def start(self) -> App:
        log = open(self.logdir / f"{self.name}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen([PY, "-m", *self.command.split()], cwd=ROOT, env=self.env,
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_http(f"{self.url}/healthz", proc=self.proc, timeout=60)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        stop(self.proc, sig)


class Worker:
    """``python -m bot worker`` (queue consumers in their own process)."""

    def __init__(self, env: dict[str, str], logdir: Path, consumers: int = 2, name: str = "worker") -> None:
        self.env = env
        self.logdir = logdir
        self.consumers = consumers
        self.name = name
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        log = open(self.logdir / f"{self.name}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen([PY, "-m", "bot", "worker", "--consumers", str(self.consumers)], cwd=ROOT,
                                     env=self.env, stdout=log, stderr=subprocess.STDOUT)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        stop(self.proc, sig)


@contextlib.contextmanager
def running(*things: RedisServer | Standin | App | Worker) -> Iterator[None]:
    """Start in order, stop in reverse, whatever happens."""
    started: list[RedisServer | Standin | App | Worker] = []
    try:
        for thing in things:
            thing.start()
            started.append(thing)
        yield
    finally:
        for thing in reversed(started):
            thing.stop()
