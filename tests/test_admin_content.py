"""Content preview: the flow as a tree of steps, each message drawn as LINE shows it, and the warnings."""

from __future__ import annotations

from tests.admin_helpers import HTML, login
from tests.harness import BotHarness


async def test_every_step_and_its_messages_are_shown_as_chat_bubbles(bot: BotHarness) -> None:
    await login(bot)
    page = await bot.client.get("/admin/content", headers=HTML)
    assert page.status_code == 200
    text = page.text
    for step in bot.runtime.parts.flows.get("knee_back").flow.steps:  # type: ignore[union-attr]
        assert f'id="knee_back-{step}"' in text, step
    assert "起動時チェックの注意" in text
    assert "膝裏のどのあたりが" in text and '<span class="chip"' in text  # a question with its quick replies
    assert "条件: sign = swelling" in text and "ベーカー嚢腫" in text  # every variant, with what picks it
    assert "flex-bubble" in text and "動画を見る" in text  # the video card as a card
    assert "{clinic_name}" not in text  # filled in like the bot fills it
    assert '<img' not in text  # thumbnails are not fetched from outside the app


async def test_start_up_warnings_are_listed(bot: BotHarness) -> None:
    warnings = bot.runtime.parts.flows.warnings
    await login(bot)
    page = await bot.client.get("/admin/content", headers=HTML)
    if warnings:
        assert all(w.split(": ", 1)[-1][:10] in page.text for w in warnings)
    else:
        assert "注意はありません" in page.text
