"""A clinic's web process carries what it serves, not what it might one day draw or print.

Issue 15 asks the web process to stay under 120 MiB after a burst; a good part of that is code imported at
start-up. Pillow (rich-menu pictures, drawn by ``python -m bot richmenu``), icalendar (the staff's calendar
feed), phonenumbers (a phone number typed while booking) and the simulator with httpx (local mode only) are
loaded when first needed. These tests start a fresh interpreter the way a production deployment does (a
real channel configured, so no simulator) and look at what it imported.
"""

from __future__ import annotations

import json
import subprocess
import sys

from bot.config.settings import ROOT

#: Loaded on first use only (each ~1–4 MiB of resident memory, see bench/README.md).
LOADED_ON_DEMAND = ("PIL", "icalendar", "phonenumbers", "httpx", "bot.features.simulator.routes")

PRODUCTION_ENV = {
    "LINE_CHANNEL_SECRET": "footprint-secret",
    "LINE_CHANNEL_ACCESS_TOKEN": "footprint-token",
    "REDIS_URL": "redis://127.0.0.1:1/0",  # never connected: importing the app opens nothing
    "ADMIN_TOKEN": "footprint-admin-token-long-enough",
    "PATH": "/usr/bin:/bin",
}


def imported_by_the_app(env: dict[str, str], then: str = "") -> set[str]:
    code = ("import json, sys\nimport bot.app\n" + then +
            f"\nprint(json.dumps([m for m in {list(LOADED_ON_DEMAND)!r} if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60, check=True)
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_a_production_web_process_starts_without_drawing_printing_or_simulating_code() -> None:
    assert imported_by_the_app(PRODUCTION_ENV) == set()


def test_a_typed_phone_number_and_the_rich_menu_picture_still_work_once_asked_for() -> None:
    then = ("from bot.features.booking.contact import clean_phone\n"
            "assert clean_phone('090-1234-5678') == '090-1234-5678', clean_phone('090-1234-5678')\n"
            "from bot.ops.richmenu import draw_menu\n"
            "assert draw_menu()[:8] == b'\\x89PNG\\r\\n\\x1a\\n'\n")
    assert imported_by_the_app(PRODUCTION_ENV, then) == {"phonenumbers", "PIL"}
