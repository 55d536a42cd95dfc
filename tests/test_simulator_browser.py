"""The simulator in a real browser: headless Chromium clicks through the page the way a developer would.

The bot is the README's ``python -m bot serve`` in local mode (see ``tests/test_simulator.py``); the page is
driven only by what a person can see — button labels — and every request the page makes must stay on
127.0.0.1. The walk ends with a screenshot for the README (``docs/simulator.png``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
import pytest

from tests.browser_support import TIMEOUT_MS, assert_accessible, screenshot_dir
from tests.test_simulator import LINE_AND_STORE_ENV, ROOT, LocalBot, local_bot

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

__all__ = ["local_bot"]  # the fixture, shared with the API tests

SCREENSHOT = screenshot_dir() / "simulator.png"
PHONE_SCREENSHOT = screenshot_dir() / "simulator-phone.png"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def open_simulator(browser: Browser, bot: LocalBot, viewport: dict[str, int]) -> Iterator[Page]:
    """The simulator page at this size, ready (a runner selected); afterwards, no request left 127.0.0.1."""
    context = browser.new_context(viewport=viewport, locale="ja-JP")
    context.set_default_timeout(TIMEOUT_MS)
    # A tapped link opens in a new tab; the placeholder videos live outside, where nothing may go.
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
    opened = context.new_page()
    requested: list[str] = []
    opened.on("request", lambda request: requested.append(request.url))
    opened.goto(f"{bot.base_url}/simulator")
    opened.wait_for_selector("body[data-ready='1']")  # the page has picked its first runner
    yield opened
    context.close()
    outside = [url for url in requested if urlsplit(url).scheme not in ("data", "blob")
               and urlsplit(url).hostname != "127.0.0.1"]
    assert requested and outside == [], f"the page reached beyond this machine: {outside}"


@pytest.fixture
def page(browser: Browser, local_bot: LocalBot) -> Iterator[Page]:
    yield from open_simulator(browser, local_bot, DESKTOP)


@pytest.fixture
def phone(browser: Browser, local_bot: LocalBot) -> Iterator[Page]:
    yield from open_simulator(browser, local_bot, PHONE)


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
    assert_accessible(page, "the simulator with a video card and the developer panel open")

    open_the_video_link(page, video)

    tap(page, "相談を予約する")
    expect(page.locator(".bubble.me", has_text="相談を予約する")).to_be_visible()
    expect(page.locator("#chat").get_by_text("ご希望の日を", exact=False)).to_be_visible()
    quick_replies = page.locator("#quick-replies button")
    # The third free day (labels depend on today's date): its day-before reminder is still ahead, whatever
    # the time of day the test runs (the first free day's may already have passed).
    quick_replies.filter(has_not_text="もっと先").nth(2).click()
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


def open_the_video_link(page: Page, video: Locator) -> None:
    """A tapped link opens in a new tab; the note saying so wraps inside its pill, however long the URL."""
    from playwright.sync_api import expect

    video.get_by_role("button", name="動画を見る").click()
    note = page.locator("#chat .system", has_text="リンクを開きます").last
    expect(note).to_be_visible()
    assert note.evaluate("el => el.scrollWidth <= el.clientWidth")
    chat_box, note_box = page.locator("#chat").bounding_box(), note.bounding_box()
    assert chat_box and note_box and note_box["x"] + note_box["width"] <= chat_box["x"] + chat_box["width"]


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


def fully_in_view(page: Page, selector: str) -> bool:
    """The element is inside the viewport and nothing covers its centre: a thumb can tap it."""
    return bool(page.evaluate("""(selector) => {
      const el = document.querySelector(selector); const r = el.getBoundingClientRect();
      const inside = r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight;
      return inside && el.contains(document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2));
    }""", selector))


NEWEST_ABOVE_QUICK_REPLIES = """() => {
  const rows = document.querySelectorAll('#chat .row.bot'), pills = document.getElementById('quick-replies');
  if (!rows.length || pills.hidden) return false;
  const newest = rows[rows.length - 1].getBoundingClientRect(), chat = document.getElementById('chat');
  return newest.bottom <= pills.getBoundingClientRect().top + 0.5
    && newest.top >= chat.getBoundingClientRect().top - 0.5;
}"""


def add_runner_from_the_menu(phone: Page) -> None:
    from playwright.sync_api import expect

    add = phone.get_by_role("button", name="＋ ランナーを追加")
    expect(add).to_be_hidden()  # on a phone the runner list waits behind the header's menu button
    phone.get_by_role("button", name="☰ ランナー").click()
    expect(phone.get_by_role("heading", name="予定された送信")).to_be_visible()
    add.click()  # picking a runner closes the list: the phone is the screen again
    expect(add).to_be_hidden()


def test_on_a_phone_the_phone_is_the_screen_and_the_newest_message_stays_above_the_quick_replies(
        phone: Page) -> None:
    from playwright.sync_api import expect

    add_runner_from_the_menu(phone)
    assert_accessible(phone, "the simulator on a phone, before the first message")
    screen = phone.locator(".phone").bounding_box()
    assert screen is not None
    assert screen["x"] >= 0 and screen["x"] + screen["width"] <= PHONE["width"]
    assert screen["y"] >= 0 and screen["y"] + screen["height"] <= PHONE["height"]
    expect(phone.get_by_role("button", name="友だち追加", exact=True)).to_be_visible()
    assert fully_in_view(phone, "#follow"), "友だち追加 must be on screen and not covered"
    tap(phone, "友だち追加")
    expect(phone.locator("#chat").get_by_text("友だち追加ありがとうございます", exact=False)).to_be_visible()

    for label in ("1分チェックを始める", "膝裏の外側", "張り"):
        tap(phone, label)
    expect(phone.locator("#quick-replies").get_by_role("button", name="どれも当てはまらない")).to_be_visible()
    expect(phone.locator("#chat .row.bot").last).to_contain_text("ふくらはぎが腫れて痛む")
    # The safety question's list of signs, all readable above the two pills that answer it.
    phone.wait_for_function(NEWEST_ABOVE_QUICK_REPLIES)
    PHONE_SCREENSHOT.parent.mkdir(exist_ok=True)
    phone.screenshot(path=str(PHONE_SCREENSHOT))
    assert_accessible(phone, "the simulator on a phone")


def test_the_rich_menu_is_under_the_chat_and_a_tap_sends_what_line_would(phone: Page,
                                                                          local_bot: LocalBot) -> None:
    from playwright.sync_api import expect

    add_runner_from_the_menu(phone)
    tap(phone, "友だち追加")
    menu = phone.get_by_role("group", name="リッチメニュー")
    expect(menu).to_be_visible()
    # Nothing published yet: the definition `python -m bot richmenu` uploads, drawn with its labels.
    expect(menu.get_by_role("button")).to_have_text(
        ["症状チェック 1分でわかる原因", "動画 セルフケア動画", "予約 相談を予約する", "予約確認 予約の確認・変更",
         "料金・アクセス 料金と行き方", "スタッフに相談 人に質問する"], use_inner_text=True)
    menu.get_by_role("button", name="料金・アクセス", exact=False).click()
    # A message action: its text goes to the bot as the runner's own words.
    expect(phone.locator(".bubble.me", has_text="料金")).to_be_visible()
    expect(phone.locator("#chat").get_by_text("■料金", exact=False).last).to_be_visible()

    publish_rich_menu(local_bot)  # the simulator redraws from the stand-in: the uploaded picture
    expect(menu.locator("img")).to_have_count(1)
    if not menu.is_visible():
        phone.get_by_role("button", name="メニュー").click()
    menu.get_by_role("button", name="予約確認").click()
    expect(phone.locator(".bubble.me", has_text="予約確認")).to_be_visible()
    expect(phone.locator("#chat").get_by_text("ご予約はありません", exact=False).last).to_be_visible()


def publish_rich_menu(bot: LocalBot) -> None:
    """``python -m bot richmenu`` against the running local bot (its built-in LINE stand-in)."""
    env = {k: v for k, v in os.environ.items() if k not in LINE_AND_STORE_ENV}
    env.update(PYTHONPATH=str(ROOT), PORT=str(bot.port))
    done = subprocess.run([sys.executable, "-m", "bot", "richmenu"], env=env, cwd=bot_workdir(),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def bot_workdir() -> str:
    return tempfile.mkdtemp(prefix="richmenu-")  # no stray .env can point the command elsewhere


def test_reloading_keeps_read_messages_read_and_new_ones_unread(page: Page, local_bot: LocalBot) -> None:
    from playwright.sync_api import expect

    page.get_by_role("button", name="＋ ランナーを追加").click()
    tap(page, "友だち追加")
    expect(page.locator("#chat").get_by_text("友だち追加ありがとうございます", exact=False)).to_be_visible()
    first = page.evaluate("() => localStorage.getItem('sim.current')")
    page.get_by_role("button", name="＋ ランナーを追加").click()
    badges = page.locator("#runner-list .badge")
    expect(badges).to_have_count(0)

    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    expect(page.locator("#runner-list button")).not_to_have_count(0)
    page.wait_for_timeout(500)  # the whole history has been replayed by now
    expect(badges).to_have_count(0)

    # A message for the first runner while another is shown is unread, as in LINE's chat list.
    sent = httpx.post(f"{local_bot.base_url}/simulator/api/send",
                      json={"userId": first, "kind": "message", "text": "アクセス"}, timeout=30)
    assert sent.status_code == 200
    expect(badges).to_have_count(1)
