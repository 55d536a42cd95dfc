"""The simulator in a real browser: headless Chromium clicks through the page the way a developer would.

The bot is the README's ``python -m bot serve`` in local mode (see ``tests/test_simulator.py``); the page is
driven only by what a person can see — button labels — and every request the page makes must stay on
127.0.0.1. The walk ends with a screenshot for the README (``docs/simulator.png``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from tests.browser_support import TIMEOUT_MS, screenshot_dir
from tests.test_simulator import LocalBot, local_bot

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

__all__ = ["local_bot"]  # the fixture, shared with the API tests

SCREENSHOT = screenshot_dir() / "simulator.png"


@pytest.fixture
def page(browser: Browser, local_bot: LocalBot) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    requested: list[str] = []
    opened.on("request", lambda request: requested.append(request.url))
    opened.goto(f"{local_bot.base_url}/simulator")
    opened.wait_for_selector("body[data-ready='1']")  # the page has picked its first runner
    yield opened
    context.close()
    outside = [url for url in requested if urlsplit(url).scheme not in ("data", "blob")
               and urlsplit(url).hostname != "127.0.0.1"]
    assert requested and outside == [], f"the page reached beyond this machine: {outside}"


def tap(page: Page, label: str) -> None:
    """Tap the newest button or quick reply with exactly this label."""
    page.get_by_role("button", name=label, exact=True).last.click()


def test_follow_check_video_and_booking_in_the_browser(page: Page) -> None:
    from playwright.sync_api import expect

    tap(page, "友だち追加")
    expect(page.locator("#chat").get_by_text("友だち追加ありがとうございます", exact=False)).to_be_visible()

    tap(page, "1分チェックを始める")
    for label in ("膝裏の外側", "張り", "どれも当てはまらない"):
        tap(page, label)
        # What the runner tapped shows in the chat as their own words, like LINE's displayText.
        expect(page.locator(".bubble.me", has_text=label).last).to_be_visible()
    tap(page, "走った後")

    video = page.locator(".flex-bubble", has_text="膝裏の外側の筋膜リリース")
    expect(video).to_be_visible()
    expect(video.get_by_role("button", name="動画を見る")).to_be_visible()
    expect(video.locator(".placeholder")).to_be_visible()  # the thumbnail, drawn without fetching it
    expect(page.locator("#chat").get_by_text("大腿二頭筋", exact=False).last).to_be_visible()

    # The README's picture: the result with its video card, beside the exact JSON the bot sent for it.
    video.scroll_into_view_if_needed()
    page.locator(".devpanel summary", has_text="/v2/bot/message/reply").last.click()
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))

    tap(page, "相談を予約する")
    expect(page.locator(".bubble.me", has_text="相談を予約する")).to_be_visible()
    expect(page.locator("#chat").get_by_text("ご希望の日を", exact=False)).to_be_visible()
    quick_replies = page.locator("#quick-replies button")
    # The third free day is at least two days ahead whatever the hour, so a day-before reminder is due
    # (labels depend on today's date; a booking for today or tomorrow evening rightly promises none).
    quick_replies.nth(2).click()
    expect(page.locator("#chat").get_by_text("ご希望の時間を", exact=False)).to_be_visible()
    quick_replies.first.click()  # the first free time
    tap(page, "このお名前で進む")  # the short 問診: the LINE name, then no phone number
    tap(page, "電話番号なしで進む")
    tap(page, "この内容で予約する")
    expect(page.locator("#chat").get_by_text("ご予約を承りました", exact=False)).to_be_visible()
    expect(page.locator("#chat").get_by_text("リマインドをお送りします", exact=False).last).to_be_visible()

    # The day-before reminder is scheduled; "今すぐ送る" makes it due now and it arrives later, as a push.
    jobs = page.locator("#job-list")
    expect(jobs).to_contain_text("予約のリマインド")
    jobs.locator("li", has_text="予約のリマインド").get_by_role("button", name="今すぐ送る").click()
    expect(page.locator('#chat .row.bot[data-via="push"]').last).to_be_visible()

    # The developer panel shows the signed webhooks in and the LINE API calls out.
    panel = page.locator(".devpanel")
    expect(panel.get_by_text("Webhook → POST /callback 200").first).to_be_visible()
    expect(panel.get_by_text("/v2/bot/message/reply 200").first).to_be_visible()

    # A second runner is a separate chat; switching back shows the first one's history.
    page.get_by_role("button", name="＋ ランナーを追加").click()
    expect(page.get_by_role("button", name="友だち追加", exact=True)).to_be_visible()
    expect(page.locator("#chat .row")).to_have_count(0)
    page.locator("#runner-list button").first.click()
    expect(page.locator(".flex-bubble", has_text="膝裏の外側の筋膜リリース")).to_be_visible()


def test_block_and_unblock_from_the_chat_header(page: Page) -> None:
    from playwright.sync_api import expect

    page.get_by_role("button", name="＋ ランナーを追加").click()
    tap(page, "友だち追加")
    expect(page.locator("#chat").get_by_text("友だち追加ありがとうございます", exact=False)).to_be_visible()

    tap(page, "ブロック")
    expect(page.get_by_text("ブロック中です")).to_be_visible()
    expect(page.get_by_role("textbox", name="メッセージ")).to_be_hidden()

    tap(page, "ブロック解除")
    expect(page.locator("#chat").get_by_text("おかえりなさい", exact=False)).to_be_visible()

    page.get_by_role("textbox", name="メッセージ").fill("アクセス")
    page.get_by_role("button", name="送信").click()
    expect(page.locator(".bubble.me", has_text="アクセス")).to_be_visible()
    expect(page.locator("#chat").get_by_text("徒歩", exact=False).last).to_be_visible()
