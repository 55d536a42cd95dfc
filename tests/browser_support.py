"""Headless Chromium for the browser tests: Debian's build, driven by Playwright — and axe-core inside it.

Playwright's own browser download cannot work here (no internet), so the tests launch ``/usr/bin/chromium``
(``.ci/run`` installs it) with the flags that keep it from calling home.

:func:`assert_accessible` runs axe-core (vendored under ``tests/vendor/axe-core/``, see its README for the
version) in the page a test is looking at and fails on any serious or critical finding. Any page a test
opens can be checked with one call, so new dashboard pages get the same check as the old ones.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
TIMEOUT_MS = 15_000
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
#: The impacts that fail a page: WCAG failures a person would hit (contrast, names, labels, structure).
FAILING_IMPACTS = ("serious", "critical")
#: What the check reports per finding: the rule, its impact and where (selectors of the first few nodes).
_RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ' — ' + (n.failureSummary || '').split('\\n')[1])}));
}"""


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


@cache
def _axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


def axe_findings(page: Page) -> list[dict[str, Any]]:
    """Every axe-core violation in the page as it is now (all impacts).

    axe is evaluated through the browser's debugging protocol, not added as a <script>, so the page's own
    Content-Security-Policy (script-src 'self') stays as strict as in production.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(f"() => {{ {_axe_source()}\n }}")
        if not page.evaluate("() => typeof window.axe === 'object'"):  # UMD without a module system
            page.evaluate(f"() => {{ window.module = undefined; {_axe_source()}\n }}")
    findings: list[dict[str, Any]] = page.evaluate(_RUN_AXE)
    return findings


def assert_accessible(page: Page, what: str) -> None:
    """Fail when axe-core finds anything serious or critical in ``page`` (``what`` names it in the message)."""
    serious = [f for f in axe_findings(page) if f["impact"] in FAILING_IMPACTS]
    assert not serious, f"axe-core: {len(serious)} serious finding(s) on {what}:\n" + "\n".join(
        f"- {f['id']} ({f['impact']}): {f['help']}\n    " + "\n    ".join(f["nodes"]) for f in serious)
