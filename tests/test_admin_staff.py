"""Owners manage staff accounts in the dashboard or from a shell; every change is recorded with who made it."""

from __future__ import annotations

import subprocess
import sys

from bot.config.settings import ROOT
from bot.web.staff_accounts import StaffAccounts
from tests.admin_helpers import HTML, form_on, login
from tests.harness import BotHarness


async def test_an_owner_adds_a_staff_member_who_then_logs_in_with_their_own_password(bot: BotHarness) -> None:
    await login(bot, "院長")  # the deployment's token: an owner
    csrf = await form_on(bot, "/admin/staff")
    weak = await bot.client.post("/admin/staff", data={"csrf": csrf, "name": "佐藤", "role": "staff",
                                                        "password": "short"})
    assert weak.status_code == 400 and "12文字以上" in weak.text
    added = await bot.client.post("/admin/staff", data={"csrf": csrf, "name": "佐藤", "role": "staff",
                                                         "password": "sato-kaigan-2030"})
    assert added.status_code == 303
    page = await bot.client.get("/admin/staff", headers=HTML)
    assert "佐藤" in page.text and "院長(管理トークン) さんが 佐藤 のアカウントを追加(スタッフ)" in page.text

    bot.client.cookies.clear()
    assert (await login(bot, "佐藤", "sato-kaigan-2030")).headers["location"] == "/admin/inbox"
    inbox = await bot.client.get("/admin/inbox", headers=HTML)
    assert "佐藤 さん" in inbox.text and 'href="/admin/staff"' not in inbox.text
    assert (await bot.client.get("/admin/staff", headers=HTML)).status_code == 403


async def test_an_owner_cannot_remove_or_demote_themselves(bot: BotHarness) -> None:
    await bot.runtime.parts.need(StaffAccounts).add("院長", "incho-no-pass-2030", "owner", "test")
    await login(bot, "院長", "incho-no-pass-2030")
    csrf = await form_on(bot, "/admin/staff")
    removed = await bot.client.post("/admin/staff/院長/remove", data={"csrf": csrf})
    assert removed.status_code == 400 and "自分のアカウントは削除できません" in removed.text
    demoted = await bot.client.post("/admin/staff/院長/role", data={"csrf": csrf, "role": "staff"})
    assert demoted.status_code == 400


def run_cli(redis_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "REDIS_URL": redis_url}
    return subprocess.run([sys.executable, "-m", "bot", "staff", *args], env=env, cwd=ROOT, input=stdin,
                          capture_output=True, text=True, timeout=60)


async def test_the_first_owner_is_added_from_a_shell(bot: BotHarness, redis_url: str) -> None:
    done = run_cli(redis_url, "add", "院長", "--role", "owner", "--password-stdin", stdin="incho-no-pass-2030\n")
    assert done.returncode == 0, done.stderr
    assert "incho-no-pass-2030" not in done.stdout + done.stderr
    weak = run_cli(redis_url, "add", "受付", "--password-stdin", stdin="123\n")
    assert weak.returncode == 1 and "12文字以上" in weak.stderr
    assert (await login(bot, "院長", "incho-no-pass-2030")).headers["location"] == "/admin/inbox"
    assert (await bot.client.get("/admin/staff", headers=HTML)).status_code == 200

    gone = run_cli(redis_url, "remove", "院長")
    assert gone.returncode == 0
    assert (await bot.client.get("/admin/staff", headers=HTML)).status_code == 303  # the session ended
    listed = run_cli(redis_url, "list")
    assert "院長" not in listed.stdout
