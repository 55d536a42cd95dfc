"""Load generators: ``wrk`` (C, closed loop, for the most events/s) and an open-loop async generator in
Python (a fixed rate, for latency at a given load — a closed loop hides queueing, see "coordinated omission").
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench.mix import Schedule

HERE = Path(__file__).resolve().parent


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def write_bodies(path: Path, schedule: Schedule, salt: str) -> int:
    """Pre-sign every body of ``schedule`` (token send time unknown: 0) into a wrk input file."""
    with path.open("w", encoding="utf-8") as out:
        for i in range(len(schedule)):
            raw, signature, _event_id, _token = schedule.signed(i, salt)
            out.write(signature + "\t" + raw.decode() + "\n")
    return len(schedule)


@dataclass
class WrkResult:
    command: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    errors: int
    wraps: int


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    return float(match.group(1)) * _UNITS[match.group(2)] if match else float("nan")


def wrk(url: str, bodies: Path, *, seconds: int, connections: int, threads: int = 1) -> WrkResult:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk)")
    args = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency",
            "-s", str(HERE / "signed_bodies.lua"), f"{url}/callback", "--", str(bodies), str(threads)]
    out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    lat = dict(re.findall(r"^\s+(\d+)%\s+(\S+)$", out, re.M))
    total = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    requests = int(total.group(1)) if total else 0
    secs = _ms(total.group(2) + total.group(3)) / 1000 if total else float(seconds)
    non2 = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    wraps = re.search(r"WRAPS (\d+)", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return WrkResult(
        command=" ".join([*args[:-4], f"{url}/callback", "--", bodies.name, str(threads)]),
        requests=requests, seconds=secs, rps=float(rps.group(1)) if rps else 0.0,
        p50_ms=_ms(lat.get("50", "nan")), p99_ms=_ms(lat.get("99", "nan")),
        non_2xx=int(non2.group(1)) if non2 else 0,
        errors=sum(int(x) for x in errs.groups()) if errs else 0, wraps=int(wraps.group(1)) if wraps else 0,
    )


@dataclass
class OpenLoopResult:
    sent: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    acked_ids: list[str] = field(default_factory=list)
    acked_tokens: list[str] = field(default_factory=list)
    seconds: float = 0.0
    late_ms_p99: float = 0.0  # how far behind schedule the generator itself fell (its own overload)

    @property
    def acked(self) -> int:
        return self.statuses.get(200, 0)


async def open_loop(url: str, schedule: Schedule, *, rate: float, salt: str, start: int = 0,
                    count: int | None = None, max_seconds: float = 120.0, timeout_s: float = 10.0,
                    stop: asyncio.Event | None = None) -> OpenLoopResult:
    """Send items ``start..start+count`` of ``schedule`` at ``rate``/s (open loop), bounded in count and time.

    A connection refused (app killed) counts as status 0: sent but not acknowledged.
    """
    end = len(schedule) if count is None else min(len(schedule), start + count)
    result = OpenLoopResult()
    late: list[float] = []
    connector = aiohttp.TCPConnector(limit=256)
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(i: int) -> None:
            sent_ns = time.time_ns()
            raw, signature, event_id, token = schedule.signed(i, salt, sent_ns)
            began = time.perf_counter()
            status = 0
            try:
                async with session.post(f"{url}/callback", data=raw, headers={
                        "X-Line-Signature": signature, "Content-Type": "application/json"}) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError, OSError):
                status = 0
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if status == 200:
                result.latencies_ms.append((time.perf_counter() - began) * 1000)
                result.acked_ids.append(event_id)
                result.acked_tokens.append(token)

        tasks: list[asyncio.Task[None]] = []
        t0 = time.perf_counter()
        for n, i in enumerate(range(start, end)):
            if stop is not None and stop.is_set():
                break
            due = t0 + n / rate
            now = time.perf_counter()
            if due > now:
                await asyncio.sleep(due - now)
            else:
                late.append((now - due) * 1000)
            if now - t0 > max_seconds:
                break
            tasks.append(asyncio.create_task(one(i)))
            result.sent += 1
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s + 5)
        result.seconds = time.perf_counter() - t0
    result.late_ms_p99 = percentile(late, 99) if late else 0.0
    return result
