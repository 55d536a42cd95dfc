"""Staff book a caller in a real browser — a menu, a named practitioner, a day and a time — then mark the
visit, move another booking with the day + time picker, and find the calendar link to copy.

The clinic has menus and practitioners (tests/booking_support.py ``team_clinic``: a 15-minute grid; 佐藤 every
open day, 鈴木 Tuesday mornings); the clock is the booking tests' Monday 2030-06-03 09:00, moved to Tuesday
noon to mark attendance. The page is photographed for the README (``docs/admin-bookings-team.png``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest

from bot.features.booking.service import BookingService
from tests.booking_support import Clock, at, team_clinic
from tests.browser_support import TIMEOUT_MS, screenshot_dir
from tests.harness import ADMIN
from tests.standin_server import StandinServer
from tests.test_admin_browser import ServedBot

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

DOCS = screenshot_dir()


@pytest.fixture
def served(redis_url: str, line: StandinServer, tmp_path: Path) -> Iterator[ServedBot]:
    with ServedBot(redis_url, line, tmp_path, clinic=team_clinic(tmp_path)) as bot:
        yield bot


def service_of(bot: ServedBot) -> BookingService:
    service: BookingService = bot.app.state.runtime.parts.need(BookingService)
    return service


def test_staff_book_a_caller_with_a_menu_and_a_practitioner_and_mark_the_visit(browser: Browser,
                                                                             served: ServedBot) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP")
    context.set_default_timeout(TIMEOUT_MS)
    page: Page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    log_in(page, served.base_url)

    book_a_caller(page)
    card = page.locator(".booking", has_text="佐藤 花子 様")
    expect(card).to_contain_text("鈴木(指名)")
    expect(card).to_contain_text("2回目以降")
    expect(card).to_contain_text("090-1234-5678")
    [booking] = listed(served)
    assert (booking["name"], booking["phone"], booking["menu"], booking["practitioner"]) == (
        "佐藤 花子", "090-1234-5678", "2回目以降", "鈴木")
    assert booking["start"] == "2030-06-04T10:00:00+09:00" and booking["answers"] == {}

    move_with_the_picker(page)
    expect(page.locator(".booking", has_text="佐藤 花子 様")).to_contain_text("6/4(火) 10:30〜11:15")

    service_of(served).clock = Clock(at(4, 12))  # Tuesday noon: the visit's day has come
    page.reload()
    card = page.locator(".booking", has_text="佐藤 花子 様")
    card.get_by_role("button", name="来院").click()
    expect(page.get_by_role("status")).to_contain_text("来院を記録しました")
    expect(page.locator(".booking", has_text="佐藤 花子 様").locator(".badge", has_text="来院")).to_be_visible()
    assert [b["attendance"] for b in listed(served)] == ["attended"]

    page.get_by_text("カレンダーアプリで見る(.ics)").click()
    feed = page.get_by_label("カレンダーの URL")
    expect(feed).to_be_visible()
    assert str(feed.input_value()).endswith(".ics")
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "admin-bookings-team.png"), full_page=True)
    context.close()
    outside = [url for url in requested if urlsplit(url).hostname != "127.0.0.1"
               and urlsplit(url).scheme not in ("data", "blob")]
    assert requested and outside == [], f"a page reached beyond the app: {outside}"


def log_in(page: Page, base_url: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base_url}/admin/login")
    page.get_by_label("お名前").fill("受付 田中")
    page.get_by_label("管理トークン / パスワード").fill(ADMIN)
    page.get_by_role("button", name="ログイン").click()
    expect(page.locator("header .who")).to_have_text("受付 田中 さん")
    page.get_by_role("link", name="予約").click()
    expect(page).to_have_url(f"{base_url}/admin/bookings")


def book_a_caller(page: Page) -> None:
    """The phone rings: a returning client wants 鈴木 on Tuesday at 10:00, for the 45-minute menu."""
    from playwright.sync_api import expect

    page.get_by_text("電話予約を追加する").click()
    form = page.locator("form.add-form")
    form.get_by_label("メニュー").select_option(label="2回目以降(45分) 5,500円")
    form.get_by_label("担当").select_option(label="鈴木")
    form.get_by_label("予約の日").select_option(label="6/4(火)")
    form.get_by_label("予約の時間").select_option(label="10:00")
    form.get_by_label("お名前").fill("佐藤 花子")
    form.get_by_label("電話番号(任意)").fill("090-1234-5678")
    form.get_by_role("button", name="予約を追加").click()
    expect(page.get_by_role("status")).to_contain_text("予約を追加しました")


def move_with_the_picker(page: Page) -> None:
    """The caller rings again: half an hour later, same day. A day and a time, not a list of 100 times."""
    from playwright.sync_api import expect

    card = page.locator(".booking", has_text="佐藤 花子 様")
    card.get_by_text("変更・キャンセル").click()
    card.get_by_label("変更先の日").select_option(label="6/4(火)")
    card.get_by_label("変更先の時間").select_option(label="10:30")
    card.get_by_role("button", name="日時変更").click()
    expect(page.get_by_role("status")).to_contain_text("電話予約のため")


def listed(bot: ServedBot) -> list[dict[str, Any]]:
    """What the staff API says, as a tool outside the project would read it."""
    answer = httpx.get(f"{bot.base_url}/admin/api/bookings", headers={"Authorization": f"Bearer {ADMIN}"})
    assert answer.status_code == 200
    found: list[dict[str, Any]] = answer.json()
    return found
