"""Headless Chromium for the browser tests: Debian's build, driven by Playwright.

Playwright's own browser download cannot work here (no internet), so the tests launch ``/usr/bin/chromium``
(``.ci/run`` installs it) with the flags that keep it from calling home.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
TIMEOUT_MS = 15_000


def screenshot_dir() -> Path:
    """Where the browser tests put their screenshots: ``docs/`` when ``UPDATE_SCREENSHOTS=1`` (to refresh
    the README's pictures), otherwise a scratch folder, so a test run leaves the work tree as it was."""
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        return Path(__file__).resolve().parent.parent / "docs"
    folder = Path(tempfile.gettempdir()) / "seitai-bot-screenshots"
    folder.mkdir(exist_ok=True)
    return folder


def launch_chromium() -> Iterator[Browser]:
    """Yield a launched browser, or skip the test with the reason one cannot be had."""
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is not installed (pip install -e '.[test]')")
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        pytest.skip("no Chromium: install Debian's chromium package (.ci/run does)")
    executable = str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")
    sync_api.expect.set_options(timeout=TIMEOUT_MS)
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
