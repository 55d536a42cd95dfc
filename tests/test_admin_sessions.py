"""Staff sessions hold against guessing: logins are limited with back-off, cookies are keyed by a secret of
their own, and a session ends for good at logout or when the person's password is removed."""

from __future__ import annotations

import asyncio
import hashlib
import hmac

import pytest
from prometheus_client import REGISTRY

from bot.app import create_app
from bot.config.settings import Settings
from bot.features.dashboard import auth
from bot.features.dashboard.login_limits import FREE_PER_ADDRESS, FREE_PER_NAME
from bot.web.staff_accounts import StaffAccounts
from tests.admin_helpers import HTML, csrf_of, form_on, login
from tests.harness import ADMIN, SECRET, TOKEN, BotHarness
from tests.standin_server import StandinServer

PASSWORD = "kaze-no-tani-2030"


def refused(reason: str) -> float:
    return REGISTRY.get_sample_value("bot_admin_login_refused_total", {"reason": reason}) or 0.0


async def add_staff(bot: BotHarness, name: str, password: str = PASSWORD, role: str = "staff") -> None:
    await bot.runtime.parts.need(StaffAccounts).add(name, password, role, "test")


async def test_repeated_wrong_passwords_lock_the_name_with_back_off(bot: BotHarness,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING", logger="bot.features.dashboard.login_limits")
    await add_staff(bot, "佐藤")
    wrong_before, locked_before = refused("wrong"), refused("locked")
    for _ in range(FREE_PER_NAME):  # each with the login form's own CSRF token, as a browser sends it
        answer = await login(bot, "佐藤", "not-the-password")
        assert answer.status_code == 303 and "failed=1" in answer.headers["location"]
    locked = await login(bot, "佐藤", "still-not-it")
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1
    assert "しばらくログインできません" in locked.text
    right_too_soon = await login(bot, "佐藤", PASSWORD)
    assert right_too_soon.status_code == 429, "while locked, no password is even checked"
    assert refused("wrong") - wrong_before == FREE_PER_NAME + 1
    assert refused("locked") - locked_before == 1
    lines = [r for r in caplog.records if "staff login refused" in r.getMessage()]
    assert len(lines) == FREE_PER_NAME + 2  # one per refused attempt, naming neither the name nor what was typed
    assert all(PASSWORD not in str(r.__dict__) and "佐藤" not in str(r.__dict__) for r in lines)

    await asyncio.sleep(int(right_too_soon.headers["retry-after"]) + 0.2)
    assert (await login(bot, "佐藤", PASSWORD)).headers["location"] == "/admin/inbox"


async def test_one_address_trying_many_names_is_locked_too(bot: BotHarness) -> None:
    for i in range(FREE_PER_ADDRESS):
        assert (await login(bot, f"guess{i}", "x")).status_code == 303
    assert (await login(bot, "another", "x")).status_code == 429
    assert (await login(bot, "山田", ADMIN)).status_code == 429


async def test_the_cookie_is_not_keyed_by_the_admin_token(bot: BotHarness) -> None:
    await login(bot)
    cookie = bot.client.cookies.get("lb_admin")
    assert cookie
    token_key = hmac.new(ADMIN.encode(), b"lb-admin-session-v1", hashlib.sha256).digest()
    assert auth.decode(token_key, cookie) is None
    generated = await bot.runtime.store.redis.get(auth.GENERATED_SECRET)
    assert generated and len(generated) >= 48
    assert auth.decode(await auth.signing_key(bot.runtime.store.redis, bot.runtime.settings), cookie) is not None


async def test_a_copied_cookie_is_worthless_after_logout(bot: BotHarness) -> None:
    await login(bot)
    copied = bot.client.cookies.get("lb_admin")
    csrf = await form_on(bot, "/admin/inbox")
    await bot.client.post("/admin/logout", data={"csrf": csrf})
    bot.client.cookies.set("lb_admin", copied or "", path="/admin")
    assert (await bot.client.get("/admin/inbox", headers=HTML)).status_code == 303


async def test_removing_a_staff_member_ends_their_open_sessions(bot: BotHarness) -> None:
    await add_staff(bot, "佐藤")
    await login(bot, "佐藤", PASSWORD)
    assert (await bot.client.get("/admin/inbox", headers=HTML)).status_code == 200
    await bot.runtime.parts.need(StaffAccounts).remove("佐藤", "院長")
    assert (await bot.client.get("/admin/inbox", headers=HTML)).status_code == 303
    assert (await login(bot, "佐藤", PASSWORD)).headers["location"].startswith("/admin/login?failed=1")


async def test_a_new_password_ends_the_sessions_of_the_old_one(bot: BotHarness) -> None:
    await add_staff(bot, "佐藤")
    await login(bot, "佐藤", PASSWORD)
    await bot.runtime.parts.need(StaffAccounts).set_password("佐藤", "hoshi-no-umi-2031", "院長")
    assert (await bot.client.get("/admin/inbox", headers=HTML)).status_code == 303


async def test_logins_from_admin_staff_passwords_become_accounts(redis_url: str, line: StandinServer) -> None:
    async with BotHarness.running(redis_url=redis_url, line=line,
                                  admin_staff_passwords="山田:yamada-pass-2030,佐藤:sato-pass-2030") as bot:
        await bot.client.get("/admin/login", headers=HTML)  # imported when the dashboard is first used
        accounts = await bot.runtime.parts.need(StaffAccounts).all()
        assert {(a.name, a.role) for a in accounts} == {("山田", "staff"), ("佐藤", "staff")}
        assert all(a.password_hash.startswith("$argon2id$") for a in accounts)
        assert (await login(bot, "山田", "yamada-pass-2030")).headers["location"] == "/admin/inbox"
        await bot.runtime.parts.need(StaffAccounts).remove("佐藤", "院長")
    async with BotHarness.running(redis_url=redis_url, line=line,
                                  admin_staff_passwords="山田:yamada-pass-2030,佐藤:sato-pass-2030") as bot:
        await bot.client.get("/admin/login", headers=HTML)
        names = [a.name for a in await bot.runtime.parts.need(StaffAccounts).all()]
        assert names == ["山田"], "an account an owner removed is not brought back by the environment"


async def test_a_staff_member_is_not_an_owner(bot: BotHarness) -> None:
    await add_staff(bot, "佐藤")
    await login(bot, "佐藤", PASSWORD)
    page = await bot.client.get("/admin/inbox", headers=HTML)
    assert "佐藤 さん" in page.text and csrf_of(page.text)
    assert (await bot.client.get("/admin/staff", headers=HTML)).status_code == 403


@pytest.mark.parametrize(("setting", "value", "named"), [
    ("admin_token", "local", "ADMIN_TOKEN"),
    ("admin_staff_passwords", "山田:yamada", "ADMIN_STAFF_PASSWORDS"),
    ("session_secret", "short", "SESSION_SECRET"),
])
def test_production_refuses_to_start_on_a_weak_secret(redis_url: str, setting: str, value: str, named: str) -> None:
    values: dict[str, object] = dict(environment="production", line_channel_secret=SECRET,
                                     line_channel_access_token=TOKEN, redis_url=redis_url,
                                     admin_token="x7Qp2LmN9vR4sT8wY1zA6bC3dE5fG0hJ")
    values[setting] = value
    with pytest.raises(RuntimeError, match=named) as refused_start:
        create_app(Settings(**values))  # type: ignore[arg-type]
    assert value not in str(refused_start.value).replace(named, "")


def test_the_check_command_names_a_weak_staff_password_without_printing_it(redis_url: str) -> None:
    from tests.test_ops_check import production, run_check

    done = run_check(production(redis_url, ADMIN_STAFF_PASSWORDS="山田:yamada1,佐藤:sato-no-umi-2030"))
    assert done.returncode == 1
    assert "ADMIN_STAFF_PASSWORDS: the password of '山田' is too weak" in done.stdout
    assert "佐藤" not in done.stdout and "yamada1" not in done.stdout
