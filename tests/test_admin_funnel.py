"""The funnel: friends added, checks started and finished, red flags, videos — per day, as charts and CSV."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from types import SimpleNamespace

from bot.features.dashboard import funnel, funnel_charts
from tests.admin_helpers import HTML, login
from tests.harness import BotHarness, walk_to_result


async def today_counts(bot: BotHarness, *, questions: bool = False) -> dict[str, str]:
    """Today's milestone counters (or, with ``questions``, the per-question ones)."""
    today = dt.datetime.now(bot.runtime.parts.clinic.tz).date()
    counts: dict[str, str] = await bot.runtime.store.redis.hgetall(funnel.day_key(today))
    return {k: v for k, v in counts.items() if k.startswith((funnel.ASKED, funnel.ANSWERED)) == questions}


async def settle(bot: BotHarness, expected: dict[str, str], *, questions: bool = False) -> dict[str, str]:
    for _ in range(100):
        counts = await today_counts(bot, questions=questions)
        if all(counts.get(k) == v for k, v in expected.items()):
            return counts
        await asyncio.sleep(0.02)
    return await today_counts(bot, questions=questions)


async def test_each_milestone_is_counted_once_per_runner_and_day(bot: BotHarness) -> None:
    finisher = bot.runner()
    await walk_to_result(finisher, "膝裏の外側")
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
    assert f"<title>{today.month}/{today.day}: 1</title>" in page.text

    first = today - dt.timedelta(days=2)
    csv = await bot.client.get(f"/admin/funnel.csv?date_from={first.isoformat()}&date_to={today.isoformat()}")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.lstrip("\ufeff").splitlines()
    assert lines[0].split(",")[:3] == ["日付", "友だち追加", "チェック開始"]
    assert len(lines) == 1 + 3 + 1  # header, three days, total
    assert lines[-2].startswith(f"{today.isoformat()},1,1,")
    assert lines[-1].startswith("合計,1,1,")


async def test_an_unblock_is_counted_as_a_return_not_as_a_new_friend(bot: BotHarness) -> None:
    runner = bot.runner()
    await runner.follow()
    await runner.unfollow()
    await runner.follow(unblocked=True)
    counts = await settle(bot, {"returns": "1"})
    assert counts.get("friends") == "1" and counts.get("returns") == "1"


async def test_each_question_counts_the_runners_asked_and_those_who_answered_once(bot: BotHarness) -> None:
    stopper = bot.runner()  # stops at the safety question
    await stopper.follow()
    await stopper.tap("1分チェックを始める")
    await stopper.tap("膝裏の内側")
    await stopper.tap("だるさ")
    finisher = bot.runner()  # answers everything, then starts again: asked and answered once each
    await finisher.follow()
    await finisher.tap("1分チェックを始める")
    for label in ("膝裏の外側", "張り", "どれも当てはまらない", "走った後"):
        await finisher.tap(label)
    await finisher.say("最初から")
    await finisher.tap("膝裏の外側")

    q = funnel.ASKED + "knee_back."
    a = funnel.ANSWERED + "knee_back."
    counts = await settle(bot, {q + "safety": "2", a + "timing": "1"}, questions=True)
    assert {k: counts.get(k) for k in (q + "where", a + "where", q + "feel", a + "feel", q + "safety",
                                      a + "safety", q + "timing", a + "timing")} == {
        q + "where": "2", a + "where": "2", q + "feel": "2", a + "feel": "2", q + "safety": "2",
        a + "safety": "1", q + "timing": "1", a + "timing": "1"}

    await login(bot)
    page = await bot.client.get("/admin/funnel", headers=HTML)
    assert "質問ごとの離脱" in page.text
    # 注意が必要なサインの確認: asked 2, answered 1, one stopped there: 50%.
    assert ('<th scope="row">注意が必要なサインの確認</th><td>2</td><td>1</td><td>1</td>\n'
            '        <td>50%</td>') in page.text


async def test_cancelled_bookings_are_counted_apart_and_only_kept_ones_count_as_visits(
        bot: BotHarness) -> None:
    tz = bot.runtime.parts.clinic.tz
    now = dt.datetime(2030, 6, 5, 12, 0, tzinfo=tz)
    made = dt.datetime(2030, 6, 3, 10, 0, tzinfo=tz).timestamp()
    visit = dt.datetime(2030, 6, 4, 11, 0, tzinfo=tz).timestamp()
    bookings = [SimpleNamespace(created_at=made, start=visit, active=True),
                SimpleNamespace(created_at=made, start=visit, active=False),
                SimpleNamespace(created_at=made, start=visit + 86400 * 3, active=True)]
    days = funnel.days_between(dt.date(2030, 6, 3), dt.date(2030, 6, 4))
    rows = await funnel.load(bot.runtime.store.redis, days, bookings, tz=tz, now=now)
    total = funnel.totals(rows)
    assert (total["bookings_made"], total["bookings_cancelled"], total["bookings_kept"]) == (2, 1, 1)
    assert rows[0].values["bookings_made"] == 2 and rows[1].values["bookings_kept"] == 1


def test_each_stage_shows_its_share_of_the_stage_before_and_who_dropped_off() -> None:
    total = dict.fromkeys(funnel.LABELS, 0) | {"friends": 40, "checks_started": 30, "checks_finished": 24,
                                               "videos_sent": 24, "videos_watched": 12, "bookings_made": 6,
                                               "bookings_kept": 3}
    path = funnel.stages(total)
    assert [s.label for s in path][:3] == ["友だち追加", "チェック開始", "チェック完了"]
    assert path[0].rate is None and path[0].dropped is None
    assert (path[1].rate, path[1].dropped) == (0.75, 10)
    assert (path[4].rate, path[4].dropped) == (0.5, 12)
    svg = funnel_charts.funnel_chart(path)
    assert "(前の段階の 75%)" in svg and "(前の段階の 50%)" in svg


def test_daily_charts_have_a_labelled_axis_in_type_no_smaller_than_12() -> None:
    days = funnel.days_between(dt.date(2030, 6, 1), dt.date(2030, 6, 14))
    rows = [funnel.Day(d, dict.fromkeys(funnel.LABELS, i)) for i, d in enumerate(days)]
    svg = funnel_charts.bar_chart(rows, "friends")
    sizes = [int(size) for size in re.findall(r'font-size="(\d+)"', svg)]
    assert sizes and min(sizes) >= 12
    assert [f">{n}</text>" in svg for n in (0, 10, 20)] == [True, True, True]  # 0, the middle, the top (13 -> 20)
    assert all(f">6/{day}</text>" in svg for day in range(1, 15))  # every day dated when two weeks are shown
    assert 'width="520"' in svg  # drawn at its own size: the page never shrinks it below
