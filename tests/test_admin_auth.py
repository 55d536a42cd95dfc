"""Nothing on the dashboard is readable or changeable without logging in; forms need their CSRF token."""

from __future__ import annotations

from tests.admin_helpers import HTML, csrf_of, form_on, login
from tests.harness import BotHarness


async def test_a_browser_without_login_is_sent_to_the_login_page(bot: BotHarness) -> None:
    for path in ("/admin", "/admin/inbox", "/admin/bookings", "/admin/funnel", "/admin/content"):
        response = await bot.client.get(path, headers=HTML)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/admin/login?next=")


async def test_a_script_without_login_gets_401(bot: BotHarness) -> None:
    for path in ("/admin/inbox", "/admin/funnel.csv", "/admin/content"):
        response = await bot.client.get(path, headers={"Accept": "application/json"})
        assert response.status_code == 401, path


async def test_a_wrong_token_is_refused_and_the_right_one_logs_in(bot: BotHarness) -> None:
    refused = await login(bot, token="not-the-token")
    assert refused.status_code == 303 and "failed=1" in refused.headers["location"]
    assert (await bot.client.get("/admin/inbox", headers=HTML)).status_code == 303

    accepted = await login(bot)
    assert accepted.status_code == 303 and accepted.headers["location"] == "/admin/inbox"
    cookie = accepted.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/admin" in cookie
    page = await bot.client.get("/admin/inbox", headers=HTML)
    assert page.status_code == 200 and "受信箱" in page.text and "山田 さん" in page.text


async def test_a_forged_or_edited_cookie_is_not_a_session(bot: BotHarness) -> None:
    await login(bot)
    value = bot.client.cookies.get("lb_admin")
    assert value
    body, _, signature = value.partition(".")
    bot.client.cookies.set("lb_admin", body + "." + signature[:-2] + "xx", path="/admin")
    assert (await bot.client.get("/admin/inbox", headers=HTML)).status_code == 303


async def test_forms_without_the_csrf_token_are_refused(bot: BotHarness) -> None:
    page = await bot.client.get("/admin/login", headers=HTML)
    no_token = await bot.client.post("/admin/login", data={"token": "test-admin-token"})
    assert no_token.status_code == 403
    wrong = await bot.client.post("/admin/login", data={"token": "test-admin-token", "csrf": "x" + csrf_of(page.text)})
    assert wrong.status_code == 403

    await login(bot)
    for path in ("/admin/logout", "/admin/inbox/U0123456789abcdef0123456789abcdef/reply"):
        assert (await bot.client.post(path, data={"text": "hi"})).status_code == 403, path
    # the token from before login is worthless after it (a fresh session nonce)
    assert (await bot.client.post("/admin/logout", data={"csrf": csrf_of(page.text)})).status_code == 403


async def test_a_form_from_another_site_is_refused(bot: BotHarness) -> None:
    await login(bot)
    csrf = await form_on(bot, "/admin/inbox")
    response = await bot.client.post("/admin/logout", data={"csrf": csrf}, headers={"Origin": "https://evil.example"})
    assert response.status_code == 403


async def test_logout_ends_the_session(bot: BotHarness) -> None:
    await login(bot)
    csrf = await form_on(bot, "/admin/inbox")
    response = await bot.client.post("/admin/logout", data={"csrf": csrf})
    assert response.status_code == 303 and response.headers["location"] == "/admin/login"
    assert (await bot.client.get("/admin/inbox", headers=HTML)).status_code == 303


async def test_login_never_redirects_outside_the_dashboard(bot: BotHarness) -> None:
    page = await bot.client.get("/admin/login", headers=HTML)
    response = await bot.client.post("/admin/login", data={"csrf": csrf_of(page.text), "token": "test-admin-token",
                                                            "next": "https://evil.example/"})
    assert response.headers["location"] == "/admin/inbox"
