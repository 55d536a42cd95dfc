"""A deploy never crashes a conversation in progress: runners mid-way through version 1 of the knee-back flow
(tests/data/knee_back_v1.yaml) carry on under version 2, or are restarted politely — and the safety rules hold.

The states here are written exactly as version 1 wrote them: its flow name and version, the question being
asked with version 1's fingerprint, the answers and tags so far.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.store import keys
from flows.loader import question_fingerprint
from flows.schema import Step
from tests.harness import BotHarness, video_links

V1 = yaml.safe_load((Path(__file__).parent / "data" / "knee_back_v1.yaml").read_text(encoding="utf-8"))
#: Where a version-1 runner may be, and their answers and tags at that point.
MIDWAY: dict[str, tuple[dict[str, str], list[str]]] = {
    "where": ({}, ["check_started"]),
    "feel": ({"side": "outer"}, ["check_started", "side:outer"]),
    "safety": ({"side": "outer", "feel": "pain"}, ["check_started", "side:outer", "feel:pain"]),
    "timing": ({"side": "inner", "feel": "dull", "safety": "none"}, ["check_started", "side:inner"]),
    "checkin": ({"side": "outer", "feel": "pain", "safety": "none", "timing": "after"}, ["video_sent"]),
    "checkin_worse": ({"side": "outer", "safety": "none", "checkin": "worse"}, ["video_sent", "checkin:worse"]),
}


def v1_hash(step: str) -> str:
    return question_fingerprint(Step.model_validate({"ask": V1["steps"][step]["ask"], "messages": [{"text": "?"}]}))


def v1_state(step: str | None, answers: dict[str, str], tags: list[str]) -> dict[str, Any]:
    return {"flow": "knee_back", "version": "1-5e1f0c2a", "step": step,
            "step_hash": v1_hash(step) if step else None, "turn": 3, "answers": answers, "tags": ["friend", *tags],
            "started_at": 1.0, "updated_at": 1.0, "extra": {"following": True}}


async def store(bot: BotHarness, user_id: str, state: dict[str, Any]) -> None:
    await bot.runtime.store.redis.set(keys.state(user_id), json.dumps(state, ensure_ascii=False))


def test_unchanged_questions_keep_their_fingerprint_so_runners_carry_on() -> None:
    from bot.config.settings import ROOT
    from flows.loader import load_flows
    from tests.harness import ALL_ACTIONS

    v2 = load_flows(ROOT / "flows", ALL_ACTIONS).flows["knee_back"]
    for step in ("where", "feel", "timing", "checkin"):  # new typed words, same choices
        assert v2.step_hashes[step] == v1_hash(step), step
    assert v2.step_hashes["safety"] != v1_hash("safety")  # a new question: runners there restart politely


@pytest.mark.parametrize("step", list(MIDWAY))
async def test_every_old_answer_tapped_after_the_deploy_gets_an_answer(bot: BotHarness, step: str) -> None:
    answers, tags = MIDWAY[step]
    for choice in V1["steps"][step]["ask"]["choices"]:
        runner = bot.runner()
        await store(bot, runner.user_id, v1_state(step, answers, tags))
        reply = await runner.tap_data(f"f=knee_back&s={step}&v={choice['value']}&t=3")
        assert reply, f"{step}={choice['value']}: the runner got an answer"
        flagged = "red_flag" in choice.get("tags", [])
        if flagged or step != "timing":
            assert video_links(reply) == [], f"{step}={choice['value']}: no video without a version-2 screen"
        if step == "safety":
            assert "内容を新しくしました" in runner.texts(reply), "a changed question restarts politely"
        if step == "timing":
            assert video_links(reply), "an unchanged question carries on to the result"


async def test_an_old_red_flag_still_sends_the_runner_to_a_doctor(bot: BotHarness) -> None:
    runner = bot.runner()
    await store(bot, runner.user_id, v1_state(None, {"side": "outer", "feel": "pain", "safety": "swelling"},
                                              ["red_flag", "red_flag:swelling", "see_doctor"]))
    for word in ("動画", "予約", "最初から"):
        reply = await runner.say(word)
        assert video_links(reply) == [], word
    old_button = await runner.tap_data("f=knee_back&g=video_again")
    assert "整形外科" in runner.texts(old_button) and video_links(old_button) == []


async def test_an_old_finished_check_still_gets_its_video_again(bot: BotHarness) -> None:
    runner = bot.runner()
    await store(bot, runner.user_id, v1_state(None, {"side": "inner", "feel": "dull", "safety": "none",
                                                     "timing": "morning"}, ["video_sent"]))
    again = await runner.say("動画")
    assert any("knee-back-inner" in link for link in video_links(again))
