"""``python -m bot``: run the web app, a worker, or check the settings and content files."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from bot.config.settings import Settings, load_settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="The clinic's LINE assistant.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the web app (webhook, staff pages; local mode without LINE)")
    serve.add_argument("--host", default=None, help="address to listen on (default HOST, else 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--i-know-this-is-public", action="store_true", dest="public",
                       help="local mode: listen on a non-loopback address although the simulator, the LINE "
                            "stand-in and the staff pages (token 'local') are then open to that network")
    worker = commands.add_parser("worker", help="run extra consumers and the scheduled sends (needs REDIS_URL)")
    worker.add_argument("--consumers", type=int, default=2)
    worker.add_argument("--metrics-port", type=int, default=None, metavar="PORT",
                        help="serve this worker's Prometheus metrics (LINE calls, handling times) on PORT")
    commands.add_parser("check", help="check settings, flows and the clinic file; print what is wrong")
    richmenu = commands.add_parser("richmenu", help="draw the rich menu and make it the default (idempotent)")
    richmenu.add_argument("--dry-run", nargs="?", const="richmenu.png", default=None, metavar="PATH",
                          help="only write the PNG (default richmenu.png); LINE is not called")
    from bot.web.staff_cli import add_parser as add_staff_parser

    add_staff_parser(commands)
    args = parser.parse_args(argv)

    if args.command == "serve":
        return _serve(args.host, args.port, public=args.public)
    if args.command == "worker":
        from bot.worker import run_worker

        asyncio.run(run_worker(load_settings(), consumers=args.consumers, metrics_port=args.metrics_port))
        return 0
    if args.command == "check":
        from bot.ops.check import run_check

        return run_check(load_settings())
    if args.command == "staff":
        from bot.web.staff_cli import run_staff

        return asyncio.run(run_staff(load_settings(), args))
    if args.command == "richmenu":
        from pathlib import Path

        from bot.ops.richmenu import run_richmenu

        dry_run = Path(args.dry_run) if args.dry_run is not None else None
        return asyncio.run(run_richmenu(load_settings(), dry_run))
    parser.print_help()
    return 0


def _serve(host: str | None, port: int | None, *, public: bool = False) -> int:
    import os

    import uvicorn

    settings = load_settings()
    # The app builds its own URLs (local mode's LINE stand-in) from HOST/PORT, so keep them in step.
    os.environ["HOST"] = host or settings.host
    os.environ["PORT"] = str(port or settings.port)
    if settings.local_mode:
        from bot.local.mount import is_loopback

        if not is_loopback(os.environ["HOST"]) and not public:
            print(f"Refusing to listen on {os.environ['HOST']}: local mode has no LINE channel, so the simulator, "
                  "the LINE stand-in and the staff pages (token 'local') would be open to that network.\n"
                  "Use --host 127.0.0.1, or add --i-know-this-is-public.", file=sys.stderr, flush=True)
            return 2
        _print_local_addresses(settings.model_copy(update={"host": os.environ["HOST"],
                                                            "port": int(os.environ["PORT"])}))
    uvicorn.run("bot.app:app", host=os.environ["HOST"], port=int(os.environ["PORT"]),
                proxy_headers=True, forwarded_allow_ips=settings.forwarded_allow_ips, log_level="warning")
    return 0


def _print_local_addresses(settings: Settings) -> None:
    """Say plainly where the bot listens and where to look (no LINE channel: the simulator is the chat)."""
    from bot.local.mount import is_loopback, local_url

    print("Local mode: no LINE channel configured (LINE_CHANNEL_SECRET/ACCESS_TOKEN unset).", flush=True)
    where = f"{settings.host}:{settings.port}" if ":" not in settings.host else f"[{settings.host}]:{settings.port}"
    reach = "this computer only" if is_loopback(settings.host) else "OPEN to the network, as asked"
    print(f"Listening on {where} ({reach}).", flush=True)
    if settings.feature_enabled("simulator"):
        print(f"Simulator: {local_url(settings, '/simulator')}", flush=True)
    if settings.feature_enabled("dashboard"):
        print(f"Dashboard: {local_url(settings, '/admin')} ({_login_hint(settings)})", flush=True)


def _login_hint(settings: Settings) -> str:
    """How to log in to the dashboard: local mode's own token is printed; a configured ADMIN_TOKEN never is."""
    from bot.web.staff_auth import LOCAL_ADMIN_TOKEN

    if settings.admin_token is not None:
        return "log in with your ADMIN_TOKEN"
    return f"login token: {LOCAL_ADMIN_TOKEN}"


if __name__ == "__main__":
    sys.exit(main())
