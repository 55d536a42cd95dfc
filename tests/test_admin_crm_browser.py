"""The CRM in a real browser: an owner logs in with their own password, finds a runner by name, reads their
answers and talk, writes to them (it reaches LINE once), and schedules a segment message that reaches exactly
the tagged runners. Screenshots: ``docs/admin-friends.png``, ``admin-friend.png``, ``admin-broadcasts.png``,
``admin-staff.png`` (with ``UPDATE_SCREENSHOTS=1``; a scratch folder otherwise).

The bot runs under uvicorn on a loopback port with a real Redis and the LINE stand-in, its worker loops on (the
scheduled broadcast is sent by them); runners act by signed webhooks.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import redis.asyncio as aioredis

from bot.web.staff_accounts import StaffAccounts
from tests.browser_support import screenshot_dir
from tests.harness import readable_text
from tests.standin_server import StandinServer
from tests.test_admin_browser import PhoneRunner, ServedBot, assert_nothing_outside, tablet
from tests.test_followups_segments import JST, at_local

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

DOCS = screenshot_dir()
OWNER, PASSWORD = "院長 山本", "yamamoto-seitai-2030"


@pytest.fixture
def served(redis_url: str, line: StandinServer, tmp_path: Path) -> Iterator[ServedBot]:
    """The admin browser test's bot, with its worker loops on (the scheduled broadcast is sent by them)."""
    with ServedBot(redis_url, line, tmp_path, inline_scheduler=True) as bot:
        bot.app.state.runtime.parts.scheduler.clock = lambda: at_local(12)  # noon: not in the quiet hours
        yield bot


def checked_runner(bot: ServedBot, name: str, side: str) -> PhoneRunner:
    runner = PhoneRunner(bot)
    bot.line.state.set_profile(runner.user_id, name)
    runner.act("follow", follow={"isUnblocked": False})
    for label in ("1分チェックを始める", side, "張り", "どれも当てはまらない", "走った後"):
        runner.tap(label)
    return runner


def add_owner(redis_url: str) -> None:
    """The owner's account, as ``python -m bot staff add`` would make it."""

    async def add() -> None:
        redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
        try:
            await StaffAccounts(redis).add(OWNER, PASSWORD, "owner", "test")
        finally:
            await redis.aclose()

    worker = threading.Thread(target=lambda: asyncio.run(add()))  # Playwright holds this thread's loop
    worker.start()
    worker.join(timeout=30)


def test_an_owner_finds_a_runner_writes_to_them_and_schedules_a_segment_message(
        browser: Browser, served: ServedBot, redis_url: str) -> None:
    add_owner(redis_url)
    tanaka = checked_runner(served, "田中 花子", "膝裏の外側")
    suzuki = checked_runner(served, "鈴木 一郎", "膝裏の内側")
    sato = checked_runner(served, "佐藤 美咲", "膝裏の外側")
    context, page, requested = tablet(browser)

    log_in_as_the_owner(page, served)
    find_by_name_and_read(page, tanaka)
    write_to_them(page, tanaka)
    schedule_a_segment_message(page, served, to=[tanaka, sato], not_to=[suzuki])
    look_at_the_staff_page(page)
    context.close()
    assert_nothing_outside(requested)


def log_in_as_the_owner(page: Page, served: ServedBot) -> None:
    from playwright.sync_api import expect

    page.goto(f"{served.base_url}/admin/friends")
    page.get_by_label("お名前").fill(OWNER)
    page.get_by_label("管理トークン / パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    expect(page).to_have_url(f"{served.base_url}/admin/friends")
    expect(page.locator("header .who")).to_have_text(f"{OWNER} さん")


def find_by_name_and_read(page: Page, runner: PhoneRunner) -> None:
    from playwright.sync_api import expect

    expect(page.locator(".friend-row")).to_have_count(3)
    page.get_by_label("名前で探す").fill("田中")
    page.get_by_role("button", name="絞り込む").click()
    expect(page.locator(".friend-row")).to_have_count(1)
    page.screenshot(path=str(DOCS / "admin-friends.png"), full_page=True)
    page.get_by_role("link", name="田中 花子").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("田中 花子")
    answers = page.locator("dl.answers")
    expect(answers).to_contain_text("膝裏の外側")
    expect(answers).to_contain_text("張り")
    expect(page.locator("ol.talk")).to_contain_text("[タップ] 膝裏の外側")
    expect(page.locator("ol.talk .from-bot").first).to_be_visible()


def write_to_them(page: Page, runner: PhoneRunner) -> None:
    from playwright.sync_api import expect

    before = len(runner.received)
    page.get_by_label("LINE でメッセージを送る").fill("田中さん、院長の山本です。走った後の張りはいかがですか。")
    page.get_by_role("button", name="送信する").click()
    expect(page.get_by_role("status")).to_contain_text("送信しました")
    expect(page.locator("ol.talk .from-staff")).to_contain_text("走った後の張りはいかがですか")
    arrived = runner.wait(before)
    time.sleep(0.5)  # anything sent twice would have arrived by now
    assert [readable_text(m) for m in runner.received[before:]] == \
        ["田中さん、院長の山本です。走った後の張りはいかがですか。"]
    assert arrived
    page.screenshot(path=str(DOCS / "admin-friend.png"), full_page=True)


def schedule_a_segment_message(page: Page, served: ServedBot, *, to: list[PhoneRunner],
                               not_to: list[PhoneRunner]) -> None:
    from playwright.sync_api import expect

    page.get_by_role("link", name="配信").click()
    page.get_by_label("本文").fill("外側がつらいかた向けに、土曜にストレッチ会を開きます。")
    page.get_by_role("group", name="このタグをすべて持つかた").get_by_label("膝裏の外側").check()
    page.get_by_label("日時を指定して予約する").check()
    later = dt.datetime.fromtimestamp(at_local(15), JST).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("送信日時").fill(later)
    page.get_by_role("button", name="確認する(まだ送信しません)").click()
    expect(page.locator("#confirm-heading")).to_be_visible()
    expect(page.locator("section.step strong").first).to_have_text("2 人")
    expect(page.locator(".phone .msg.text")).to_contain_text("ストレッチ会")
    page.screenshot(path=str(DOCS / "admin-broadcasts.png"), full_page=True)
    page.get_by_role("button", name="この内容で予約する").click()
    expect(page.get_by_role("status")).to_contain_text("配信を予約しました")
    expect(page.locator(".broadcast-row")).to_contain_text("予約中")
    assert not [r for r in served.line.state.requests if r.path.endswith("/multicast")]

    served.app.state.runtime.parts.scheduler.clock = lambda: at_local(15, 1)  # 15:01: the worker loop sends it
    deadline = time.monotonic() + 15
    while not [r for r in served.line.state.requests if r.path.endswith("/multicast")]:
        assert time.monotonic() < deadline, "the scheduled broadcast was not sent"
        time.sleep(0.1)
    [sent] = [r for r in served.line.state.requests if r.path.endswith("/multicast")]
    assert sorted(sent.body["to"]) == sorted(r.user_id for r in to)
    for runner in not_to:
        assert not any("ストレッチ会" in readable_text(m) for m in runner.received)
    page.reload()
    expect(page.locator(".broadcast-row")).to_contain_text("送信済み")


def look_at_the_staff_page(page: Page) -> None:
    from playwright.sync_api import expect

    page.get_by_role("link", name="スタッフ").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("スタッフのアカウント")
    expect(page.locator("ul.audit")).to_contain_text("配信を予約")
    page.screenshot(path=str(DOCS / "admin-staff.png"), full_page=True)
