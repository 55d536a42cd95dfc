"""The safety rules hold on every path of the check — generated from the flow, not hand-picked.

Every path is walked through the real bot's handling (tests/paths.py) and judged from the runner's moves:
no video and no booking after a warning sign (until the runner says a doctor cleared them), and no video
before the current check's safety answer. Paths: the whole check tapped and typed; the video, booking and
rich-menu words at every point; every restart of the check, followed by a whole new check; warning signs
typed at every point; the way back after a doctor's visit; the check-ins after the video.

Set ``SAFETY_PATHS_TABLE=/some/file.md`` to write the table of paths walked and what each ended with.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.harness import BotHarness, actions_in
from tests.paths import Move, Table, Walk, Walker, asks, sends_video

TABLE = Table()
CHECK = "1分チェックを始める"


@pytest.fixture
async def walker(bot: BotHarness) -> AsyncIterator[Walker]:
    flow = bot.runtime.parts.flows.get("knee_back")
    assert flow is not None
    walker = Walker(bot.runtime, flow)
    yield walker
    TABLE.moves += walker.acts


@pytest.fixture(scope="module", autouse=True)
def table() -> Iterator[Table]:
    yield TABLE
    out = os.environ.get("SAFETY_PATHS_TABLE")
    if out:
        Path(out).write_text(TABLE.render() + "\n", encoding="utf-8")


async def in_check(walker: Walker) -> Walk:
    return await walker.do(await walker.start(), Move("tap", CHECK, "restart"))


def assert_safe(walks: list[Walk]) -> None:
    broken = [f"{w}: {', '.join(w.violations)}" for w in walks if w.violations]
    assert not broken, f"{len(broken)} path(s) break the safety rules, e.g.\n" + "\n".join(broken[:10])
    assert all(w.last for w in walks), "the bot answered every move"


def record(kind: str, walks: list[Walk]) -> None:
    for walk in walks:
        TABLE.add(kind, walk)


async def first_checks(walker: Walker) -> list[Walk]:
    return await walker.dfs(await in_check(walker))


async def test_every_tapped_and_every_typed_check_ends_safely(walker: Walker) -> None:
    tapped = await first_checks(walker)
    typed = await walker.dfs(await in_check(walker), moves="typed")
    assert len(tapped) == len(typed) == 4 * 3 * (3 + 9)  # sides × feelings × (timings + signs)
    for walks, kind in ((tapped, "1 check, tapped"), (typed, "2 check, labels typed")):
        assert_safe(walks)
        record(kind, walks)
        clear = [w for w in walks if not w.oracle.flagged]
        assert len(clear) == 4 * 3 * 3 and all(sends_video(w.last, walker.flow) for w in clear)
        assert all(w.got() == "doctor" for w in walks if w.oracle.flagged)


async def test_video_and_booking_words_at_every_point_of_the_check(walker: Walker) -> None:
    """動画, 予約, 予約確認 and キャンセル as typed or sent by the rich menu, and the help menu's 動画を見る, at every
    point."""
    nodes = await walker.nodes(await in_check(walker))
    probes = [walker.command("video"), walker.command("booking"), Move("say", "動画が見たいです", "command:video"),
              walker.command("booking_list"), walker.command("booking_cancel")]
    walks = [await walker.do(node, probe) for node in nodes for probe in probes]
    menu = [await walker.do(await walker.do(node, Move("say", "メニュー", "command:help")),
                            Move("tap", "動画を見る", "command:video")) for node in nodes]
    assert_safe(walks + menu)
    record("3 動画/予約 at every point", walks + menu)
    assert any(w.got() == "video" for w in walks) and any(w.got() == "doctor" for w in walks)


async def test_a_restart_never_reuses_the_old_safety_answer(walker: Walker) -> None:
    """The issue's walk (finish with どれも当てはまらない, 最初から, tap a side, 動画) on every path and every way
    to restart: typed words, the rich menu's 症状チェック, the result's button, the help menu's button."""
    ends = await first_checks(walker)
    walks: list[Walk] = []
    for end in ends:
        for restart in restarts(walker, end):
            again = await walker.do(end, restart)
            assert asks(again.last, "where"), f"{again} starts the check again"
            walks.append(await walker.do(again, walker.command("video")))
            side = await walker.do(again, walker.taps(again)[0])
            walks.append(await walker.do(side, walker.command("video")))
            walks.append(await walker.do(side, Move("tap", "痛み", "answer:feel:pain")))
    assert_safe(walks)
    assert not any(w.got() == "video" for w in walks), "no video before the new check's safety answer"
    record("4 restart, then 動画 before the screen", walks)


def restarts(walker: Walker, end: Walk) -> list[Move]:
    found = [walker.command("restart"), Move("say", "最初から", "restart"), Move("say", "症状チェック", "restart")]
    labels = {a.get("label") for m in end.last for a in actions_in(m)}
    if "最初からやり直す" in labels:
        found.append(Move("tap", "最初からやり直す", "restart"))
    return found


