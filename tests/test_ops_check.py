"""Before deploying: `python -m bot check` says what is wrong in plain words, and production refuses to
start without its secrets."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from bot.app import create_app
from bot.config.settings import ROOT, Settings
from tests.harness import SECRET, TOKEN

STRONG_ADMIN = "x7Qp2LmN9vR4sT8wY1zA6bC3dE5fG0hJ"


def run_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "CLINIC_CONFIG": str(ROOT / "clinic.yaml")}
    return subprocess.run([sys.executable, "-m", "bot", "check"], env={**base, **env}, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def production(redis_url: str, **extra: str) -> dict[str, str]:
    return {"ENVIRONMENT": "production", "LINE_CHANNEL_SECRET": SECRET, "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
            "REDIS_URL": redis_url, "ADMIN_TOKEN": STRONG_ADMIN, **extra}


def test_a_complete_production_configuration_passes(redis_url: str) -> None:
    done = run_check(production(redis_url))
    assert done.returncode == 0, done.stdout
    assert "OK: settings, clinic file and flows are valid." in done.stdout


def test_missing_production_secrets_are_named(redis_url: str) -> None:
    done = run_check({"ENVIRONMENT": "production", "REDIS_URL": redis_url})
    assert done.returncode == 1
    for name in ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN", "ADMIN_TOKEN"):
        assert f"error: {name} is not set (required in production)" in done.stdout


def test_a_short_admin_token_is_refused_in_production_without_printing_it(redis_url: str) -> None:
    done = run_check(production(redis_url, ADMIN_TOKEN="admin123"))
    assert done.returncode == 1
    assert "ADMIN_TOKEN is too weak" in done.stdout
    assert "admin123" not in done.stdout and SECRET not in done.stdout and TOKEN not in done.stdout


def test_an_unreachable_redis_is_reported_without_its_password() -> None:
    port = closed_port()
    done = run_check({"REDIS_URL": f"redis://:hunter2secret@127.0.0.1:{port}/0"})
    assert done.returncode == 1
    assert f"REDIS_URL: Redis at 127.0.0.1:{port} does not answer" in done.stdout
    assert "hunter2secret" not in done.stdout


def test_production_refuses_plain_http_to_line(redis_url: str) -> None:
    done = run_check(production(redis_url, LINE_API_BASE_URL="http://127.0.0.1:9"))
    assert done.returncode == 1
    assert "LINE_API_BASE_URL is not https" in done.stdout


@pytest.mark.parametrize("missing", ["line_channel_secret", "line_channel_access_token", "redis_url",
                                     "admin_token"])
def test_the_app_refuses_to_start_in_production_without_each_secret(redis_url: str, missing: str) -> None:
    values: dict[str, object] = dict(environment="production", line_channel_secret=SECRET,
                                     line_channel_access_token=TOKEN, redis_url=redis_url,
                                     admin_token=STRONG_ADMIN)
    values[missing] = None
    with pytest.raises(RuntimeError, match=missing.upper()):
        create_app(Settings(**values))  # type: ignore[arg-type]
