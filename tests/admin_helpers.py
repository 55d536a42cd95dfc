"""Driving the staff dashboard over HTTP the way a browser does: cookies, forms with their CSRF token."""

from __future__ import annotations

import re

import httpx

from tests.harness import ADMIN, BotHarness

HTML = {"Accept": "text/html"}


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden field {name!r}"
    return found.group(1)


async def login(bot: BotHarness, name: str = "山田", token: str = ADMIN) -> httpx.Response:
    page = await bot.client.get("/admin/login", headers=HTML)
    return await bot.client.post("/admin/login", data={"csrf": csrf_of(page.text), "name": name, "token": token,
                                                        "next": "/admin/inbox"})


async def form_on(bot: BotHarness, page_url: str) -> str:
    """The CSRF token the logged-in staff member's page carries."""
    page = await bot.client.get(page_url, headers=HTML)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)
