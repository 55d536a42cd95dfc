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
    # Every variant, with what picks it in the flow's own words.
    assert "条件: 当てはまるサイン = 膝裏が腫れている" in text and "ベーカー嚢腫" in text
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


async def test_steps_are_listed_by_their_japanese_titles_and_fold_away(bot: BotHarness) -> None:
    await login(bot)
    text = (await bot.client.get("/admin/content", headers=HTML)).text
    flow = bot.runtime.parts.flows.get("knee_back").flow  # type: ignore[union-attr]
    listing = text[text.index('class="step-list"'):text.index("</nav>", text.index('class="step-list"'))]
    for name, step in flow.steps.items():
        assert f'href="#knee_back-{name}" data-open-step>{step.title}</a>' in listing, name
        assert f'<details class="step" id="knee_back-{name}">' in text, name  # folded until opened
    assert listing.index("友だち追加のあいさつ") < listing.index("痛む場所の質問") < listing.index("感じ方の質問")
    # Where a choice leads, by title; what an action does, in words.
    assert '>感じ方の質問</a>' in text and "予約の受付を始める" in text
    assert "→ feel" not in text and "処理 booking.start" not in text
    assert "チェック開始" in text and ">check_started<" not in text
