"""The container image's commands, run as the image runs them (no Docker engine here, so no `docker run`).

The Dockerfile's final stage is read: its ENV (paths inside the image mapped to this checkout), its CMD and
its HEALTHCHECK; docker-compose.yml gives the worker's command. Each runs in a subprocess from a directory
holding only what the image's WORKDIR holds, against a real Redis and the LINE stand-in.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from bot.config.settings import ROOT
from tests.harness import SECRET, STRONG_ADMIN, TOKEN
from tests.standin_server import StandinServer

VENV_BIN = str(Path(sys.executable).parent)
#: Production refuses a weak admin token (the test harness's is one).


def final_stage() -> list[str]:
    """The Dockerfile's instructions after its last FROM, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    last_from = max(i for i, ln in enumerate(lines) if ln.upper().startswith("FROM "))
    return lines[last_from:]


def image_env(workdir: Path) -> dict[str, str]:
    """ENV of the final stage, with the image's paths pointed at this machine's equivalents."""
    env: dict[str, str] = {}
    for line in final_stage():
        if line.upper().startswith("ENV "):
            for pair in shlex.split(line[4:]):
                name, _, value = pair.partition("=")
                env[name] = value
    env["PATH"] = env["PATH"].replace("/opt/venv/bin", VENV_BIN).replace("$PATH", "/usr/bin:/bin")
    return {name: value.replace("/app/", f"{workdir}/") for name, value in env.items()}


def image_cmd(port: int) -> list[str]:
    [cmd] = [json.loads(ln[4:]) for ln in final_stage() if ln.upper().startswith("CMD ")]
    assert cmd[cmd.index("--port") + 1] == "8000", "EXPOSE, HEALTHCHECK and CMD must agree on 8000"
    cmd[cmd.index("--port") + 1] = str(port)
    cmd[cmd.index("--host") + 1] = "127.0.0.1"  # the image listens on every interface; a test on loopback
    return list(cmd)


