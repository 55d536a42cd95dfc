"""The funnel: friends added, checks started and finished, red flags, videos — per day, as charts and CSV."""

from __future__ import annotations

import asyncio
import datetime as dt

from bot.features.dashboard import funnel
from tests.admin_helpers import HTML, login
from tests.harness import BotHarness


async def today_counts(bot: BotHarness) -> dict[str, str]:
    today = dt.datetime.now(bot.runtime.parts.clinic.tz).date()
    counts: dict[str, str] = await bot.runtime.store.redis.hgetall(funnel.day_key(today))
    return counts


async def settle(bot: BotHarness, expected: dict[str, str]) -> dict[str, str]:
    for _ in range(100):
        counts = await today_counts(bot)
        if all(counts.get(k) == v for k, v in expected.items()):
            return counts
        await asyncio.sleep(0.02)
    return await today_counts(bot)


async def test_each_milestone_is_counted_once_per_runner_and_day(bot: BotHarness) -> None:
    finisher = bot.runner()
    await finisher.follow()
    await finisher.tap("1分チェックを始める")
    await finisher.tap("膝裏の外側")
    await finisher.tap("張り")
    await finisher.tap("どれも当てはまらない")
    await finisher.tap("走った後")
    await finisher.say("最初から")  # restarting does not count a second start

    doctor = bot.runner()
    await doctor.follow()
    await doctor.tap("1分チェックを始める")
    await doctor.tap("膝裏の内側")
    await doctor.tap("痛み")
    await doctor.tap("当てはまるものがある")
    await doctor.tap("膝裏が腫れている")

    await bot.runner().follow()  # a friend who does nothing more

    counts = await settle(bot, {"friends": "3", "checks_started": "2"})
    assert counts == {"friends": "3", "checks_started": "2", "checks_finished": "1", "red_flags": "1",
                      "videos_sent": "1"}


async def test_the_page_draws_charts_without_outside_requests_and_offers_csv(bot: BotHarness) -> None:
    runner = bot.runner()
    await runner.follow()
    await runner.tap("1分チェックを始める")
    await settle(bot, {"checks_started": "1"})
    await login(bot)
    today = dt.datetime.now(bot.runtime.parts.clinic.tz).date()
    page = await bot.client.get("/admin/funnel", headers=HTML)
    assert page.status_code == 200
    assert page.text.count("<svg") == len(funnel.COLUMNS) + 1
    assert "http://" not in page.text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page.text
    assert f"<title>{today.isoformat()}: 1</title>" in page.text

    first = today - dt.timedelta(days=2)
    csv = await bot.client.get(f"/admin/funnel.csv?date_from={first.isoformat()}&date_to={today.isoformat()}")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.lstrip("\ufeff").splitlines()
    assert lines[0].split(",")[:3] == ["日付", "友だち追加", "チェック開始"]
    assert len(lines) == 1 + 3 + 1  # header, three days, total
    assert lines[-2].startswith(f"{today.isoformat()},1,1,")
    assert lines[-1].startswith("合計,1,1,")
