"""``python -m bot.local.line_standin --port 9999``: run the LINE stand-in on its own.

Why a CLI: to point a locally running bot (or curl) at a LINE look-alike without tests.
"""

from __future__ import annotations

import argparse

import uvicorn

from bot.local.line_standin.app import create_standin_app
from bot.local.line_standin.state import StandinState


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; defaults mimic LINE (validation on, 60 s reply tokens)."""
    parser = argparse.ArgumentParser(prog="python -m bot.local.line_standin", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9999)
    parser.add_argument("--no-validate", action="store_true", help="accept bodies that break the contract")
    parser.add_argument("--reply-token-ttl", type=float, default=60.0, help="seconds a reply token lives")
    parser.add_argument("--access-token", default=None, help="accept only this bearer token")
    parser.add_argument("--log-level", default="info")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Build the state from the options and serve until interrupted."""
    args = parse_args(argv)
    state = StandinState(validate=not args.no_validate, reply_token_ttl=args.reply_token_ttl,
                         access_token=args.access_token)
    uvicorn.run(create_standin_app(state=state), host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