async def test_a_whole_second_check_after_any_first_is_consistent(walker: Walker) -> None:
    """Redo paths: after one first check per outcome (each timing, each warning sign) every second check; after
    every first check, every outcome of a second one (one side and feeling)."""
    ends = await first_checks(walker)
    outcomes: dict[str, Walk] = {}
    for end in ends:
        outcomes.setdefault(end.state.answers.get("sign") or end.state.answers.get("timing", ""), end)
    assert len(outcomes) == 3 + 9
    walks: list[Walk] = []
    for first in outcomes.values():
        walks += await walker.dfs(await walker.do(first, walker.command("restart")))
    for first in ends:
        again = await walker.do(first, walker.command("restart"))
        for _ in range(2):  # the first side, the first feeling
            again = await walker.do(again, walker.taps(again)[0])
        walks += await walker.dfs(again)
    assert_safe(walks)
    assert len(walks) == 12 * 144 + 144 * 12
    record("5 first check then a whole second check", walks)
    after_flag = [w for w in walks if w.moves[-1].meaning.startswith("answer:timing")
                  and any(m.meaning == "answer:safety:some" for m in w.moves[:6])]
    assert after_flag and all(w.got() == "doctor" for w in after_flag), "the flag sticks through a redo"


async def test_warning_signs_typed_at_any_point_get_the_doctor(walker: Walker) -> None:
    nodes = await walker.nodes(await in_check(walker))
    samples = walker.sign_samples()
    walks: list[Walk] = []
    for index, node in enumerate(nodes):
        told = await walker.do(node, samples[index % len(samples)])
        assert told.got() == "doctor", f"{told}: {told.last}"
        walks.append(told)
        walks.append(await walker.do(told, walker.command("video")))
        walks.append(await walker.do(told, walker.command("booking")))
        redo = await walker.do(told, walker.command("restart"))
        for answer in ("膝裏の外側", "張り", "どれも当てはまらない", "走った後"):
            redo = await walker.do(redo, next(m for m in walker.taps(redo) if m.payload == answer))
        walks.append(redo)
    every = [await walker.do(nodes[0], sign) for sign in walker.signs()]
    assert all(w.got() == "doctor" for w in every), [str(w) for w in every if w.got() != "doctor"]
    assert_safe(walks + every)
    record("6 warning sign typed at any point, then 動画/予約/redo", walks)
    record("7 every typed warning phrase", every)


async def test_the_way_back_after_a_doctor_cleared_the_runner(walker: Walker) -> None:
    ends = [w for w in await first_checks(walker) if w.oracle.flagged]
    walks: list[Walk] = []
    clearances = walker.clearances()
    for index, end in enumerate(ends):
        cleared = await walker.do(end, clearances[index % len(clearances)])
        assert "医師" in " ".join(str(m.get("text", "")) for m in cleared.last), "a reminder to follow the doctor"
        walks.append(cleared)
        walks.append(await walker.do(cleared, walker.command("video")))
        flagged_again = await walker.do(cleared, walker.sign_samples()[index % 11])
        walks.append(await walker.do(flagged_again, walker.command("video")))
    assert_safe(walks)
    assert any(w.got() == "video" for w in walks), "after a doctor's all-clear, self-care comes back"
    record("8 doctor cleared, then 動画, then a new sign", walks)


async def test_checkins_after_the_video_stay_safe(walker: Walker) -> None:
    ends = await first_checks(walker)
    walks: list[Walk] = []
    for end in ends:
        due = await walker.do(end, Move("due", "checkin_3d"))
        if end.oracle.flagged:
            assert due.last == [], "no check-in for a runner sent to a doctor"
            continue
        walks += await walker.dfs(due)
    for walk in list(walks):
        walks.append(await walker.do(walk, walker.command("video")))
        walks.append(await walker.do(walk, walker.command("booking")))
    assert_safe(walks)
    worse = [w for w in walks if w.moves[-1].meaning == "answer:checkin_safety:none"]
    assert worse and all("受診" in str(w.last[0]) for w in worse), "the worse branch leads with the doctor"
    record("9 check-in after the video (every answer), then 動画/予約", walks)


async def test_typed_answers_mean_what_tapping_means(walker: Walker) -> None:
    """Each word and phrase the flow declares for an answer, typed at its question, leads where the tap does."""
    questions: dict[str, Walk] = {}
    for node in await walker.nodes(await in_check(walker)):
        if walker.taps(node):
            questions.setdefault(str(node.state.step), node)
    walks: list[Walk] = []
    for walk in questions.values():
        expected = {m.meaning: await walker.do(walk, m) for m in walker.taps(walk)}
        for typed in walker.typed_answers(walk):
            got = await walker.do(walk, typed)
            assert got.state.answers == expected[typed.meaning].state.answers, f"{typed} at {walk}"
            walks.append(got)
    assert_safe(walks)
    assert {"where", "feel", "safety", "safety_which", "timing"} <= set(questions)
    assert len(walks) > 100
    record("10 each answer typed as its words and phrases", walks)
