"""The dashboard in a real browser: headless Chromium logs in, confirms a booking made in the chat, answers
a runner from the inbox, and photographs each page (``docs/admin-*.png``). No page may request anything
outside the app.

The bot runs under uvicorn on a loopback port with a real Redis and the LINE stand-in; the runner acts by
signed webhooks, as LINE would send them. The clinic and clock are the booking tests' (Monday 2030-06-03).
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn

from bot.app import create_app
from bot.features.booking.service import BookingService
from tests.booking_support import NOW, Clock, write_clinic
from tests.browser_support import TIMEOUT_MS, assert_accessible, screenshot_dir
from tests.harness import ADMIN, actions_in, event, make_settings, readable_text, sign
from tests.standin_server import StandinServer
from tests.test_simulator import free_port

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

DOCS = screenshot_dir()


class ServedBot:
    """``bot.app`` under uvicorn in a thread, with the booking clock set to the tests' Monday."""

    def __init__(self, redis_url: str, line: StandinServer, folder: Path, clinic: Path | None = None,
                 **overrides: Any) -> None:
        settings = make_settings(redis_url, line, clinic_config=clinic or write_clinic(folder),
                                 **{"inline_scheduler": False, **overrides})
        self.app = create_app(settings)
        self.port = free_port()
        self.line = line
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    access_log=False))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServedBot:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            assert time.monotonic() < deadline, "the bot did not start"
            time.sleep(0.02)
        self.app.state.runtime.parts.need(BookingService).clock = Clock(NOW)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


class PhoneRunner:
    """A runner acting through signed webhooks, reading what the stand-in delivered."""

    def __init__(self, bot: ServedBot) -> None:
        self.bot = bot
        self.user_id = "U" + uuid.uuid4().hex
        self.client = httpx.Client(base_url=bot.base_url)

    @property
    def received(self) -> list[dict[str, Any]]:
        return [m.message for m in self.bot.line.state.messages_for(self.user_id)]

    def act(self, kind: str, **fields: Any) -> list[dict[str, Any]]:
        before = len(self.received)
        token = self.bot.line.issue_reply_token(self.user_id)
        body = json.dumps({"destination": "Ubot", "events": [event(self.user_id, kind, token, **fields)]},
                          ensure_ascii=False).encode()
        response = self.client.post("/callback", content=body, headers={"X-Line-Signature": sign(body),
                                                                         "Content-Type": "application/json"})
        assert response.status_code == 200
        return self.wait(before)

    def wait(self, before: int, timeout: float = 8.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) > before:
                time.sleep(0.1)
                return self.received[before:]
            time.sleep(0.02)
        return []

    def say(self, text: str) -> list[dict[str, Any]]:
        return self.act("message", message={"id": uuid.uuid4().hex[:12], "type": "text", "text": text})

    def tap(self, label: str) -> list[dict[str, Any]]:
        for message in reversed(self.received):
            for action in actions_in(message):
                if action.get("label") == label and action.get("type") == "postback":
                    return self.act("postback", postback={"data": action["data"]})
        raise AssertionError(f"no choice labelled {label!r}")


@pytest.fixture
def served(redis_url: str, line: StandinServer, tmp_path: Path) -> Iterator[ServedBot]:
    with ServedBot(redis_url, line, tmp_path) as bot:
        yield bot


def test_staff_log_in_confirm_a_chat_booking_and_answer_a_runner(browser: Browser, served: ServedBot) -> None:
    runner = PhoneRunner(served)
    book_in_the_chat_and_ask_something(runner)
    context, page, requested = tablet(browser)

    log_in_after_a_wrong_token(page, served.base_url)
    confirm_the_booking(page, runner)
    answer_from_the_inbox(page, runner)
    look_at_the_funnel_and_the_content(page)
    log_out(page, served.base_url)
    context.close()
    assert_nothing_outside(requested)


def tablet(browser: Browser) -> tuple[BrowserContext, Page, list[str]]:
    """A tablet-sized page, and the list of every URL it requests."""
    context = browser.new_context(viewport={"width": 1180, "height": 820}, locale="ja-JP")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    DOCS.mkdir(exist_ok=True)
    return context, page, requested


def assert_nothing_outside(requested: list[str]) -> None:
    outside = [url for url in requested if urlsplit(url).scheme not in ("data", "blob")
               and urlsplit(url).hostname != "127.0.0.1"]
    assert requested and outside == [], f"a page reached beyond the app: {outside}"


def book_in_the_chat_and_ask_something(runner: PhoneRunner) -> None:
    """Tuesday 11:00 booked in the chat, then words the bot does not understand (they go to the inbox)."""
    runner.act("follow", follow={"isUnblocked": False})
    runner.say("予約")
    runner.tap("6/4(火)")
    runner.tap("11:00")
    runner.tap("このお名前で進む")  # the short 問診: the LINE name, no phone number
    runner.tap("電話番号なしで進む")
    runner.tap("この内容で予約する")
    runner.say("ふくらはぎもつります")


