"""No request a stranger can send makes the process read more than a small, fixed amount.

Measured on a real uvicorn process: its peak resident memory (``VmHWM``) before and after a chunked 200 MB POST
to the login form (no Content-Length to refuse early, no cookie, no CSRF token — the body is the attack).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.config.settings import ROOT
from tests.harness import ADMIN, SECRET, TOKEN, BotHarness
from tests.standin_server import StandinServer
from tests.test_simulator import free_port

ATTACK_BYTES = 200 * 1024 * 1024
CHUNK = 64 * 1024


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc status")


@pytest.fixture
def served_app(redis_url: str, line: StandinServer) -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "LINE_CHANNEL_SECRET": SECRET,
           "LINE_CHANNEL_ACCESS_TOKEN": TOKEN, "LINE_API_BASE_URL": line.base_url, "REDIS_URL": redis_url,
           "ADMIN_TOKEN": ADMIN, "CLINIC_CONFIG": str(ROOT / "clinic.yaml"), "LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "bot.app:app", "--port", str(port),
                             "--log-level", "warning"], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.communicate()[1][-2000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the app did not start"
            time.sleep(0.2)
        yield proc, port
    finally:
        proc.kill()
        proc.wait(timeout=10)


def send_chunked(port: int, path: str, total: int) -> bytes:
    """POST ``total`` bytes with chunked encoding; keep sending until done or the server stops listening."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
                     "Content-Type: application/x-www-form-urlencoded\r\n\r\n".encode())
        chunk = f"{CHUNK:x}\r\n".encode() + b"a" * CHUNK + b"\r\n"
        sent = 0
        try:
            while sent < total:
                sock.sendall(chunk)
                sent += CHUNK
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed: what it had not read, it never read
        try:
            return sock.recv(4096)
        except ConnectionResetError:
            return b""


def test_a_chunked_200_mb_login_post_does_not_grow_the_process(served_app: tuple[subprocess.Popen[str], int]
                                                               ) -> None:
    proc, port = served_app
    base = f"http://127.0.0.1:{port}"
    for _ in range(3):  # warm up: templates, the login page, a refused form
        httpx.get(f"{base}/admin/login", headers={"Accept": "text/html"})
        httpx.post(f"{base}/admin/login", data={"name": "x", "token": "y"})
    before = peak_rss_kib(proc.pid)
    answer = send_chunked(port, "/admin/login", ATTACK_BYTES)
    grown_mib = (peak_rss_kib(proc.pid) - before) / 1024
    print(f"peak RSS before {before / 1024:.1f} MiB, grown by {grown_mib:.2f} MiB after a chunked 200 MB POST")
    assert answer.startswith(b"HTTP/1.1 413") or answer == b"", answer[:200]
    assert grown_mib < 8, f"the process grew by {grown_mib:.1f} MiB"
    assert httpx.get(f"{base}/healthz").status_code == 200


async def test_the_staff_api_refuses_a_body_past_its_limit_before_parsing_it(bot: BotHarness) -> None:
    huge = b'{"tags": ["x"], "text": "' + b"a" * (300 * 1024) + b'"}'
    auth = {"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"}
    response = await bot.client.post("/admin/api/messages", content=huge, headers=auth)
    assert response.status_code == 413
    stranger = await bot.client.post("/admin/api/messages", content=huge, headers={"Content-Type": "application/json"})
    assert stranger.status_code == 401
    ordinary = await bot.client.post("/admin/api/messages", json={"tags": ["x"], "text": "a", "dry_run": True},
                                     headers={"Authorization": f"Bearer {ADMIN}"})
    assert ordinary.status_code == 200, ordinary.text


async def test_a_form_past_its_limit_is_refused(bot: BotHarness) -> None:
    response = await bot.client.post("/admin/login", content=b"a" * (65 * 1024),
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413
