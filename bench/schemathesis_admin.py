"""schemathesis against the staff API (``/admin/api/*``), over the app's own ``/openapi.json``.

``bench/schemathesis_run.sh`` (or ``python -m bench.schemathesis_admin``) starts a throwaway redis-server, the LINE
stand-in and ``bot.app:app`` on 127.0.0.1 (bench/procs.py), then runs the schemathesis CLI twice:

1. with ``Authorization: Bearer <ADMIN_TOKEN>``: every check schemathesis has (no server error, status codes,
   content types, response schemas and headers, positive/negative data, unsupported methods, auth ignored…), with
   ``bench/schemathesis.toml`` (one documented exception);
2. without the token: every answer must be 401 (or 405 for a method the route lacks) and none a 5xx.

schemathesis lives in its own virtualenv (default ``/tmp/venv-st``, ``ST_VENV`` to change it): it needs newer
hypothesis than the project pins. The app runs under this interpreter, the project's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "schemathesis.toml"
ADMIN_TOKEN = "bench-admin"  # what bench.procs.app_env gives the app


def schemathesis_bin() -> Path | None:
    path = Path(os.environ.get("ST_VENV", "/tmp/venv-st")) / "bin" / "schemathesis"
    return path if path.exists() else None


def command(url: str, *, token: str | None, max_examples: int, har: Path) -> list[str]:
    exe = schemathesis_bin()
    assert exe is not None
    args = [str(exe), "--no-color", "--config-file", str(CONFIG), "run", f"{url}/openapi.json",
            "--include-path-regex", "^/admin/api/", "--max-examples", str(max_examples), "--seed", "1",
            "--workers", "1", "--request-timeout", "10", "--report", "har", "--report-har-path", str(har)]
    if token is not None:
        args += ["-H", f"Authorization: Bearer {token}"]
    else:
        # Without the token only the answers' codes matter (checked from the HAR below); a 5xx still fails.
        args += ["--checks", "not_a_server_error"]
    return args


def _statuses(har: Path) -> Counter[int]:
    data: dict[str, Any] = json.loads(har.read_text(encoding="utf-8"))
    return Counter(int(entry["response"]["status"]) for entry in data["log"]["entries"])


def run(url: str, *, token: str = ADMIN_TOKEN, max_examples: int = 200,
        workdir: Path | None = None) -> dict[str, Any]:
    """Both runs against an app already listening at ``url``; a summary (and the CLI's output files)."""
    if schemathesis_bin() is None:
        return {"error": "schemathesis not installed (run bench/schemathesis_run.sh, or set ST_VENV)"}
    workdir = workdir or Path(tempfile.mkdtemp(prefix="bench-schemathesis-"))
    spec = httpx.get(f"{url}/openapi.json", timeout=10).json()
    operations = sorted(f"{method.upper()} {path}" for path, item in spec.get("paths", {}).items()
                        if path.startswith("/admin/api/") for method in item)
    summary: dict[str, Any] = {"operations": operations, "workdir": str(workdir)}
    for name, given in (("with_token", token), ("without_token", None)):
        har = workdir / f"{name}.har"
        args = command(url, token=given, max_examples=max_examples, har=har)
        out = subprocess.run(args, capture_output=True, text=True, timeout=1800, cwd=workdir)
        (workdir / f"{name}.txt").write_text(out.stdout + out.stderr, encoding="utf-8")
        statuses = _statuses(har) if har.exists() else Counter()
        tail = [line for line in out.stdout.splitlines() if "generated" in line or (" in " in line and "===" in line)]
        summary[name] = {"exit": out.returncode, "requests": sum(statuses.values()),
                         "statuses": dict(sorted(statuses.items())), "summary": " / ".join(tail[-2:]).strip(),
                         "command": " ".join(a if " " not in a else repr(a) for a in args)}
    unauth = summary["without_token"]["statuses"]
    summary["without_token"]["only_401_405"] = set(unauth) <= {401, 405}
    summary["ok"] = (summary["with_token"]["exit"] == 0 and summary["without_token"]["exit"] == 0
                     and summary["without_token"]["only_401_405"])
    return summary


def main(argv: list[str] | None = None) -> int:
    from bench.procs import App, RedisServer, Standin, app_env, running

    parser = argparse.ArgumentParser(prog="python -m bench.schemathesis_admin", description=__doc__)
    parser.add_argument("--max-examples", type=int, default=200, help="per operation and phase")
    args = parser.parse_args(argv)
    logdir = Path(tempfile.mkdtemp(prefix="bench-logs-"))
    redis = RedisServer(logdir)
    standin = Standin(logdir)
    app = App("bot.app:app", app_env(standin, redis.url), logdir, name="bot-schemathesis")
    with running(redis, standin, app):
        summary = run(app.url, max_examples=args.max_examples, workdir=logdir)
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    print(f"process logs and schemathesis output: {logdir}", file=sys.stderr)
    return 0 if summary.get("ok") else 1


if __name__ == "__main__":
    raise SystemExit(main())