def healthcheck_cmd(port: int) -> str:
    [line] = [ln for ln in final_stage() if ln.upper().startswith("HEALTHCHECK ")]
    return line.split(" CMD ", 1)[1].replace("127.0.0.1:8000", f"127.0.0.1:{port}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """What the image's WORKDIR /app holds: the clinic file, nothing else (the code is installed)."""
    shutil.copy(ROOT / "clinic.yaml", tmp_path / "clinic.yaml")
    return tmp_path


def secrets_env(redis_url: str, line: StandinServer) -> dict[str, str]:
    return {"LINE_CHANNEL_SECRET": SECRET, "LINE_CHANNEL_ACCESS_TOKEN": TOKEN, "ADMIN_TOKEN": STRONG_ADMIN,
            "REDIS_URL": redis_url, "LINE_API_BASE_URL": line.base_url,
            "PYTHONPATH": str(ROOT)}  # stands in for `pip install .` in the build stage


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def wait_until_up(url: str, proc: subprocess.Popen[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the app exited: {proc.communicate()[1][-2000:]}"
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout}s")


def test_the_images_command_serves_healthz_and_readyz_and_passes_its_healthcheck(
        redis_url: str, line: StandinServer, workdir: Path, started: list[subprocess.Popen[str]]) -> None:
    port = free_port()
    env = {**image_env(workdir), **secrets_env(redis_url, line)}
    assert env["ENVIRONMENT"] == "production"
    proc = subprocess.Popen(image_cmd(port), cwd=workdir, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    started.append(proc)
    wait_until_up(f"http://127.0.0.1:{port}/healthz", proc)

    assert httpx.get(f"http://127.0.0.1:{port}/readyz").json() == {"status": "ready"}
    check = subprocess.run(["sh", "-c", healthcheck_cmd(port)], env=env, cwd=workdir, timeout=20)
    assert check.returncode == 0

    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=40)
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status tells the truth.
    assert proc.returncode in (0, -signal.SIGTERM), err[-2000:]
    lines = [json.loads(ln) for ln in err.splitlines() if ln.strip()]  # every line is JSON, uvicorn's too
    assert any(entry["msg"] == "Application shutdown complete." for entry in lines)
    assert SECRET not in err and TOKEN not in err


def test_the_healthcheck_fails_when_nothing_listens(workdir: Path) -> None:
    check = subprocess.run(["sh", "-c", healthcheck_cmd(free_port())], env=image_env(workdir), cwd=workdir,
                           timeout=20, capture_output=True)
    assert check.returncode != 0


def test_the_image_refuses_to_start_without_its_secrets(line: StandinServer, workdir: Path) -> None:
    env = {**image_env(workdir), "PYTHONPATH": str(ROOT), "LINE_API_BASE_URL": line.base_url}
    done = subprocess.run(image_cmd(free_port()), cwd=workdir, env=env, text=True, capture_output=True,
                          timeout=60)
    assert done.returncode != 0
    assert "production needs LINE_CHANNEL_SECRET, LINE_CHANNEL_ACCESS_TOKEN, REDIS_URL, ADMIN_TOKEN" in done.stderr


def test_the_compose_worker_command_starts_and_stops_cleanly_on_sigterm(
        redis_url: str, line: StandinServer, workdir: Path, started: list[subprocess.Popen[str]]) -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command = compose["services"]["worker"]["command"]
    assert compose["services"]["worker"]["image"] == compose["services"]["app"]["image"], "one image, two roles"
    env = {**image_env(workdir), **secrets_env(redis_url, line)}
    env["PATH"] = f"{VENV_BIN}:/usr/bin:/bin"  # `python` in the image is the venv's
    metrics_port = free_port()
    command[command.index("--metrics-port") + 1] = str(metrics_port)
    proc = subprocess.Popen([shutil.which("python", path=env["PATH"]) or "python", *command[1:]], cwd=workdir,
                            env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    started.append(proc)
    assert proc.stderr is not None
    first_lines = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line_ = proc.stderr.readline()
        first_lines.append(line_)
        if "worker started" in line_ or not line_:
            break
    assert any("worker started" in ln for ln in first_lines), "".join(first_lines)[-2000:]
    page = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
    names = {family.name for family in text_string_to_metric_families(page)}
    assert {"bot_line_api_calls", "bot_event_handling_seconds"} <= names

    proc.send_signal(signal.SIGTERM)
    _out, rest = proc.communicate(timeout=40)
    assert proc.returncode == 0, rest[-2000:]
    assert "worker stopped" in rest


def test_redis_in_compose_keeps_an_append_only_file_on_a_volume() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    redis = compose["services"]["redis"]
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command and "--appendfsync everysec" in command
    assert any(v.endswith(":/data") for v in redis["volumes"])
    assert "redis-data" in compose["volumes"]


def test_the_image_runs_as_a_non_root_user_and_copies_only_runtime_files() -> None:
    stage = final_stage()
    users = [ln.split()[1] for ln in stage if ln.upper().startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}
    copies = [ln for ln in stage if ln.upper().startswith("COPY ")]
    assert all("--from=build" in ln or "clinic.yaml" in ln for ln in copies), copies
    assert os.path.exists(ROOT / ".dockerignore")


def test_the_package_the_build_stage_installs_carries_every_data_file(tmp_path: Path) -> None:
    """The image runs the installed package, not the checkout: templates, flows and the API contract must
    be inside the wheel that the build stage's `pip install .` makes from exactly what it COPYs."""
    text = (ROOT / "Dockerfile").read_text()
    build = text.split("\nFROM ", 2)[1]  # the build stage
    src = tmp_path / "src"
    src.mkdir()
    for line in build.splitlines():
        if line.startswith("COPY "):
            *sources, _dest = line.split()[1:]
            for name in sources:
                origin = ROOT / name
                if origin.is_dir():
                    shutil.copytree(origin, src / name, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    (src / name).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(origin, src / name)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "out"),
                           f"{src}/"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    [wheel] = (tmp_path / "out").glob("*.whl")
    packed = set(zipfile.ZipFile(wheel).namelist())
    data_files = {str(p.relative_to(src)) for p in src.rglob("*")
                  if p.is_file() and p.suffix != ".py" and p.parts[len(src.parts)] in {"bot", "flows", "handlers"}}
    assert data_files, "nothing to check"
    assert data_files - packed == set(), "data files the image would lack"