def log_in_after_a_wrong_token(page: Page, base_url: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base_url}/admin")
    expect(page).to_have_url(f"{base_url}/admin/login?next=/admin")
    page.get_by_label("お名前").fill("受付 田中")
    page.get_by_label("管理トークン / パスワード").fill("wrong")
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_role("alert")).to_contain_text("違います")
    page.screenshot(path=str(DOCS / "admin-login.png"))
    assert_accessible(page, "the login page")
    page.get_by_label("お名前").fill("受付 田中")
    page.get_by_label("管理トークン / パスワード").fill(ADMIN)
    page.get_by_role("button", name="ログイン").click()
    expect(page).to_have_url(f"{base_url}/admin/bookings")  # /admin opens on this week's bookings
    expect(page.locator("header .who")).to_have_text("受付 田中 さん")


def confirm_the_booking(page: Page, runner: PhoneRunner) -> None:
    """The chat's booking is shown unchecked; confirming it tells the runner on LINE."""
    from playwright.sync_api import expect

    booking = page.locator(".booking", has_text="未確認")
    expect(booking).to_have_count(1)
    before = len(runner.received)
    booking.get_by_role("button", name="確認する").click()
    expect(page.get_by_role("status")).to_contain_text("確認済みにし")
    expect(page.locator(".booking .badge", has_text="確認済み")).to_be_visible()
    told = runner.wait(before)
    assert "確認いたしました" in "\n".join(readable_text(m) for m in told)
    page.screenshot(path=str(DOCS / "admin-bookings.png"), full_page=True)
    assert_accessible(page, "the bookings page")


def answer_from_the_inbox(page: Page, runner: PhoneRunner) -> None:
    """The words the bot did not understand are in the inbox; the reply reaches the runner as typed."""
    from playwright.sync_api import expect

    page.get_by_role("link", name="受信箱").click()
    item = page.locator(".inbox-item", has_text="ふくらはぎもつります")
    expect(item).to_be_visible()
    page.screenshot(path=str(DOCS / "admin-inbox.png"), full_page=True)
    assert_accessible(page, "the inbox")
    item.get_by_role("link").click()
    expect(page.locator("p.tags")).to_contain_text("予約あり")  # tags in Japanese, not "booked"
    assert_accessible(page, "a runner's page in the inbox")
    page.get_by_label("LINE で返信する").fill("田中です。つる時は水分と塩分をこまめにとってください。")
    before = len(runner.received)
    page.get_by_role("button", name="送信する").click()
    expect(page.get_by_role("status")).to_contain_text("送信しました")
    expect(page.locator(".thread .from-staff")).to_contain_text("水分と塩分")
    answered = runner.wait(before)
    assert [readable_text(m) for m in answered] == ["田中です。つる時は水分と塩分をこまめにとってください。"]
    page.screenshot(path=str(DOCS / "admin-inbox-reply.png"), full_page=True)


#: The smallest text any chart draws, in CSS pixels as the screen shows it (viewBox units × the scale).
SMALLEST_CHART_TEXT = """() => Math.min(...[...document.querySelectorAll('svg.chart text')].map(
  (t) => parseFloat(t.getAttribute('font-size')) * t.ownerSVGElement.getScreenCTM().a))"""


def look_at_the_funnel_and_the_content(page: Page) -> None:
    from playwright.sync_api import expect

    page.get_by_role("link", name="集計").click()
    expect(page.locator("svg.chart").first).to_be_visible()
    expect(page.locator("table.stages")).to_contain_text("前の段階から")
    assert page.evaluate(SMALLEST_CHART_TEXT) >= 11, "chart labels must stay readable"
    page.screenshot(path=str(DOCS / "admin-funnel.png"), full_page=True)
    assert_accessible(page, "the funnel")

    page.get_by_role("link", name="コンテンツ").click()
    where = page.locator("#knee_back-where")
    expect(where.locator(".phone")).to_be_hidden()  # steps are folded: the page is a list of titles
    page.get_by_role("navigation", name="ランニングの膝裏の痛み・張り・だるさ のステップ一覧").get_by_role(
        "link", name="痛む場所の質問").click()
    expect(where.locator(".phone")).to_be_visible()
    expect(where).to_contain_text("膝裏のどのあたりが")
    expect(page).to_have_url(re.compile("#knee_back-where$"))
    page.screenshot(path=str(DOCS / "admin-content.png"))
    assert_accessible(page, "the content preview")


def log_out(page: Page, base_url: str) -> None:
    from playwright.sync_api import expect

    page.get_by_role("button", name="ログアウト").click()
    expect(page).to_have_url(f"{base_url}/admin/login")
